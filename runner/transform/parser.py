"""The tree-sitter JavaScript parser, created once per thread (a Parser is not thread-safe), and
the grammar's node kinds and fields by id (comparing `Node.kind_id` is cheaper than comparing
`Node.type`; `child_by_field_id` than `child_by_field_name`)."""

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


def field_id(name: str) -> int:
    fid = JAVASCRIPT.field_id_for_name(name)
    if fid is None:
        raise KeyError(name)
    return fid


# The fields the transform reads, by id: `Node.child_by_field_id` skips the search of the grammar's
# field names that `child_by_field_name` makes on every call.
F_ALIAS = field_id("alias")
F_ARGUMENT = field_id("argument")
F_ARGUMENTS = field_id("arguments")
F_BODY = field_id("body")
F_DECLARATION = field_id("declaration")
F_FUNCTION = field_id("function")
F_KEY = field_id("key")
F_KIND = field_id("kind")
F_LEFT = field_id("left")
F_NAME = field_id("name")
F_OPERATOR = field_id("operator")
F_PARAMETER = field_id("parameter")
F_PARAMETERS = field_id("parameters")
F_PROPERTY = field_id("property")
F_RIGHT = field_id("right")
F_SOURCE = field_id("source")
F_VALUE = field_id("value")
