"""The order of runner/js, checked: every file opens with a header saying what it provides to the
files after it, what it uses from the files before it, and which of its top-level names are its
own; `check_order` holds the headers against the code and against the bundle's order.

    // provides: EvaluatedModules, ModuleRecord
    // uses: SourceMap, createNamespace
    // private: AMBIGUOUS              (optional)

All files share one closure, so a top-level name of one file is visible in every other: the
headers make each file's part of that scope explicit. A file may use only what an earlier file
(or the bundle's prelude) provides, also from inside a function that runs only after boot: the
order of the files is then a real dependency order, not one that happens to work.

Which names a file refers to is found by a small lexer (comments, strings, templates and regular
expressions skipped; property names and object keys are not references). It does not know
scopes, so a local that shadows another file's top-level name reads as a use of it: rename it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

HEADER = re.compile(r"// (provides|uses|private):(.*)\n")
NAME = re.compile(r"[A-Za-z_$][\w$]*\Z")

# Code, one token at a time: what comes before a `/` decides whether it starts a regular expression.
TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*[\s\S]*?\*/)
  | (?P<string>'(?:[^'\\\n]|\\[\s\S])*'|"(?:[^"\\\n]|\\[\s\S])*")
  | (?P<name>\#?[A-Za-z_$][\w$]*)
  | (?P<number>\d[\w.]*)
  | (?P<punct>\?\.|\.\.\.|[^\s\w])
""", re.VERBOSE)
REGEX = re.compile(r"/(?:[^/\\\[\n]|\\.|\[(?:[^\]\\\n]|\\.)*\])+/[A-Za-z]*")
TEMPLATE = re.compile(r"(?:[^`\\$]|\\[\s\S]|\$(?!\{))*(`|\$\{)")
# After these a `/` starts a regular expression (after a value it divides).
REGEX_AFTER = {"return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do",
               "else", "yield", "await"}
DECLARATIONS = {"function", "class", "const", "let", "var"}


class BundleOrderError(Exception):
    """The runner/js files disagree with their headers or with the bundle's order."""


@dataclass
class Token:
    text: str
    kind: str  # "name", "punct" or "value" (string, number, template, regular expression)
    depth: int  # brackets open around it
    line_start: bool  # first token on its line


@dataclass
class JsFile:
    name: str
    provides: list[str] = field(default_factory=list)
    uses: list[str] = field(default_factory=list)
    private: list[str] = field(default_factory=list)
    defines: list[str] = field(default_factory=list)  # top-level declarations
    refers: set[str] = field(default_factory=set)  # every name the code refers to, its own included


def tokens(source: str, where: str) -> list[Token]:
    out: list[Token] = []
    stack: list[str] = []  # open brackets; "${" for a template's substitution
    pos = 0
    line_start = True

    def add(text: str, kind: str, depth: int) -> None:
        nonlocal line_start
        out.append(Token(text, kind, depth, line_start))
        line_start = False

    def template(start: int) -> int:
        found = TEMPLATE.match(source, start)
        if found is None:
            raise BundleOrderError(f"{where}: unterminated template literal")
        if found.group(1) == "${":
            add("${", "punct", len(stack))
            stack.append("${")
        else:
            add("`", "value", len(stack))
        return found.end()

    while pos < len(source):
        char = source[pos]
        if char == "/" and source[pos + 1:pos + 2] not in ("/", "*") and regex_allowed(out[-1] if out else None):
            found = REGEX.match(source, pos)
            if found is None:
                raise BundleOrderError(f"{where}: cannot read the regular expression at offset {pos}")
            add(found.group(), "value", len(stack))
            pos = found.end()
            continue
        if char == "`":
            pos = template(pos + 1)
            continue
        found = TOKEN.match(source, pos)
        assert found is not None  # one of the alternatives matches any character
        kind = found.lastgroup or ""
        text = found.group()
        pos = found.end()
        if kind in ("space", "comment"):
            line_start = line_start or "\n" in text
        elif kind in ("string", "number"):
            add(text, "value", len(stack))
        elif kind == "name":
            add(text, "name", len(stack))
        elif text in "([{":
            add(text, "punct", len(stack))
            stack.append(text)
        elif text in ")]}":
            if not stack:
                raise BundleOrderError(f"{where}: unbalanced '{text}'")
            if stack.pop() == "${":
                pos = template(pos)
            else:
                add(text, "punct", len(stack))
        else:
            add(text, "punct", len(stack))
    if stack:
        raise BundleOrderError(f"{where}: unclosed '{stack[-1]}'")
    return out


def regex_allowed(previous: Token | None) -> bool:
    if previous is None:
        return True
    if previous.kind == "name":
        return previous.text in REGEX_AFTER
    return previous.kind == "punct" and previous.text not in (")", "]", "}")


