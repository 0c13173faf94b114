"""The per-environment module graph (Vite's EnvironmentModuleGraph): nodes by url, id and file,
with their importers, imported modules and transform result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ids import file_of


@dataclass(eq=False)
class ModuleNode:
    url: str
    id: str
    file: str | None
    importers: set[ModuleNode] = field(default_factory=set)
    imported_modules: set[ModuleNode] = field(default_factory=set)
    transform_result: Any = None  # runner.transform_request.TransformedModule

    def __repr__(self) -> str:
        return f"ModuleNode({self.url!r})"


def url_for_id(id: str, root: str) -> str:
    """Vite's url convention: root-relative paths for files in the root, `/@id/` otherwise."""
    if id.startswith("\0"):
        return "/@id/__x00__" + id[1:]
    if id.startswith(root + "/"):
        return id[len(root):]  # a `?type=` query stays: a typed module is a module of its own
    if id.startswith("/"):
        return "/@fs" + id
    return "/@id/" + id


class ModuleGraph:
    def __init__(self, root: str) -> None:
        self.root = root
        self.url_to_module: dict[str, ModuleNode] = {}
        self.id_to_module: dict[str, ModuleNode] = {}
        self.file_to_modules: dict[str, set[ModuleNode]] = {}

    def get_module_by_url(self, url: str) -> ModuleNode | None:
        return self.url_to_module.get(url)

    def get_module_by_id(self, id: str) -> ModuleNode | None:
        return self.id_to_module.get(id)

    def ensure_entry_from_id(self, id: str) -> ModuleNode:
        node = self.id_to_module.get(id)
        if node is None:
            file = None if id.startswith("\0") or not id.startswith("/") else file_of(id)
            node = ModuleNode(url=url_for_id(id, self.root), id=id, file=file)
            self.id_to_module[id] = node
            self.url_to_module[node.url] = node
            if file:
                self.file_to_modules.setdefault(file, set()).add(node)
        return node

    def update_module_imports(self, node: ModuleNode, imported: set[ModuleNode]) -> None:
        for old in node.imported_modules - imported:
            old.importers.discard(node)
        for new in imported:
            new.importers.add(node)
        node.imported_modules = imported
