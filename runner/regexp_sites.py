"""Where a module's regular expression that the engine will not compile is.

QuickJS compiles a regular expression literal as it parses the code around it, and an error there
(a pattern's syntax the engine lacks, a group named twice, flags it does not know) carries no
position: the module would fail to load with `SyntaxError: invalid group name` and no line, column
or code frame. So where a module's compile fails with no position, the host finds the module's
regular expression literals in its source (tree-sitter), has the runtime that refused it compile
each alone (runner/js/host_api.js `regExpError`: compiled, never run), and places the error at the
first the engine refuses with the same message. Only a failed import pays for this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .errors import LoadError, ModrunError
from .transform.early_errors import parse_error
from .transform.parser import parse_javascript
from .transform_request import read_source

if TYPE_CHECKING:
    from tree_sitter import Node

    from .environment_resolve import Resolving

#: a runtime method and its arguments, answered by the runtime that refused the module
Invoke = Callable[[str, list[Any]], Awaitable[Any]]


async def located_regexp_error(error: LoadError, environment: Resolving, invoke: Invoke) -> LoadError:
    """`error` placed at the regular expression literal it comes from, with its code frame, where it is
    a compile error with no position of a module that has one the runtime refuses alike; else `error`."""
    if error.code != "ERR_PARSE" or error.loc is not None or not error.id:
        return error
    node = environment.module_graph.get_module_by_id(error.id)
    if node is None:
        return error
    module = node.transform_result
    source = module.source if module is not None else None
    try:
        if source is None:  # found by its file's stamp, unread: the file holds what it was made from
            source = read_source(node.id).code
        src = source.encode()
        literals = _regex_literals(parse_javascript(src).root_node)
        found = await invoke("regExpError", [[src[n.start_byte:n.end_byte].decode() for n in literals]]) \
            if literals else None
    except ModrunError:
        return error  # the source is gone, or the runtime with it: the error as the engine gave it
    if not isinstance(found, list) or len(found) != 2 or found[1] != error.message:
        return error
    literal = literals[found[0]]
    return parse_error(source, src, literal.start_byte, error.message, node.file or node.id)


def _regex_literals(root: Node) -> list[Node]:
    """The tree's regular expression literals, in source order."""
    found: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "regex":
            found.append(node)
        else:
            stack.extend(reversed(node.children))
    return found
