"""One environment's `hot_update` pass for one changed file (Vite's handleHMRUpdate and
updateModules): the modules of the file, the plugins' `hot_update(ctx)` hooks, the new code
checked, the boundaries found, and Vite's payloads sent on the environment's hot channel.

A plugin's `hot_update(ctx)` (a function or a coroutine) sees `ctx.type` ("create", "update",
"delete"), `ctx.file`, `ctx.timestamp`, `ctx.modules`, `await ctx.read()`, `ctx.server` and
`ctx.environment`; it may return the modules to update (a filtered list, or other modules such as
virtual ones built from the file), an empty list when it handled the update itself (sending its
own events with `ctx.environment.hot.send(event, data)`), or None to leave them as they are.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LoadError, ModrunError
from ..file_identity import stamp_of
from ..module_graph import ModuleNode
from ..rpc.protocol import HotPayload
from ..transform_request import transform_request
from .propagate import Boundary, explicit_import_required, propagate_update

if TYPE_CHECKING:
    from ..environment import Environment
    from ..rpc.payloads import Update, UpdatePayload
    from ..server import Server
    from .watcher import ChangeType


@dataclass
class HotUpdateContext:
    type: ChangeType
    file: str
    timestamp: int
    modules: list[ModuleNode]
    environment: Environment
    server: Server

    async def read(self) -> str:
        """The file's text now ("" once deleted)."""
        try:
            return await asyncio.to_thread(Path(self.file).read_text, encoding="utf-8")
        except FileNotFoundError:
            return ""


@dataclass
class HotUpdateResult:
    """What the pass decided for one environment (the runtimes' reports follow on the channel)."""

    environment: str
    file: str
    type: ChangeType
    modules: list[str] = field(default_factory=list)
    payload: HotPayload | None = None  # None: nothing to do (no module, or a plugin handled it)


def _unchanged(node: ModuleNode) -> bool:
    """The module's file is as this pass last took it: transformed, or failed to transform."""
    if node.file is None:
        return False
    result = node.transform_result
    seen = result.stamp if result is not None and result.stamp is not None else node.failed_stamp
    return seen is not None and seen == stamp_of(node.file)


async def _call(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def hot_update(environment: Environment, file: str, change: ChangeType, timestamp: int) -> HotUpdateResult:
    graph = environment.module_graph
    if change != "update" or os.path.basename(file) == "package.json":
        # A file that appears or goes, or a package.json's `exports`, `imports`, `main`, `browser` or
        # `type`, can change what a specifier names and how a file is read.
        environment.forget_resolutions()
    ctx = HotUpdateContext(change, file, timestamp, list(graph.get_modules_by_file(file)), environment,
                           environment.server)
    if change == "update" and ctx.modules and all(_unchanged(node) for node in ctx.modules):
        # Another event of a save this pass has already taken (as chokidar drops a change whose
        # modification time and size are those it saw last).
        return HotUpdateResult(environment.name, file, change)
    for plugin in environment.plugin_container.hot_updaters:
        try:
            result = await _call(plugin.hot_update(ctx))
        except Exception as error:
            name = getattr(plugin, "name", type(plugin).__name__)
            message = error.message if isinstance(error, ModrunError) else f"{type(error).__name__}: {error}"
            failure = LoadError(f"[plugin {name}] hot_update failed for {file}: {message}", code="ERR_PLUGIN",
                                plugin=name, id=file)
            return _send(environment, HotUpdateResult(environment.name, file, ctx.type, [],
                                                      {"type": "error", "err": failure.to_payload()}))
        if result is not None:
            ctx.modules = list(result)
    outcome = HotUpdateResult(environment.name, file, ctx.type, [m.url for m in ctx.modules])
    if not ctx.modules:
        return outcome
    for node in ctx.modules:
        graph.invalidate_module(node, timestamp)
    if ctx.type != "delete":
        # The new code is checked before anything is sent: a module that no longer parses is an
        # `error` payload, and the runtimes keep running what they had.
        for node in ctx.modules:
            if node.is_self_accepting is None:
                continue  # never fetched: nothing runs it
            # stamped before it is read: a save that lands while it transforms is not taken for the failed one
            stamp = stamp_of(node.file) if node.file is not None else None
            try:
                await transform_request(environment, node)
            except ModrunError as error:
                node.failed_stamp = stamp
                outcome.payload = {"type": "error", "err": error.to_payload()}
                return _send(environment, outcome)
    outcome.payload = update_modules(environment, file, ctx.modules, timestamp)
    if ctx.type == "delete":
        for node in ctx.modules:
            environment.forget_module(node)
    return _send(environment, outcome)


def _send(environment: Environment, outcome: HotUpdateResult) -> HotUpdateResult:
    if outcome.payload is not None:
        environment.hot.send(outcome.payload)
    return outcome


def update_modules(environment: Environment, file: str, modules: list[ModuleNode], timestamp: int,
                   first_invalidated_by: str | None = None) -> HotPayload | None:
    """The payload for a change to `modules`: an update of their boundaries, or a full reload."""
    traversed: set[ModuleNode] = set()
    boundaries: list[Boundary] = []
    full_reload = False
    for node in modules:
        if propagate_update(node, traversed, boundaries):
            full_reload = True
            break
    if not full_reload and first_invalidated_by is not None and any(
            b.accepted_via.url == first_invalidated_by for b in boundaries):
        full_reload = True  # a module that invalidated itself is accepted again: it cannot update
    if full_reload:
        return {"type": "full-reload", "triggeredBy": file, "path": "*"}
    if not boundaries:
        return None  # nothing runs these modules
    updates: list[Update] = []
    invalidated: list[str] = []
    for b in boundaries:
        update: Update = {"type": "js-update", "timestamp": timestamp, "path": b.boundary.url,
                          "acceptedPath": b.accepted_via.url,
                          "explicitImportRequired": explicit_import_required(b.accepted_via.url),
                          "isWithinCircularImport": b.is_within_circular_import}
        if first_invalidated_by is not None:
            update["firstInvalidatedBy"] = first_invalidated_by
        updates.append(update)
        for node in [*b.chain, b.boundary]:
            node.last_hmr_timestamp = timestamp
            node.last_hmr_invalidation_received = False
        for node in b.chain:
            node.hmr_version += 1  # a remote runner's copy of it is stale now
        invalidated.extend(n.url for n in b.chain if n.url not in invalidated)
    payload: UpdatePayload = {"type": "update", "updates": updates, "modrun": {"invalidated": invalidated}}
    return dict(payload)


def on_invalidate(environment: Environment, data: Any) -> None:
    """`import.meta.hot.invalidate()` in a runtime: the module cannot take the update itself, so its
    importers are updated in its place (Vite's `vite:invalidate` handling)."""
    if not isinstance(data, dict):
        return
    node = environment.module_graph.get_module_by_url(str(data.get("path")))
    if node is None or not node.is_self_accepting or node.last_hmr_timestamp <= 0 \
            or node.last_hmr_invalidation_received:
        return
    node.last_hmr_invalidation_received = True
    first = data.get("firstInvalidatedBy")
    payload = update_modules(environment, node.file or node.id, list(node.importers), node.last_hmr_timestamp,
                             str(first) if first else None)
    if payload is None and not node.importers:
        payload = {"type": "full-reload", "triggeredBy": node.file or node.id, "path": "*"}
    if payload is not None:
        environment.hot.send(payload)
