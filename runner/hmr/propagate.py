"""From changed modules to HMR boundaries (Vite's propagateUpdate): walk importers until a module
accepts the change — itself (`accept()`, or `acceptExports` covering every binding its importers
use) or as a dependency (`accept("./dep")`). A chain that reaches a module nothing imports without
meeting a boundary is a dead end: that environment's runtimes reload in full."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..module_graph import ModuleNode

JS_EXTENSIONS = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")


@dataclass
class Boundary:
    boundary: ModuleNode
    accepted_via: ModuleNode
    chain: list[ModuleNode]  # from a changed module up to `accepted_via`: their instances are stale
    is_within_circular_import: bool


def _within_cycle(node: ModuleNode, chain: list[ModuleNode]) -> bool:
    """Does a module on `chain` import `node`, directly or through others (a cycle)?"""
    members = set(chain)
    seen: set[ModuleNode] = set()
    stack = list(node.importers)
    while stack:
        importer = stack.pop()
        if importer in members:
            return True
        if importer in seen:
            continue
        seen.add(importer)
        stack.extend(importer.importers)
    return False


def _all_accepted(importer: ModuleNode, node: ModuleNode) -> bool:
    names = importer.imported_bindings.get(node.id)
    accepted = node.accepted_hmr_exports
    return accepted is not None and bool(names) and names is not None and names <= accepted


def propagate_update(node: ModuleNode, traversed: set[ModuleNode], boundaries: list[Boundary],
                     chain: list[ModuleNode] | None = None) -> bool:
    """Add the boundaries of a change to `node`; answers True on a dead end (a full reload)."""
    chain = chain if chain is not None else [node]
    if node in traversed:
        return False
    traversed.add(node)
    if node.is_self_accepting is None:
        return False  # never fetched: no runtime runs it
    if node.is_self_accepting or node.accepted_hmr_exports is not None:
        boundaries.append(Boundary(node, node, list(chain), _within_cycle(node, chain)))
        if node.is_self_accepting:
            return False
    elif not node.importers:
        return True
    for importer in node.importers:
        sub_chain = [*chain, importer]
        if node in importer.accepted_hmr_deps:
            boundaries.append(Boundary(importer, node, list(chain), _within_cycle(importer, sub_chain)))
            continue
        if _all_accepted(importer, node):
            continue
        if importer not in chain and propagate_update(importer, traversed, boundaries, sub_chain):
            return True
    return False


def explicit_import_required(url: str) -> bool:
    """Vite's isExplicitImportRequired: a module that is not JavaScript (JSON, text…)."""
    path = url.split("?", 1)[0]
    return os.path.splitext(path)[1] not in JS_EXTENSIONS
