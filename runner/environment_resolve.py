"""How an environment resolves specifiers: the plugins' answer (or, where every plugin before the
built-in resolver passes, the resolver's alone), remembered, checked to lie inside the root, and,
when it fails, located at the import with the chain of importers that led to it. A part of
Environment (environment.py), apart for its size."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import LoadError, Location
from .ids import file_of

if TYPE_CHECKING:
    from pathlib import Path

    from .module_graph import ModuleGraph
    from .plugin_container import PluginContainer
    from .plugins.real_paths import RealPaths
    from .plugins.resolve import ResolvePlugin
    from .transform_request import TransformedModule


class Resolving:
    """Environment's resolution (the attributes are Environment's, made in its __init__)."""

    root: Path
    module_graph: ModuleGraph
    plugin_container: PluginContainer
    real_paths: RealPaths
    _resolver: ResolvePlugin
    _passes: list[Callable[[str, str | None], bool]] | None
    _resolved: dict[tuple[str, str | None, str], tuple[str, int]]
    _shared: dict[tuple[str | None, str, str], tuple[str, int]]
    _inside: dict[str, bool]
    _real_root: str
    _epoch: int

    async def resolve(self, specifier: str, importer: str | None = None, kind: str = "import") -> str:
        """The id a specifier names, checked to lie inside the root (or be virtual); `kind` is
        "import" or "require" (a CommonJS require, resolved with the require conditions).
        Successful resolutions are remembered per (specifier, importer, kind): plugins are asked once;
        per importer directory where only the built-in resolver answers (_resolve_shared).
        In a later import of a server that does not watch, one that the built-in resolver gave is
        used again only if the files it read are unchanged (begin_import)."""
        passes = self._passes
        if passes is not None:
            for plugin_passes in passes:
                if not plugin_passes(specifier, importer):
                    break
            else:
                return self._resolve_shared(specifier, importer, kind)
        key = (specifier, importer, kind)
        known = self._known(self._resolved, key, specifier, importer, kind)
        if known is not None:
            return known
        id = await self._resolve(specifier, importer, kind)
        self._resolved[key] = (id, self._epoch)
        return id

    def _resolve_shared(self, specifier: str, importer: str | None, kind: str) -> str:
        """A resolution that every plugin before the built-in resolver passes over: the resolver is asked
        without the plugin container, and its answer is remembered for the importer's directory (as the
        resolver keeps it): the modules of a package's directory share what they import."""
        key = (self._resolver.directory_of(importer), specifier, kind)
        known = self._known(self._shared, key, specifier, importer, kind)
        if known is not None:
            return known
        try:
            found = self.plugin_container.resolve_only(self._resolver, specifier, importer, kind)
        except LoadError as error:
            raise self._located(error, specifier, importer) from None
        id = self._checked(found, specifier, importer)
        self._shared[key] = (id, self._epoch)
        return id

    def _known(self, memo: dict[Any, tuple[str, int]], key: Any, specifier: str, importer: str | None,
               kind: str) -> str | None:
        """A remembered answer that still stands: given in this import, or one whose files are unchanged."""
        known = memo.get(key)
        if known is None:
            return None
        id, epoch = known
        if epoch != self._epoch:
            if not self._resolver.still(specifier, importer, kind, id, self):
                return None
            memo[key] = (id, self._epoch)
        return id

    async def _resolve(self, specifier: str, importer: str | None, kind: str) -> str:
        try:
            id = await self.plugin_container.resolve_id(specifier, importer, kind)
        except LoadError as error:
            raise self._located(error, specifier, importer) from None
        return self._checked(id, specifier, importer)

    def _checked(self, id: str | None, specifier: str, importer: str | None) -> str:
        """A plugin's answer, or the error that it gave none or one outside the root."""
        if id is None:
            raise self._located(self._not_found(specifier, importer), specifier, importer)
        if not id.startswith("\0") and os.path.isabs(id) and not self._inside_root(id):
            raise self._located(LoadError(
                f"'{specifier}' resolves to {id}, which is outside the root {self.root}: only modules inside "
                "the root (and its node_modules) can be imported" + self._wider_root(id),
                code="ERR_OUTSIDE_ROOT", importer=importer, id=id), specifier, importer)
        return id

    def _wider_root(self, id: str) -> str:
        """For a package in the node_modules of a folder above the root (a project run from a subfolder),
        the root that would take it in."""
        folder, marker = file_of(id), os.sep + "node_modules" + os.sep
        above = folder[:folder.find(marker)] if marker in folder else None
        if above is None or not (str(self.root) + os.sep).startswith(above + os.sep):
            return ""
        return f" (it is in the node_modules of {above}: a root there, such as `--root {above}`, takes it in)"

    def _inside_root(self, id: str) -> bool:
        """Is the file behind `id` (links followed) inside the root? Remembered per id."""
        inside = self._inside.get(id)
        if inside is None:
            real = self.real_paths.of(file_of(id))
            inside = self._inside[id] = real == self._real_root or real.startswith(self._real_root + os.sep)
        return inside

    def _not_found(self, specifier: str, importer: str | None) -> LoadError:
        kind = "package" if not specifier.startswith((".", "/", "\0", "file:")) else "module"
        message = f"Cannot find {kind} '{specifier}'" + (f" imported from {importer}" if importer else "")
        return LoadError(message, code="ERR_MODULE_NOT_FOUND", importer=importer, id=specifier)

    def _located(self, error: LoadError, specifier: str, importer: str | None) -> LoadError:
        """A resolution error with where the import is (line, column, code frame) and the chain of
        importers that led to it, entry first."""
        chain = self.importer_chain(importer)
        message = error.message
        if error.code == "ERR_MODULE_NOT_FOUND" and specifier.endswith(("/jsx-runtime", "/jsx-dev-runtime")) \
                and importer and file_of(importer).endswith((".jsx", ".tsx")):
            message += (f"\n  '{specifier}' is the JSX automatic runtime: name the package that provides it with "
                        "tsconfig.json's jsxImportSource, the server's jsx config or a @jsxImportSource comment")
        if len(chain) > 1:
            message += "\n  importer chain: " + " -> ".join(chain)
        site = {} if error.loc is not None else self._import_site(specifier, importer)
        return LoadError(message, name=error.name, code=error.code, loc=site.get("loc", error.loc),
                         frame=site.get("frame", error.frame), importer=error.importer or importer,
                         plugin=error.plugin, id=error.id)

    def importer_chain(self, importer: str | None) -> list[str]:
        """The urls from an entry down to `importer`, following the module graph's importers."""
        chain: list[str] = []
        node = self.module_graph.get_module_by_id(importer) if importer else None
        while node is not None and node.url not in chain:
            chain.append(node.url)
            node = min(node.importers, key=lambda n: n.url) if node.importers else None
        return chain[::-1]

    def _import_site(self, specifier: str, importer: str | None) -> dict[str, Any]:
        """Where in the importer the failing import (or require) is: location and code frame."""
        node = self.module_graph.get_module_by_id(importer) if importer else None
        module: TransformedModule | None = node.transform_result if node else None
        if module is None:
            return {}
        from .import_sites import node_frame  # (only a failed resolution needs it)

        for entry in [*module.meta["imports"], *module.meta.get("requires", [])]:
            if entry["specifier"] == specifier and entry.get("line"):
                line, column = entry["line"], entry["column"]
                loc = Location(node.source_name, line, column)  # type: ignore[union-attr]
                frame = node_frame(node, line, column)  # type: ignore[arg-type]
                return {"loc": loc} if frame is None else {"loc": loc, "frame": frame}
        return {}
