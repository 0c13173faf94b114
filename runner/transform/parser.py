"""The tree-sitter JavaScript parser, created once per thread (a Parser is not thread-safe)."""

from __future__ import annotations

import threading

import tree_sitter_javascript
from tree_sitter import Language, Parser, Tree

JAVASCRIPT = Language(tree_sitter_javascript.language())
_local = threading.local()


def parse_javascript(source: bytes) -> Tree:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = Parser(JAVASCRIPT)
    return parser.parse(source)
