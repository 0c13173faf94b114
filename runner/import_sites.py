"""Where a failing import is in its importer, as load errors show it: the code frame at a position of
a module of the graph; link errors (a name a module does not export, or exports ambiguously,
found when the runner links the graph) given the code frame and the importer chain that
resolution errors have (environment_resolve.py); and a syntax error in a module the entry imports
given that chain too."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .code_frame import code_frame
from .errors import LoadError, ParseError
from .transform_request import read_source

if TYPE_CHECKING:
    from .environment_resolve import Resolving
    from .module_graph import ModuleNode


def node_source(node: ModuleNode) -> str | None:
    """The module's loaded source (None: it cannot be read)."""
    module = node.transform_result
    source = module.source if module is not None else None
    if source is None:  # found by its file's stamp, unread: the file holds what it was made from
        try:
            source = read_source(node.id).code
        except LoadError:
            return None
    return source


def node_frame(node: ModuleNode, line: int, column: int) -> str | None:
    """The code frame at `line`, `column` of the module's loaded source (None: it cannot be read)."""
    source = node_source(node)
    return None if source is None else code_frame(source, line, column)


def located_load_error(error: LoadError, environment: Resolving) -> LoadError:
    """A link error from the runner with its code frame and importer chain, a syntax error in a module
    imported by another with the chain; any other error as it is."""
    if error.code in ("ERR_PARSE", "ERR_LOAD"):
        return _with_importer_chain(error, environment)
    if error.code != "ERR_LINK" or error.frame or not error.importer:
        return error
    graph = environment.module_graph
    node = graph.get_module_by_id(error.importer) or min(graph.get_modules_by_file(error.importer),
                                                         key=lambda n: n.url, default=None)
    if node is None:
        return error
    message = error.message
    chain = environment.importer_chain(node.id)
    if len(chain) > 1:
        message += "\n  importer chain: " + " -> ".join(chain)
    loc = error.loc
    frame = node_frame(node, loc.line, loc.column) if loc is not None else None
    return LoadError(message, name=error.name, code=error.code, loc=loc, frame=frame, importer=error.importer,
                     id=error.id)


def _with_importer_chain(error: LoadError, environment: Resolving) -> LoadError:
    """A module that does not parse, or cannot be read, with the chain of importers that led to it."""
    chain = environment.importer_chain(error.id)
    if len(chain) < 2 or "\n  importer chain: " in error.message:  # (a resolution's error has its importer's)
        return error
    message = f"{error.message}\n  importer chain: {' -> '.join(chain)}"
    if error.code != "ERR_PARSE":
        return LoadError(message, name=error.name, code=error.code, loc=error.loc, frame=error.frame,
                         importer=error.importer, plugin=error.plugin, id=error.id)
    if error.loc is None or error.frame is None:
        return error
    return ParseError(message, loc=error.loc, frame=error.frame, id=error.id, code=error.code)
