"""What a module does with `import.meta.hot` (Vite's lexAcceptedHmrDeps, done here with a regular
expression over the module's runner-format code, so that code a plugin added counts): whether it
uses it at all (only then does the runtime give it a hot context), whether it accepts itself,
which dependencies it accepts (as written, resolved later by the environment) and which of its
exports it accepts; and where the accepted specifiers are written, so that the environment can
serve them as urls (as Vite's import analysis does: a runner resolves nothing itself).

Only literal arguments count, as in Vite: `accept()`, `accept(cb)`, `accept("./dep", cb)`,
`accept(["./a", "./b"], cb)`, `acceptExports("name")`, `acceptExports(["a", "b"], cb)`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..transform.sourcemap import shift_columns

HOT = "__vite_ssr_import_meta__.hot"  # import.meta.hot in runner format
CALL = re.compile(re.escape(HOT) + r"\??\.(acceptExports|accept)\s*\(\s*")
STRING = re.compile(r"""(?:'([^'\\\n]*)'|"([^"\\\n]*)"|`([^`\\$]*)`)\s*""")


@dataclass
class Accepts:
    uses_hot: bool = False
    self_accepting: bool = False
    deps: list[str] = field(default_factory=list)
    exports: set[str] | None = None


Span = tuple[int, int, str]  # a string literal's start and end offsets, and its value


def _strings(source: str, pos: int) -> tuple[list[Span], bool]:
    """The string literal, or array of string literals, at `pos`; `False` when it is neither."""
    if source.startswith("[", pos):
        found: list[Span] = []
        pos += 1
        while True:
            pos = len(source) - len(source[pos:].lstrip())
            if source.startswith("]", pos):
                return found, True
            match = STRING.match(source, pos)
            if match is None:
                return found, False
            found.append(_span(match))
            pos = match.end()
            if source.startswith(",", pos):
                pos += 1
    match = STRING.match(source, pos)
    if match is None:
        return [], False
    return [_span(match)], True


def _span(match: re.Match[str]) -> Span:
    group = next(i for i in (1, 2, 3) if match.group(i) is not None)
    return match.start(group) - 1, match.end(group) + 1, match.group(group)


def accepted_dep_literals(code: str) -> list[Span]:
    """Where the dependencies named in `accept(...)` calls are written in runner-format `code`."""
    if HOT not in code:
        return []
    return [span for found in CALL.finditer(code) if found.group(1) == "accept"
            for span in _strings(code, found.end())[0]]


def accepts_as_urls(code: str, source_map: dict[str, Any] | None,
                    urls: dict[str, str]) -> tuple[str, dict[str, Any] | None]:
    """`code` with each accepted specifier that resolved written as its url (`"./dep.js"` ->
    `"/dep.js"`), and its source map moved to match."""
    parts: list[str] = []
    shifts: list[tuple[int, int, int]] = []
    done = 0
    for start, end, value in accepted_dep_literals(code):
        url = urls.get(value)
        if url is None or url == value:
            continue
        literal = json.dumps(url)
        line = code.count("\n", 0, start)
        line_start = code.rfind("\n", 0, start) + 1
        shifts.append((line, _utf16(code[line_start:start]), _utf16(literal) - _utf16(code[start:end])))
        parts += [code[done:start], literal]
        done = end
    if not shifts:
        return code, source_map
    parts.append(code[done:])
    return "".join(parts), shift_columns(source_map, shifts) if source_map is not None else None


def _utf16(text: str) -> int:
    """Columns in source maps count UTF-16 units."""
    return len(text.encode("utf-16-le")) // 2


def lex_accepts(code: str) -> Accepts:
    """What runner-format `code` does with import.meta.hot."""
    accepts = Accepts()
    if HOT not in code:
        return accepts
    accepts.uses_hot = True
    for call in CALL.finditer(code):
        spans, ok = _strings(code, call.end())
        literals = [value for _, _, value in spans]
        if call.group(1) == "accept":
            if ok:
                accepts.deps.extend(d for d in literals if d not in accepts.deps)
            else:
                accepts.self_accepting = True  # no argument, or a callback
        elif ok:
            accepts.exports = (accepts.exports or set()) | set(literals)
    return accepts