def parse(name: str, source: str) -> JsFile:
    """A file's header and what its code defines and refers to."""
    file = JsFile(name)
    seen: set[str] = set()
    pos = 0
    while (found := HEADER.match(source, pos)) is not None:
        key, listed = found.group(1), found.group(2)
        if key in seen:
            raise BundleOrderError(f"{name}: a second '// {key}:' line in the header")
        seen.add(key)
        names = [item.strip() for item in listed.split(",") if item.strip()]
        for item in names:
            if not NAME.match(item):
                raise BundleOrderError(f"{name}: '{item}' in '// {key}:' is not a name")
        getattr(file, key).extend(names)
        pos = found.end()
    missing = [key for key in ("provides", "uses") if key not in seen]
    if missing:
        raise BundleOrderError(f"{name}: the header must start the file with '// provides: …' and '// uses: …' "
                               f"lines (missing: {', '.join(missing)})")
    toks = tokens(source, name)
    file.defines = top_level_names(toks, name)
    file.refers = referred_names(toks)
    return file


def top_level_names(toks: list[Token], where: str) -> list[str]:
    names: list[str] = []
    for i, tok in enumerate(toks):
        if tok.depth or tok.kind != "name" or tok.text not in DECLARATIONS:
            continue
        previous = toks[i - 1] if i else None
        if previous is not None and previous.text == "async" and previous.kind == "name":
            previous = toks[i - 2] if i > 1 else None
        if not (previous is None or previous.text in (";", "}") or toks[i].line_start):
            continue  # an expression: `= function`, `(class`
        at = i + 1
        if tok.text == "function" and at < len(toks) and toks[at].text == "*":
            at += 1
        while at < len(toks):
            target = toks[at]
            if target.kind != "name":
                raise BundleOrderError(f"{where}: a top-level '{tok.text}' the header check cannot read "
                                       "(declare one plain name at a time)")
            names.append(target.text)
            if tok.text in ("function", "class"):
                break
            # `const a = 1, b = 2;`: the next declarator follows a comma at the top level.
            at += 1
            while at < len(toks) and not (toks[at].depth == 0 and toks[at].text in (",", ";")):
                at += 1
            if at >= len(toks) or toks[at].text == ";":
                break
            at += 1
    return names


def referred_names(toks: list[Token]) -> set[str]:
    refers: set[str] = set()
    for i, tok in enumerate(toks):
        if tok.kind != "name" or tok.text.startswith("#"):
            continue
        previous = toks[i - 1].text if i else ""
        following = toks[i + 1].text if i + 1 < len(toks) else ""
        if previous in (".", "?."):
            continue  # a property
        if following == ":" and previous in ("{", ","):
            continue  # an object key
        if following == "(" and is_method_definition(toks, i + 1):
            continue
        refers.add(tok.text)
    return refers


def is_method_definition(toks: list[Token], open_at: int) -> bool:
    """`name(…) {` in a class body or an object literal (a call is never followed by a block)."""
    depth = toks[open_at].depth
    for at in range(open_at + 1, len(toks)):
        if toks[at].text == ")" and toks[at].depth == depth:
            return at + 1 < len(toks) and toks[at + 1].text == "{"
    return False


def check_order(sources: Sequence[tuple[str, str]], prelude: Iterable[str], globals_: Iterable[str],
                entry: str) -> None:
    """Check files (name and source, in bundle order) against their headers.

    `prelude` names are provided before the first file and must be declared where used;
    `globals_` (the captured intrinsics) are provided too but, like any built-in, used freely;
    `entry` is what the bundle's epilogue calls.
    """
    files = [parse(name, source) for name, source in sources]
    problems: list[str] = []
    prelude_names = set(prelude)
    intrinsic = set(globals_)
    owner: dict[str, str] = {name: "the prelude" for name in prelude_names | intrinsic}
    for file in files:
        for name in file.defines:
            if name in owner:
                problems.append(f"{file.name} defines '{name}' at the top level, as {owner[name]} does")
            else:
                owner[name] = file.name
    provided_by = {name: file.name for file in files for name in file.provides}
    shared = set(owner) - intrinsic  # the names a file must declare when it refers to them
    available = prelude_names | intrinsic
    for file in files:
        declared = set(file.provides) | set(file.private)
        for name in file.provides + file.private:
            if name not in file.defines:
                problems.append(f"{file.name} declares '{name}' but defines no top-level '{name}'")
        for name in file.defines:
            if name not in declared:
                problems.append(f"{file.name} defines '{name}' at the top level but does not declare it "
                                "(add it to '// provides:' or '// private:')")
        for name in file.uses:
            if name in available:
                continue
            if owner.get(name) == file.name:
                problems.append(f"{file.name} lists its own '{name}' in '// uses:'")
            elif name in provided_by:
                problems.append(f"{file.name} uses '{name}', which {provided_by[name]} provides after it: "
                                f"{provided_by[name]} must come before {file.name}")
            elif name in owner:
                problems.append(f"{file.name} uses '{name}', which is private to {owner[name]}")
            else:
                problems.append(f"{file.name} uses '{name}', which no file provides")
        for name in sorted(file.refers & (shared - set(file.uses) - set(file.defines))):
            problems.append(f"{file.name} refers to '{name}' (from {owner[name]}) without declaring it in '// uses:'")
        for name in file.uses:
            if name not in file.refers:
                problems.append(f"{file.name} declares it uses '{name}' but never refers to it")
        available |= set(file.provides)
    if entry not in provided_by:
        problems.append(f"no file provides '{entry}', which the bundle calls to boot")
    if problems:
        raise BundleOrderError("runner/js bundle order:\n  " + "\n  ".join(problems))
