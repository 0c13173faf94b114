"""The tree-sitter JavaScript parser, created once per thread (a Parser is not thread-safe), and
the grammar's node kinds by id (comparing `Node.kind_id` is cheaper than comparing `Node.type`)."""

from __future__ import annotations

import functools
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


@functools.cache
def _named_kinds() -> dict[str, list[int]]:
    """Named node kind -> its ids, read from the grammar once (the transform's modules ask for some forty
    sets as they are imported: one pass over the kinds each cost 4 ms in all)."""
    kinds: dict[str, list[int]] = {}
    for i in range(JAVASCRIPT.node_kind_count):
        if JAVASCRIPT.node_kind_is_named(i):
            kinds.setdefault(JAVASCRIPT.node_kind_for_id(i) or "", []).append(i)
    return kinds


def named_kind_ids(*names: str) -> frozenset[int]:
    """The ids of the named node kinds called `names` (a name can have several ids)."""
    kinds = _named_kinds()
    return frozenset(i for name in names for i in kinds.get(name, ()))
