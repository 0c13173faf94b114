"""An environment: a named module pipeline (resolve conditions, plugins, module graph) plus the
runtime its module runner lives in. `fetch_module` is what runners call over the transport."""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .capabilities import Bindings, FetchPolicy
from .config import EnvironmentConfig, default_define, require_conditions, resolve_conditions
from .environment_resolve import Resolving
from .errors import LoadError, ModrunError, UsageError
from .file_identity import stamp_of
from .hmr.channel import HotChannel
from .ids import file_of
from .js.profiles import get_profile
from .module_graph import ModuleGraph, ModuleNode
from .plugin_container import PluginContainer
from .plugins import DefinePlugin, JsonPlugin, ResolvePlugin
from .plugins.data_urls import DataUrls
from .plugins.env_module import EnvModule
from .plugins.fs_stamps import FileStamps, Stamp
from .plugins.module_types import ModuleTypesPlugin, check_type, split_type, typed_id
from .plugins.packages import PackageCache
from .plugins.real_paths import RealPaths
from .plugins.resolve_store import ResolveStore
from .plugins.typescript_jsx import TypeScriptJsxPlugin
from .prefetch import boot_with_prefetch, may_prefetch
from .rpc import wire
from .rpc.client import ConsoleSink, RunnerClient
from .rpc.code_keys import IMPORT_META, code_key, gate_at
from .rpc.exports import ModuleProxy
from .rpc.graph_fetch import GraphFetch
from .rpc.protocol import BINDINGS_METHOD, Handler
from .rpc.sent_module import sent_map, sent_meta
from .runtimes.lifecycle import ManagedRuntime
from .transform.sourcemap import shift_lines
from .transform_request import TransformedModule, load_source, node_hint, transform_request
from .transform_stamps import TransformStamps

if TYPE_CHECKING:
    from collections.abc import Callable

    from evaluators import RuntimeOptions

    from .dispatch import DispatchRequest, DispatchResponse
    from .kept_graph import KeptGraph
    from .rpc.payloads import FetchedModule, FetchOptions, FetchResult, LinkMeta, PendingTimer
    from .runtimes.pool import RuntimePool
    from .server import Server


