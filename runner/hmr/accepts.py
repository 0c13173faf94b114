"""What a module accepts through `import.meta.hot` (Vite's lexAcceptedHmrDeps, done here with a
regular expression over the module's source): whether it accepts itself, which dependencies it
accepts (as written, resolved later by the environment) and which of its exports it accepts.

Only literal arguments count, as in Vite: `accept()`, `accept(cb)`, `accept("./dep", cb)`,
`accept(["./a", "./b"], cb)`, `acceptExports("name")`, `acceptExports(["a", "b"], cb)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CALL = re.compile(r"import\.meta\.hot\??\.(acceptExports|accept)\s*\(\s*")
STRING = re.compile(r"""(?:'([^'\\\n]*)'|"([^"\\\n]*)"|`([^`\\$]*)`)\s*""")


@dataclass
class Accepts:
    self_accepting: bool = False
    deps: list[str] = field(default_factory=list)
    exports: set[str] | None = None


def _strings(source: str, pos: int) -> tuple[list[str], bool]:
    """The string literal, or array of string literals, at `pos`; `False` when it is neither."""
    if source.startswith("[", pos):
        found: list[str] = []
        pos += 1
        while True:
            pos = len(source) - len(source[pos:].lstrip())
            if source.startswith("]", pos):
                return found, True
            match = STRING.match(source, pos)
            if match is None:
                return found, False
            found.append(next(g for g in match.groups() if g is not None))
            pos = match.end()
            if source.startswith(",", pos):
                pos += 1
    match = STRING.match(source, pos)
    if match is None:
        return [], False
    return [next(g for g in match.groups() if g is not None)], True


def lex_accepts(source: str) -> Accepts:
    accepts = Accepts()
    if "import.meta.hot" not in source:
        return accepts
    for call in CALL.finditer(source):
        literals, ok = _strings(source, call.end())
        if call.group(1) == "accept":
            if ok:
                accepts.deps.extend(d for d in literals if d not in accepts.deps)
            else:
                accepts.self_accepting = True  # no argument, or a callback
        elif ok:
            accepts.exports = (accepts.exports or set()) | set(literals)
    return accepts
