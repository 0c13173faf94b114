"""The per-environment module graph (Vite's EnvironmentModuleGraph): nodes by url, id and file,
with their importers, imported modules, transform result and HMR state (what each module accepts,
filled in when the module is fetched; runner/hmr/ reads it)."""

from __future__ import annotations

from typing import Any

from .file_identity import Stamp
from .ids import file_of, shown


class ModuleNode:
    """One module of the graph. A plain class, not a dataclass: every run makes this class, and a
    dataclass costs a compile. Nodes compare and hash by identity."""

    def __init__(self, url: str, id: str, file: str | None) -> None:
        self.url = url
        self.id = id
        self.file = file
        # In the order they first imported it, as Vite's Set: HMR visits importers, and so sends updates, in that order.
        self.importers: dict[ModuleNode, None] = {}
        self.imported_modules: set[ModuleNode] = set()
        self.transform_result: Any = None  # runner.transform_request.TransformedModule
        #: the format its id alone fixes ("module", "commonjs"; "": its package's "type" decides), found by
        #: its first transform (transform_request.id_hint): ids do not change, so it is not asked again
        self.id_hint: str | None = None
        # HMR state. `is_self_accepting` is None until the module has been analysed (fetched).
        self.is_self_accepting: bool | None = None
        self.accepted_hmr_deps: set[ModuleNode] = set()
        self.accepted_hmr_exports: set[str] | None = None
        self.imported_bindings: dict[str, set[str]] = {}  # dependency id -> names
        self.last_hmr_timestamp = 0
        self.hmr_version = 0  # counts the module's hot updates (remote runners' copies are judged by it)
        self.last_hmr_invalidation_received = False
        # The file's stamp when a hot update last failed to transform it: a second event of that save is skipped.
        self.failed_stamp: Stamp = None

    @property
    def source_name(self) -> str:
        """What its source is named where people read it, alike in its source map, its errors' places and the
        check that an engine's error is in its own source (compile_errors.py): its file, else its id as shown."""
        return self.file or shown(self.id)

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

    def get_modules_by_file(self, file: str) -> set[ModuleNode]:
        return self.file_to_modules.get(file, set())

    def update_module_imports(self, node: ModuleNode, imported: set[ModuleNode]) -> set[ModuleNode]:
        """Record what `node` imports; answers the modules nothing imports any more (to prune)."""
        no_longer = set()
        for old in node.imported_modules - imported:
            old.importers.pop(node, None)
            if not old.importers:
                no_longer.add(old)
        for new in imported:
            new.importers[node] = None
        node.imported_modules = imported
        return no_longer

    def invalidate_module(self, node: ModuleNode, timestamp: int) -> None:
        """The module's file may have changed: its transform is checked against the file again
        (not only its modification time) on the next fetch."""
        if node.transform_result is not None:
            node.transform_result = node.transform_result._replace(stamp=None)
        node.last_hmr_timestamp = timestamp
        node.last_hmr_invalidation_received = False
        node.hmr_version += 1

    def remove_module(self, node: ModuleNode) -> None:
        """Drop a module whose file is gone; importers keep their edge until they are fetched again."""
        for imported in node.imported_modules:
            imported.importers.pop(node, None)
        node.imported_modules = set()
        if self.id_to_module.get(node.id) is node:
            del self.id_to_module[node.id]
        if self.url_to_module.get(node.url) is node:
            del self.url_to_module[node.url]
        if node.file:
            same = self.file_to_modules.get(node.file)
            if same is not None:
                same.discard(node)
                if not same:
                    del self.file_to_modules[node.file]
