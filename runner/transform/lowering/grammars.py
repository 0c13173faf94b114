"""The grammars of the source languages that are lowered to JavaScript, chosen by file extension
(tree-sitter-typescript's two dialects, and tree-sitter-javascript's JSX), and a parser per
grammar and thread (a Parser is not thread-safe)."""

from __future__ import annotations

import functools
import re
import threading

from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from ..parser import JAVASCRIPT, compiled_binding

_local = threading.local()


@functools.cache
def language(dialect: str) -> Language:
    """"typescript", "tsx" or "jsx" (JavaScript with JSX)."""
    if dialect == "jsx":
        return JAVASCRIPT
    grammar = compiled_binding("tree_sitter_typescript")  # not the package's __init__ (parser.py)
    if grammar is None:  # laid out otherwise: through the package
        import tree_sitter_typescript

        grammar = tree_sitter_typescript
    return Language(grammar.language_tsx() if dialect == "tsx" else grammar.language_typescript())


@functools.cache
def query(dialect: str, source: str) -> Query:
    return Query(language(dialect), source)


def dialect_of(path: str) -> str | None:
    """The dialect a file is written in, by its extension; None for plain JavaScript."""
    for ext, dialect in ((".tsx", "tsx"), (".jsx", "jsx"), (".ts", "typescript"), (".mts", "typescript"),
                         (".cts", "typescript")):
        if path.endswith(ext):
            return dialect
    return None


def parse(source: bytes, dialect: str) -> Tree:
    parsers: dict[str, Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(dialect)
    if parser is None:
        parser = parsers[dialect] = Parser(language(dialect))
    return parser.parse(source)


# TypeScript the grammar does not parse, in places the lowering erases anyway, so the bytes the
# parser sees may be patched (same length: every offset stays an offset of the source):
# - `export type * from "x"` (TypeScript 5.0): the `type` blanked (the statement is erased after);
# - type arguments of a tagged template (`` sql<Row | Other>`select` ``, read as comparisons):
#   blanked (and erased after);
# - `x as A.B.C`, read as `(x as A.B).C` (silently): the dots of the member accesses hung on a
#   cast made `_`, until the cast holds its whole type;
# - variance annotations on type parameters (`<in out T>`): blanked;
# - a call signature starting a line of a type literal after one without `;` (`(): A\n <B>(): B`,
#   read as `A<B>`): a `;` put before the `<`.
_EXPORT_TYPE_STAR = re.compile(rb"(?<![\w$.])export\s+(type)\s+\*")
_TAG_ARGUMENTS = re.compile(rb"[\w$)\]]<")
_VARIANCE = re.compile(rb"[<,](?:\s|/\*(?:[^*]|\*(?!/))*+\*/|//[^\n]*+)*+((?:in\s+out|in|out)\s+)"
                       rb"(?=[A-Za-z_$][\w$]*\s*(?:extends\b|[,>=]))")
_SIGNATURE_LINE = re.compile(rb"\n[ \t]*([ \t])<")
_NOT_CODE = frozenset({"comment", "string_fragment", "string", "template_string", "jsx_text", "regex_pattern"})
_CAST_MEMBER = "(member_expression object: [(as_expression) (satisfies_expression)]) @member"


def parse_typescript(src: bytes, dialect: str) -> tuple[Tree, list[tuple[int, int]]]:
    """The tree of TypeScript source (patched where the grammar falls short), and the ranges the
    lowering must erase besides what the tree shows as types."""
    erase = []
    patched = bytearray(src)
    for m in _EXPORT_TYPE_STAR.finditer(src):
        patched[m.start(1):m.end(1)] = b"    "
        erase.append((m.start(), -1))  # the whole statement (found from the tree)
    tree = parse(bytes(patched) if erase else src, dialect)
    root = tree.root_node
    changed = False
    if b">`" in src:
        for m in _TAG_ARGUMENTS.finditer(src):
            end = _type_arguments_end(src, m.end() - 1)
            if end > 0 and src[end:end + 1] == b"`":
                node = root.descendant_for_byte_range(m.end() - 1, m.end())
                if node is not None and node.type == "<":
                    patched[m.end() - 1:end] = b" " * (end - m.end() + 1)
                    erase.append((m.end() - 1, end))
                    changed = True
    if root.has_error:
        for m in _VARIANCE.finditer(src):
            node = root.descendant_for_byte_range(m.start(1), m.start(1) + 1)
            if node is not None and node.type not in _NOT_CODE:
                patched[m.start(1):m.end(1)] = b" " * (m.end(1) - m.start(1))
                changed = True
        for m in _SIGNATURE_LINE.finditer(src):
            if _in_broken_type(root, m.end() - 1):
                patched[m.start(1)] = 59  # ";"
                changed = True
    if changed:
        tree = parse(bytes(patched), dialect)
    for _ in range(8):
        members = QueryCursor(query(dialect, _CAST_MEMBER)).captures(tree.root_node).get("member", [])
        if not members:
            break
        for member in members:
            current: Node | None = member
            while current is not None and current.type == "member_expression":
                dot = current.child_by_field_name("object")
                dot = dot.next_sibling if dot is not None else None
                if dot is not None and dot.type == ".":
                    patched[dot.start_byte] = 95  # "_"
                parent = current.parent
                current = parent if parent is not None and parent.child_by_field_name("object") == current else None
        tree = parse(bytes(patched), dialect)
    return tree, erase


def _type_arguments_end(src: bytes, at: int) -> int:
    """The offset just past the `>` closing the `<` at `at` (nesting counted, `=>` skipped), or -1
    when a `;` outside braces, an unbalanced `}` or the end comes first."""
    depth = braces = 0
    limit = min(len(src), at + 4000)
    i = at
    while i < limit:
        c = src[i]
        if c == 60:  # <
            depth += 1
        elif c == 62 and src[i - 1] != 61:  # > not in =>
            depth -= 1
            if not depth:
                return i + 1
        elif c == 123:  # {
            braces += 1
        elif c == 125:  # }
            braces -= 1
            if braces < 0:
                return -1
        elif c == 59 and not braces:  # ; (not in a type literal)
            return -1
        i += 1
    return -1


def _in_broken_type(root: Node, offset: int) -> bool:
    """Is `offset` inside an ERROR, or a type literal or interface body that did not parse?"""
    node: Node | None = root.descendant_for_byte_range(offset, offset + 1)
    while node is not None:
        if node.type == "ERROR" or (node.type in ("object_type", "interface_body") and node.has_error):
            return True
        node = node.parent
    return False