class Environment(Resolving):
    def __init__(self, name: str, config: EnvironmentConfig, server: Server) -> None:
        self.name = name
        self.config = config
        self.server = server
        self.root: Path = server.root
        self.mode = server.mode
        self.profile = config.profile
        self.capabilities = get_profile(config.profile).capabilities
        self.fetch_policy: FetchPolicy = config.fetch or server.fetch
        #: the host's values and callables JS sees as `env` (`import env from "modrun:env"`)
        self.bindings: Bindings = config.bindings or Bindings()
        self.conditions = resolve_conditions(config, server.mode)
        self.require_conditions = require_conditions(self.conditions)
        self.define = {**default_define(server.mode), **server.define, **config.define}
        self.alias = {**server.alias, **config.alias}
        self.module_graph = ModuleGraph(str(server.root))
        self.packages = PackageCache()  # package.json files, for resolution and module formats
        self.real_paths = RealPaths()  # module ids are real paths
        self.stamps = FileStamps()  # what remembered resolutions were read from (plugins/fs_stamps.py)
        #: the resolver's answers, kept for later processes in the cache directory (plugins/resolve_store.py)
        self.resolutions = ResolveStore(server.transform_cache.directory, self)
        self._resolver = ResolvePlugin(self.packages, self.real_paths, self.stamps, self.resolutions)
        # TypeScript and JSX are lowered before user plugins see the code, as Vite's esbuild plugin is.
        plugins = [EnvModule(self.bindings), DataUrls(), ModuleTypesPlugin(),
                   TypeScriptJsxPlugin(server.jsx, server.mode, server.tsconfig), *server.plugins, *config.plugins,
                   JsonPlugin(), DefinePlugin(self.define), self._resolver]
        self.plugin_container = PluginContainer(self, plugins)
        #: what tells whether only the built-in resolver can answer a resolution (None: a user's plugin hears all)
        self._passes = self.plugin_container.passes_before(self._resolver)
        #: transforms found by their file's stamp, in a process that has not read the file (transform_stamps.py)
        self.transform_stamps = TransformStamps(self.plugin_container, self.define, server.transform_cache)
        self.on_console: ConsoleSink | None = server.on_console
        self._transforms_in_flight: dict[str, asyncio.Future[TransformedModule]] = {}
        #: the runtime `import_module` uses, replaced after a limit or a crash (runner/runtimes/lifecycle.py)
        self.runtime = ManagedRuntime(self)
        self._pool: RuntimePool | None = None
        self._runtime_options: set[RuntimeOptions] = set()  # what its runtimes were made with (see close)
        # the tasks settling ctx.waitUntil promises of dispatch_fetch (awaited before closing)
        self._waits: set[asyncio.Task[list[ModrunError]]] = set()
        self._real_root = os.path.realpath(server.root)
        self._resolved: dict[tuple[str, str | None, str], tuple[str, int]] = {}  # -> (id, epoch last checked)
        # the built-in resolver's answers where it alone is asked, per (importer's directory, specifier, kind)
        self._shared: dict[tuple[str | None, str, str], tuple[str, int]] = {}
        self._inside: dict[str, bool] = {}
        # id -> the answer fetch_module built last for the module
        self._fetched: dict[str, _Answer] = {}
        #: (root id, options' shape) -> the graph a fresh runner's graph fetch of it was sent (kept_graph.py);
        #: None: walked once (runner/rpc/graph_fetch.py)
        self.kept_graphs: dict[tuple[str, tuple[int, bool]], KeptGraph | None] = {}
        self._epoch = 0
        #: an import began by runner/prefetch.py: its runner's first request begins no other (begin_import)
        self.import_begun = False
        #: the startOffset this environment's runners ask with (runner/prefetch.py), once one has
        self.start_offset: int | None = None
        #: told each ES module's code key and code as its answer is built, where the latest runtime's
        #: evaluator asks (it may compile the module's wrapper before the runtime does: evaluators/compile_ahead.py)
        self.on_code: Callable[[str, str], None] | None = None
        #: Vite's environment.hot: HMR payloads to this environment's runtimes (runner/hmr/channel.py)
        self.hot = HotChannel(self)
        self.hot.on("vite:invalidate", self._on_invalidate)

    def _on_invalidate(self, data: Any, _client: Any) -> None:
        # HMR's passes are imported when an HMR event first comes (a plain run never loads them).
        from .hmr.hot_update import on_invalidate

        on_invalidate(self, data)

    # ---- server side ----

    async def transform_request(self, url: str) -> TransformedModule:
        node = self.module_graph.ensure_entry_from_id(await self.resolve(url))
        return await transform_request(self, node)

    async def fetch_module(self, url: str, importer: str | None = None, options: FetchOptions | None = None,
                           served: dict[str, int] | None = None) -> FetchResult:
        """Vite's fetchModule: `{code, file, id, url, invalidate}` (here with `map` and the runner's
        link metadata under `modrun`), or `{cache: true}` when the runner's copy is current.
        `served` (module id -> HMR version sent) tells, for a remote runner, whether its copy is
        current; a copy older than the module's last hot update comes back with `invalidate`."""
        options = options or {}
        base, module_type = split_type(url)
        attributes = options.get("attributes") or {}
        module_type = module_type or attributes.get("type")
        check_type(module_type, url)
        # A url the graph handed out (the runner fetches dependencies by the urls in `resolved`)
        # names its module whoever imports it: no resolution, as in Vite's fetchModule.
        node = self.module_graph.get_module_by_url(url) if url.startswith("/") and not attributes else None
        if node is None:
            node = self.module_graph.ensure_entry_from_id(typed_id(await self.resolve(base, importer), module_type))
        stale = served is not None and served.get(node.id, node.hmr_version) != node.hmr_version
        if options.get("cached") and node.transform_result is not None and not stale:
            return {"cache": True}
        if served is not None:
            served[node.id] = node.hmr_version
        module = await transform_request(self, node)
        offset = int(options.get("startOffset") or 0)
        inline = bool(options.get("inlineSourceMap", True))
        previous = self._fetched.get(node.id)
        if previous is not None and previous.module is module and previous.shape == (offset, inline) and \
                previous.current(self._epoch, self.stamps):
            # Same transform, same shape, dependencies that resolve as they did: the answer built last time.
            return {**previous.result, "invalidate": True} if stale else previous.result
        resolved: dict[str, str] = {}
        imported: dict[str, ModuleNode] = {}
        commonjs = module.meta.get("format") == "commonjs"
        kind = "require" if commonjs else "import"
        # What the answer's resolutions read (see _Answer); None: it is built again in each import.
        checks: list[tuple[str, Stamp]] | None = None if commonjs or self.server.hmr else []
        unresolved: dict[str, Any] = {}
        for key in module.deps:
            specifier, _, dep_type = key.partition("\0")
            try:
                check_type(dep_type or None, specifier)
                base_id = await self.resolve(specifier, node.id, kind)
                dep_id = typed_id(base_id, dep_type or None)
                if checks is not None:
                    checks += self._resolver.read_for(specifier, node.id, kind, base_id, self)
            except LoadError as error:
                checks = None
                # An import: the runner asks again and reports the error with its importer. A
                # require: the error is thrown where the require is called (code may catch it).
                if commonjs:
                    unresolved[key] = {**error.to_payload(), "code": "MODULE_NOT_FOUND", "reason": error.code}
                continue
            dep = self.module_graph.ensure_entry_from_id(dep_id)
            resolved[key] = dep.url
            imported[key] = dep
        pruned = self.module_graph.update_module_imports(node, set(imported.values()))
        code, source_map = module.code, module.map
        uses_hot = False
        if self.server.hmr:
            from .hmr.accepts import accepts_as_urls

            uses_hot, accepted = await self._analyse_hmr(node, module, imported)
            code, source_map = accepts_as_urls(code, source_map, accepted)
            if pruned and node.last_hmr_timestamp:
                self.hot.send({"type": "prune", "paths": sorted(n.url for n in pruned)})
        if commonjs:
            # Requires resolve with the require conditions: kept apart from what import() resolves to.
            meta: LinkMeta = {**module.meta, "required": resolved, "resolved": {}}
            await self._commonjs_meta(node, module, meta, unresolved)
        else:
            meta = {**module.meta, "resolved": resolved}
        if uses_hot:
            meta["hot"] = True
        if not commonjs and not _reads_import_meta(code, meta):
            meta["importMeta"] = False
        for specifier in module.dynamic_deps:
            # import() of a literal: resolved now, so that a module the runner already holds needs no request.
            if specifier not in meta["resolved"]:
                try:
                    base_id = await self.resolve(specifier, node.id)
                except LoadError:
                    checks = None
                    continue  # reported when the import() runs
                meta["resolved"][specifier] = self.module_graph.ensure_entry_from_id(base_id).url
                if checks is not None:
                    checks += self._resolver.read_for(specifier, node.id, "import", base_id, self)
        map_ = shift_lines(source_map, offset) if source_map is not None and offset else source_map
        if inline and map_ is not None:
            # As Vite's fetchModule does: its runner maps stack frames through the module that the
            # frame's sourceURL names.
            import base64  # here: modrun's own runner asks for maps apart (inlineSourceMap false), Vite's inline

            encoded = base64.b64encode(wire.dumps_bytes(map_)).decode()
            source_url = re.sub(r"\s", lambda m: quote(m.group(0)), node.id)
            code += (f"\n//# sourceURL={source_url}"
                     f"\n//# sourceMappingURL=data:application/json;base64,{encoded}\n")
            map_ = None
        result: FetchedModule = {"code": code, "file": node.file, "id": node.id, "url": node.url, "invalidate": False,
                                 "modrun": sent_meta(meta)}
        if map_ is not None:
            result["map"] = sent_map(map_)
        if self.on_code is not None and not commonjs and (named := code_key(result)) is not None:
            self.on_code(named, code)
        self._fetched[node.id] = _Answer(module, (offset, inline), result, self._epoch,
                                         None if checks is None else tuple(dict.fromkeys(checks)))
        return {**result, "invalidate": True} if stale else result

    def kept_answer(self, node: ModuleNode, shape: tuple[int, bool]) -> FetchedModule | None:
        """What `fetch_module` would answer now for `node` (a module of the graph, fetched by its url, with
        options of this `shape`: startOffset and inlineSourceMap, without `cached`), where that is the
        answer it built last: found without a coroutine or a new dict, where the module is one a runner
        fetches by the hundred. The same checks as `fetch_module` (transform_request.py: `_transform`):
        no transform under way, the same format, no plugin that may load it, its file's stamp unchanged
        since it was read and settled, and the answer's resolutions current (_Answer). None where any
        does not hold or cannot be told so: `fetch_module` then answers as always."""
        module: TransformedModule | None = node.transform_result
        if module is None or not module.settled or node.file is None or node.id in self._transforms_in_flight:
            return None
        previous = self._fetched.get(node.id)
        if previous is None or previous.module is not module or previous.shape != shape:
            return None
        # A file's plain id, which no plugin's load answers for (else `_transform` asks them, and they may answer now).
        if not self.plugin_container.files_load_as_read or node.id.startswith("\0") or split_type(node.id)[1]:
            return None
        if module.hint != node_hint(self, node) or stamp_of(node.file) != module.stamp:
            return None
        return previous.result if previous.current(self._epoch, self.stamps) else None

    async def _commonjs_meta(self, node: ModuleNode, module: TransformedModule, meta: LinkMeta,
                             unresolved: dict[str, Any]) -> None:
        """What the runner needs of a CommonJS module beyond its own transform: why requires did not
        resolve, the files `require.resolve` names, and the named exports of the modules it
        re-exports (as Node adds them: `module.exports = require("./impl")`). Its requires are not
        dependencies the runner evaluates first (`deps`): they run when called."""
        meta["deps"] = []
        if unresolved:
            meta["unresolved"] = unresolved
        files: dict[str, str] = {}
        for specifier in module.meta.get("resolves", []):
            try:
                files[specifier] = file_of(await self.resolve(specifier, node.id, "require"))
            except LoadError:
                continue  # require.resolve throws MODULE_NOT_FOUND when it is called
        if files:
            meta["files"] = files
        names = await self._reexported_names(node, module, {node.id})
        if names:
            exports = dict(meta["exports"])
            for name in names:
                exports.setdefault(name, {"kind": "local"})
            meta["exports"] = exports

    async def _reexported_names(self, node: ModuleNode, module: TransformedModule, seen: set[str]) -> list[str]:
        names: list[str] = []
        for specifier in module.meta.get("reexports", []):
            try:
                id = await self.resolve(specifier, node.id, "require")
            except LoadError:
                continue  # as Node: a re-export that does not resolve adds nothing
            if id in seen or not file_of(id).endswith((".js", ".cjs")):
                continue
            seen.add(id)
            target = self.module_graph.ensure_entry_from_id(id)
            try:
                reexported = await transform_request(self, target)
            except LoadError:
                continue
            if reexported.meta.get("format") != "commonjs":
                continue
            names += [name for name in reexported.meta["exports"] if name != "default"]
            names += await self._reexported_names(target, reexported, seen)
        return names

    async def _analyse_hmr(self, node: ModuleNode, module: TransformedModule,
                           imported: dict[str, ModuleNode]) -> tuple[bool, dict[str, str]]:
        """What the module accepts through import.meta.hot, and which bindings it imports from each
        dependency (for `acceptExports`): what the propagation to boundaries reads. Answers whether
        the module uses import.meta.hot, and the url of each accepted specifier."""
        from .hmr.accepts import lex_accepts

        accepts = lex_accepts(module.code)
        node.is_self_accepting = accepts.self_accepting
        node.accepted_hmr_exports = accepts.exports
        deps = set()
        urls: dict[str, str] = {}
        for specifier in accepts.deps:
            try:
                accepted = self.module_graph.ensure_entry_from_id(await self.resolve(specifier, node.id))
            except LoadError:
                continue  # accepting a module that does not exist accepts nothing
            deps.add(accepted)
            urls[specifier] = accepted.url
        node.accepted_hmr_deps = deps
        bindings: dict[str, set[str]] = {}
        for entry in module.meta["imports"]:
            dep = imported.get(entry["key"])
            if dep is not None:
                bindings.setdefault(dep.id, set()).update(entry["names"])
        node.imported_bindings = bindings
        return accepts.uses_hot, urls

    def begin_import(self) -> None:
        """A runner starts an import. A server that watches its files hears of every change; one that
        does not looks at them again: the built-in resolver's answers are checked against the stamps
        of what they read (plugins/fs_stamps.py), package scopes are walked again, and answers are
        built again on those resolutions. Module code is checked by each fetch in any case."""
        if self.server.watcher is not None:
            return
        if self.import_begun:
            self.import_begun = False
            return
        self._epoch += 1
        self.stamps.new_epoch()
        self.packages.forget_scopes()

    def kept_keyed(self, module: FetchedModule) -> dict[bool, tuple[str | None, FetchedModule]] | None:
        """Where the runners' graph fetches keep what they send of this answer, by whether code keys go
        instead of the code (runner/rpc/graph_fetch.py): None unless it is the answer this environment
        keeps for its module (a new answer, or one sent as invalidated, is not)."""
        answer = self._fetched.get(module["id"])
        return answer.keyed if answer is not None and answer.result is module else None

    def forget_resolutions(self) -> None:
        """A file appeared or went, or a package.json changed: specifiers may name other files now, and
        files may belong to another package."""
        self._resolved.clear()
        self._shared.clear()
        self._inside.clear()
        self.real_paths.clear()
        self.packages.forget_scopes()
        self._resolver.forget()
        self._fetched.clear()  # their dependencies are resolved again
        self.kept_graphs.clear()

    def forget_module(self, node: ModuleNode) -> None:
        """A module whose file is gone leaves the graph."""
        self.module_graph.remove_module(node)
        self._fetched.pop(node.id, None)

    def invoke_handlers(self) -> dict[str, Handler]:
        """What a module runner may invoke on this environment: fetchModule (and fetchCode, the code it
        sent that runner as keys), its bindings, and the host capabilities of its profile (and only
        those). A set per runner: its fetchModule remembers what it sent that runner in batches
        (runner/rpc/graph_fetch.py)."""
        fetch = GraphFetch(self)
        handlers: dict[str, Handler] = {"fetchModule": fetch, "fetchCode": fetch.code, BINDINGS_METHOD: self.bindings}
        if "fetch" in self.capabilities:
            handlers["fetch"] = self.fetch_policy
        if "subtle" in self.capabilities:
            handlers["subtle"] = _subtle
        return handlers

    # ---- runtime side ----

    async def create_runner(self, *, on_console: ConsoleSink | None = None) -> RunnerClient:
        """A fresh runtime with a module runner in it, connected to this environment."""
        from evaluators import get_evaluator

        evaluator = get_evaluator(self.config.evaluator)
        options = self.runtime_options()
        self._runtime_options.add(options)
        transport = await evaluator.create_transport(options)
        self.on_code = getattr(transport, "on_code", None)
        client = RunnerClient(transport, self.invoke_handlers(), limits=self.config.limits,
                              on_console=on_console or self.on_console)
        if self.server.hmr:
            self.hot.add_client(client)
        return client

    def runtime_options(self) -> RuntimeOptions:
        """What this environment's runtimes are made with."""
        from evaluators import RuntimeOptions

        directory = self.server.transform_cache.directory
        return RuntimeOptions(profile=self.config.profile, limits=self.config.limits, mode=self.mode,
                              hmr=self.server.hmr, code_cache=None if directory is None else str(directory))

    async def get_runner(self) -> RunnerClient:
        """This environment's long-lived runner, created on first use and again after a limit or crash."""
        return await self.runtime.client()

    async def import_module(self, url: str, *, deadline: float | None = None) -> ModuleProxy:
        """Import `url` (a root-relative url, a path, or an id) in this environment's runtime and
        return its exports: data as Python values, functions as async callables. After a limit or
        a crash the runtime is replaced and the proxy follows the environment's proxy_policy
        (runner/runtimes/lifecycle.py)."""
        entry = self._entry_url(url)
        try:
            if not self.runtime.alive and may_prefetch(self):
                await boot_with_prefetch(self, entry, deadline)  # the host transforms while the runtime boots
            return await self.runtime.import_module(entry, deadline=deadline)
        finally:
            self.import_begun = False  # an import that failed before its runner asked ends here
            self.server.transform_cache.flush()  # new transforms reach the disk once per import
            self.resolutions.save()  # and new resolutions

    @property
    def pool(self) -> RuntimePool:
        """The environment's pool of runtimes for concurrent calls (runner/runtimes/pool.py), of the size its
        config's `pool` says; apart from the runtime `import_module` uses."""
        if self._pool is None:
            from .runtimes.pool import RuntimePool

            self._pool = RuntimePool(self, self.config.pool)
        return self._pool

    async def call(self, url: str, export: str, *args: Any, cpu_ms: float | None = None,
                   wall_ms: float | None = None) -> Any:
        """Call an export of a module on a free runtime of the pool (RuntimePool.call)."""
        return await self.pool.call(self._entry_url(url), export, *args, cpu_ms=cpu_ms, wall_ms=wall_ms)

    async def dispatch_fetch(self, request: DispatchRequest | str, *, entry: str | None = None,
                             cpu_ms: float | None = None, wall_ms: float | None = None) -> DispatchResponse:
        """Call the fetch handler of `entry` (default: the environment's `entry` option) with `request`
        (a DispatchRequest, or a URL for a GET) on a free runtime of the pool, with this request's
        own CPU and wall-time budget (within the environment's limits); see runner/dispatch.py. A
        handler that throws raises JSError; a runtime that hits a limit is replaced for the next."""
        from .dispatch import DispatchRequest, dispatch

        if isinstance(request, str):
            request = DispatchRequest(request)
        url = self._dispatch_entry(entry)
        deadline = time.monotonic() + wall_ms / 1000 if wall_ms is not None else None
        async with self.pool.acquire() as member:
            module = await member.module(url)
            return await dispatch(await member.client(), module.url, request, deadline=deadline, cpu_ms=cpu_ms,
                                  waits=self._waits)

    async def prepare_dispatch(self, *, entry: str | None = None) -> None:
        """Boot every runtime of the pool with the entry imported (what the ASGI adapter does at
        startup), so that no request pays for it."""
        await self.pool.start([self._dispatch_entry(entry)])

    def _dispatch_entry(self, entry: str | None) -> str:
        entry = entry or self.config.entry
        if entry is None:
            raise UsageError(f"environment {self.name!r}: dispatch_fetch needs an entry (the environment's "
                             "'entry' option, or entry='/src/app.js')")
        return self._entry_url(entry)

    async def settle(self, *, deadline: float | None = None) -> list[PendingTimer]:
        """Let the runtime finish the work under way (promise jobs, host requests, timers already
        due) and return the timers still pending: what a run that ends now leaves undone."""
        runner = self.runtime.current
        if runner is None or runner.dead:
            return []
        await runner.settle(deadline=deadline)
        return await runner.pending_timers()

    async def run_script(self, path: str, code: str | None = None, *, runner: RunnerClient | None = None,
                         deadline: float | None = None) -> None:
        """Run a classic script (global code, not a module) in the runtime; its `import()` calls load
        modules relative to `path`. `code` overrides the file's contents."""
        id = await self.resolve(self._entry_url(path))
        source = code if code is not None else (await load_source(self, id)).code
        from .transform.script_transform import transform_script  # loads the parser only when scripts run

        target = runner or await self.get_runner()
        await target.invoke("evalScript", [transform_script(source, id)], deadline=deadline)

    def _entry_url(self, url: str) -> str:
        path = Path(url)
        if path.is_absolute() and path.exists():
            try:
                return "/" + path.resolve().relative_to(self.root).as_posix()
            except ValueError:
                return url  # outside the root: resolve() says so with a clear error
        return url

    async def close(self) -> None:
        self.resolutions.save()
        await self.hot.close()
        if self._waits:  # ctx.waitUntil work finishes first (each bounded by the limits)
            await asyncio.gather(*self._waits, return_exceptions=True)
        await self.runtime.close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._runtime_options:
            from evaluators import get_evaluator

            release = getattr(get_evaluator(self.config.evaluator), "release", None)
            if release is not None:
                for options in self._runtime_options:
                    release(options)
            self._runtime_options.clear()


