"""Parsing an ES module: tree-sitter-javascript, with same-length patches for the valid module
syntax it does not parse.

The patched bytes are only parsed; everything else reads the original text, so every offset of
the tree is an offset of the original source:
- `export … from "x" with {…}`, and `with` after a line break: the attributes are blanked out,
  their range remembered by the end offset of the specifier (see `ParsedModule.attributes`);
- reserved words as export/import names (`export {x as if}`): first letter turned into `$`;
- `export` followed by a line break (read as an identifier): the gap is blanked;
- an arrow function with a block body, then a line starting with `[` or `(` that tree-sitter
  glues to it (JS inserts a `;` there): a `;` is put in the gap.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from tree_sitter import Node, Query, QueryCursor, Tree

from .entries import WS, parse_attributes
from .parser import JAVASCRIPT, parse_javascript


@functools.cache
def _arrow_then_bracket() -> Query:
    # Made on first use, for a module that does not parse: building a query costs 8 ms.
    return Query(JAVASCRIPT, "(subscript_expression object: (arrow_function body: (statement_block) @body))"
                             "(call_expression function: (arrow_function body: (statement_block) @body))")


# (`\b` before `export` is checked by hand: a literal start lets the regex engine skip ahead.)
_EXPORT_NEWLINE = re.compile(rb"export(?:[ \t]|/\*.*?\*/)*(?://[^\n]*)?\n(?:\s|//[^\n]*|/\*.*?\*/)*", re.S)
_WORD_BYTE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_KEYWORDS = (b"break|case|catch|class|const|continue|debugger|delete|do|else|export|extends|false|finally|"
             b"for|function|if|import|in|instanceof|new|null|return|super|switch|this|throw|true|try|typeof|"
             b"var|void|while|with")


# The patterns only a module that does not parse needs are compiled on its first use too: at import,
# every process that transforms paid about 1 ms for them.
@functools.cache
def _with() -> re.Pattern[bytes]:
    return re.compile(rb"\bwith" + WS + rb"*\{")


@functools.cache
def _reserved_name() -> re.Pattern[bytes]:
    return re.compile(rb"\bas\s+(" + _KEYWORDS + rb")\b|(?<![.\w$])(" + _KEYWORDS + rb")\s+as\b")


class ParsedModule(NamedTuple):
    tree: Tree
    # `export … from` attributes blanked out before parsing: (start, end) of `with {…}`, keyed
    # by the end offset of the specifier string.
    attributes: dict[int, tuple[int, int]]


def parse_module(src: bytes, tree: Tree | None = None) -> ParsedModule:
    """The module's tree (ERROR and MISSING nodes left for the caller to report). `tree`: `src`
    parsed already (runner_format parses an ambiguous file to decide its syntax)."""
    tree = parse_javascript(src) if tree is None else tree
    root = tree.root_node
    attributes: dict[int, tuple[int, int]] = {}
    if root.has_error or b"export" in src:
        patched, attributes = _repair(src, root)
        if patched is not None:
            tree = parse_javascript(bytes(patched))
    return ParsedModule(tree, attributes)


def _in_error(root: Node, start: int, end: int) -> bool:
    node: Node | None = root.descendant_for_byte_range(start, end)
    if node is None or node.type in ("string_fragment", "comment", "string", "template_string"):
        return False
    while node is not None:
        if node.type == "ERROR":
            return True
        node = node.parent
    return False


def _repair(src: bytes, root: Node) -> tuple[bytearray | None, dict[int, tuple[int, int]]]:
    """The patched source (None when nothing needs a patch) and the attribute ranges."""
    ranges: dict[int, tuple[int, int]] = {}
    buf: bytearray | None = None
    for m in _EXPORT_NEWLINE.finditer(src):
        if m.start() and src[m.start() - 1] in _WORD_BYTE:
            continue
        leaf = root.descendant_for_byte_range(m.start(), m.start() + 6)
        if leaf is not None and leaf.type == "identifier" and leaf.start_byte == m.start():
            buf = buf if buf is not None else bytearray(src)
            buf[m.start() + 6:m.end()] = b" " * (m.end() - m.start() - 6)
    if not root.has_error:
        return buf, ranges
    for m in _with().finditer(src):
        pos = m.start()
        if not _in_error(root, pos, pos + 4):
            continue
        before = len(src[:pos].rstrip().removesuffix(b"\xe2\x80\xa8").removesuffix(b"\xe2\x80\xa9").rstrip())
        quote = root.descendant_for_byte_range(before - 1, before)
        string = quote.parent if quote is not None else None
        if string is None or string.type != "string" or string.end_byte != before:
            continue
        _, end, _ = parse_attributes(src, pos)
        if end < 0:
            continue
        buf = buf if buf is not None else bytearray(src)
        buf[pos:end] = bytes(b if b == 10 else 32 for b in src[pos:end])
        ranges[before] = (pos, end)
    for body in QueryCursor(_arrow_then_bracket()).captures(root).get("body", ()):
        # `() => {}` + newline + `[…]`: ASI ends the arrow (it cannot be indexed); tree-sitter
        # indexes it and trips on what follows. A `;` in the gap makes it read like JS does.
        outer = body.parent.parent if body.parent is not None else None
        if outer is None or not outer.has_error:
            continue
        gap_end = body.end_byte
        while gap_end < len(src) and src[gap_end] in b" \t\r\n":
            gap_end += 1
        if b"\n" in src[body.end_byte:gap_end] and src[gap_end:gap_end + 1] in (b"[", b"("):
            buf = buf if buf is not None else bytearray(src)
            buf[gap_end - 1] = 59  # ";"
    for m in _reserved_name().finditer(src):
        group = 1 if m.group(1) else 2
        pos = m.start(group)
        if _in_error(root, pos, m.end(group)):
            buf = buf if buf is not None else bytearray(src)
            buf[pos] = 36  # "$"
    return buf, ranges
