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
from .transform.early_errors import parse_error
from .transform.parser import nodes_of_type, parse_javascript

if TYPE_CHECKING:

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
    file = node.file or node.id
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
    return ParseError(f"{error.message} ({loc})", loc=loc, frame=code_frame(source, loc.line, loc.column),
                      id=error.id)


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