class _Answer:
    """A FetchResult as built, and what it was built from: the transform, the options' shape, and, for
    a server that does not watch, the import (epoch) in which its dependencies were resolved and the
    stamps of what the built-in resolver read for them (None: some failed, or were resolved in ways
    not checked so, and the answer is built again in each import). Other plugins' answers are kept as
    they gave them (Environment.resolve)."""

    __slots__ = ("module", "shape", "result", "epoch", "checks", "keyed")

    def __init__(self, module: TransformedModule, shape: tuple[int, bool], result: FetchedModule, epoch: int,
                 checks: tuple[tuple[str, Stamp], ...] | None) -> None:
        self.module = module
        self.shape = shape
        self.result = result
        self.epoch = epoch
        self.checks = checks
        #: the result as runners' graph fetches send it, with code keys (Environment.kept_keyed)
        self.keyed: dict[bool, tuple[str | None, FetchedModule]] = {}

    def current(self, epoch: int, stamps: FileStamps) -> bool:
        if self.epoch == epoch:
            return True
        if self.checks is None or not stamps.unchanged(self.checks):
            return False
        self.epoch = epoch
        return True


def _reads_import_meta(code: str, meta: LinkMeta) -> bool:
    """Does the code read import.meta anywhere but at its gate (the await that ends its prologue, the
    last of `awaits`)? The runner makes none for a module that does not (module_runner.js: start). Yes
    wherever that cannot be told so simply (a prologue that is not ASCII: `awaits` counts UTF-16 units)."""
    found = code.count(IMPORT_META)
    if found != 1:
        return found > 1
    return not gate_at(code, meta.get("awaits"))


async def _subtle(operation: str, *args: Any) -> Any:
    """The `subtle` capability (capabilities/subtle.py), whose `cryptography` loads on first use: tens of
    milliseconds that a run without crypto.subtle need not pay."""
    from .capabilities.subtle import SubtleCrypto

    return await SubtleCrypto()(operation, *args)
