"""The engine's compile errors as the host's own parse errors show them: in place, with a code frame.

The runtime compiles each module's wrapper; where QuickJS refuses one (an early error the host's
transform does not check), the runner locates the parser's position in the module
(esm_evaluator.js `compileError`) and the host adds the code frame here, as for the errors its own
parse finds. One kind has no position: QuickJS compiles a regular expression literal as it parses
the code around it, and an error there (flags it does not know, a group named twice, pattern syntax
it lacks) names no place. For those the host finds the module's regular expression literals in its
source (tree-sitter), has the runtime that refused the module compile each alone
(runner/js/host_api.js `regExpError`: compiled, never run), and places the error at the first it
refuses with the same message. Only a failed import pays for any of this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .code_frame import code_frame
from .errors import LoadError, ModrunError, ParseError
from .import_sites import node_source
from .transform.early_errors import parse_error, unexpected_token
from .transform.parser import F_LEFT, nodes_of_type, parse_javascript

if TYPE_CHECKING:
    from tree_sitter import Node

    from .environment_resolve import Resolving

#: a runtime method and its arguments, answered by the runtime that refused the module (None: it is gone)
Invoke = Callable[[str, list[Any]], Awaitable[Any]]


async def located_compile_error(error: LoadError, environment: Resolving, invoke: Invoke | None) -> LoadError:
    """`error`, where the engine raised it compiling a module, in place (file, line, column in its message)
    and with its code frame; any other error, or one whose module's source cannot be read, as it is."""
    if error.code != "ERR_PARSE" or error.frame or not error.id:
        return error
    node = environment.module_graph.get_module_by_id(error.id)
    if node is None:
        return error
    file = node.source_name
    source = node_source(node)
    if source is None:
        return error  # the source is gone: the error as the engine gave it
    if error.loc is None:
        try:
            return await _regexp_error(error, source, file, invoke) if invoke is not None else error
        except ModrunError:
            return error  # the runtime is gone: the error as the engine gave it
    loc = error.loc
    if loc.file != file:
        return error  # mapped to another source than the module's own (its map names it): no frame of it here
    find = _NODE_PLACES.get(error.message)
    src = source.encode()
    found = find(parse_javascript(src).root_node, src, loc.line - 1) if find is not None else None
    if found is not None:
        return parse_error(source, src, found[0], found[1], file)
    return ParseError(f"{error.message} ({loc})", loc=loc, frame=code_frame(source, loc.line, loc.column),
                      id=error.id)


def _try_without_handler(root: Node, src: bytes, row: int) -> tuple[int, str] | None:
    """The last `try` with neither `catch` nor `finally` starting on or before `row`: its block's `}`."""
    bare = [node for node in nodes_of_type(root, "try_statement", nested=True) if node.start_point[0] <= row
            and not any(child.type in ("catch_clause", "finally_clause") for child in node.children)]
    if not bare or bare[-1].children[-1].child_count == 0:
        return None
    return bare[-1].children[-1].children[-1].start_byte, "Missing catch or finally after try"


def _nameless_class(root: Node, src: bytes, row: int) -> tuple[int, str] | None:
    """A class with no name where a statement starts: the token after `class`, as a declaration wants a name."""
    for node in nodes_of_type(root, "expression_statement", nested=True):
        first = node.children[0]
        if first.type == "class" and node.start_point[0] <= row and first.child_count > 1:
            return unexpected_token(root, src, first.children[1].start_byte)
    return None


def _optional_chain_target(root: Node, src: bytes, row: int) -> tuple[int, str] | None:
    """An assignment to an optional chain (`a?.b = 1`): its target."""
    for kind in ("assignment_expression", "augmented_assignment_expression"):
        for node in nodes_of_type(root, kind, nested=True):
            target = node.child_by_field_id(F_LEFT)
            if target is not None and target.start_point[0] <= row and nodes_of_type(target, "optional_chain"):
                return target.start_byte, "Invalid left-hand side in assignment"
    return None


#: QuickJS's words for early errors it places or words otherwise than Node -> where Node places them, and
#: Node's words (the module's tree, its source, the row QuickJS reported): the engine found the error, so
#: the tree holds it; None (not found) leaves the engine's report as it is
_NODE_PLACES: dict[str, Callable[[Node, bytes, int], tuple[int, str] | None]] = {
    "expecting catch or finally": _try_without_handler,
    "class statement requires a name": _nameless_class,
    "invalid assignment left-hand side": _optional_chain_target,
}


async def _regexp_error(error: LoadError, source: str, file: str, invoke: Invoke) -> LoadError:
    """`error` at the module's first regular expression literal the runtime refuses alike; else as it is."""
    src = source.encode()
    literals = nodes_of_type(parse_javascript(src).root_node, "regex")
    if not literals:
        return error
    found = await invoke("regExpError", [[src[n.start_byte:n.end_byte].decode() for n in literals]])
    if not isinstance(found, list) or len(found) != 2 or found[1] != error.message:
        return error
    return parse_error(source, src, literals[found[0]].start_byte, error.message, file)
