"""The tree-sitter JavaScript parser, created once per thread (a Parser is not thread-safe), and
the grammar's node kinds and fields by id (comparing `Node.kind_id` is cheaper than comparing
`Node.type`; `child_by_field_id` than `child_by_field_name`)."""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import os
import threading
from typing import Any

from tree_sitter import Language, Node, Parser, Tree


def compiled_binding(package: str) -> Any:
    """A grammar package's compiled `_binding` module alone, or None where the package has none where
    expected. The package's __init__ also imports importlib.resources (and with it tempfile, shutil,
    random, bz2 and lzma: about 4.5 ms of every run that transforms) for query files modrun never reads."""
    spec = importlib.machinery.PathFinder.find_spec(package)
    for directory in (spec.submodule_search_locations or []) if spec is not None else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(directory, "_binding" + suffix)
            if not os.path.isfile(path):
                continue
            binding = importlib.util.spec_from_file_location(f"{package}._binding", path)
            if binding is None or binding.loader is None:
                return None
            module = importlib.util.module_from_spec(binding)
            binding.loader.exec_module(module)
            return module
    return None


def binding_language(package: str) -> Any:
    """A grammar package's language, from its compiled binding alone (compiled_binding), or None."""
    binding = compiled_binding(package)
    return None if binding is None else binding.language()


def _javascript() -> Any:
    found = binding_language("tree_sitter_javascript")
    if found is not None:
        return found
    import tree_sitter_javascript  # laid out otherwise: through the package

    return tree_sitter_javascript.language()


JAVASCRIPT = Language(_javascript())
_local = threading.local()


def parse_javascript(source: bytes) -> Tree:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = Parser(JAVASCRIPT)
    return parser.parse(source)


def nodes_of_type(root: Node, kind: str, nested: bool = False) -> list[Node]:
    """The nodes of type `kind` at or under `root`, in source order (those inside one found only if `nested`)."""
    found: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == kind:
            found.append(node)
            if not nested:
                continue
        stack.extend(reversed(node.children))
    return found


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
