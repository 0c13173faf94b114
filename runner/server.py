"""The server: the config, the plugin list, the environments, the transform cache.

    async with Server(root="app", environments={"ssr": {"limits": {"cpu_ms": 50}}}) as server:
        mod = await server.environments["ssr"].import_module("/src/entry.js")
        html = await mod.render("/")

`fetch` is what the runtimes' `fetch()` may do (a handler, or `{"allow": [origins], "handler": …}`),
for environments that do not say; by default it is denied.

`SyncServer` (sync.py) is the same for hosts that do not run asyncio.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .capabilities import FetchPolicy
from .config import MODES, EnvironmentConfig, check_alias, check_define, default_cache_dir
from .environment import Environment
from .errors import UsageError
from .plugins import VirtualModules
from .plugins.tsconfig import TsconfigReader
from .plugins.typescript_jsx import jsx_config
from .rpc.client import ConsoleSink
from .transform_cache import TransformCache
from .transform_worker import TransformWorker

if TYPE_CHECKING:
    from .hmr.hot_update import HotUpdateResult
    from .hmr.watcher import FileChange, FileWatcher

DEFAULT_ENVIRONMENT = "ssr"


class Server:
    def __init__(self, root: str | Path = ".", environments: dict[str, Any] | None = None, *,
                 plugins: Iterable[Any] = (), mode: str = "production",
                 virtual_modules: dict[str, Any] | None = None, cache_dir: str | Path | None | bool = None,
                 on_console: ConsoleSink | None = None, jsx: dict[str, Any] | None = None,
                 define: dict[str, Any] | None = None, alias: dict[str, str] | None = None,
                 fetch: Any = None, hmr: bool = False) -> None:
        root_path = Path(root).resolve()
        if not root_path.is_dir():
            raise UsageError(f"root {root_path} is not a directory")
        if mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.root = root_path
        self.mode = mode
        #: constants replaced in every environment's modules (each environment may add its own)
        self.define = check_define(define, "server")
        #: specifiers replaced in every environment (each environment may add its own)
        self.alias = check_alias(alias, "server")
        #: runtimes get import.meta.hot and take HMR payloads (`modrun dev`); off, it is undefined
        self.hmr = hmr
        self.watcher: FileWatcher | None = None
        self._hot_listeners: list[Callable[[list[HotUpdateResult]], Any]] = []
        self.on_console = on_console
        # How .jsx and .tsx files are lowered (see runner/plugins/typescript_jsx.py), over tsconfig.json.
        self.jsx = jsx_config(jsx)
        self.tsconfig = TsconfigReader(root_path)
        #: what runtimes' `fetch` does where an environment does not say (runner/capabilities/fetch.py):
        #: denied unless a handler serves it or its origin is allowed
        self.fetch = FetchPolicy.from_config(fetch, "server")
        self.plugins: list[Any] = list(plugins)
        if virtual_modules:
            self.plugins.insert(0, VirtualModules(virtual_modules))
        if cache_dir is False:
            directory = None
        elif cache_dir is None or cache_dir is True:
            directory = default_cache_dir(root_path)
        else:
            directory = Path(cache_dir)
        self.transform_cache = TransformCache(directory)
        self.transform_worker = TransformWorker()  # forked on the first cold graph big enough
        configs = environments if environments is not None else {DEFAULT_ENVIRONMENT: {}}
        if not isinstance(configs, dict) or not configs:
            raise UsageError("environments must be a non-empty mapping of name to config")
        self.environments: dict[str, Environment] = {
            name: Environment(name, EnvironmentConfig.from_config(name, config), self)
            for name, config in configs.items()
        }

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- HMR ----

    async def watch(self, *, debounce_ms: int = 200, step_ms: int | None = None) -> FileWatcher:
        """Watch the root and hand each change to every environment's `hot_update` pass. A burst of
        events ends after `step_ms` of quiet (at most `debounce_ms`; by default as soon as the
        events at hand are read with inotify, after 1 ms of quiet with watchfiles)."""
        if self.watcher is None:
            from .hmr.watcher import FileWatcher  # watchfiles and inotify: only for a server that watches

            ignore = [self.transform_cache.directory] if self.transform_cache.directory else []
            self.watcher = FileWatcher(self.root, self.handle_file_changes, known=self._known_file, ignore=ignore,
                                       debounce_ms=debounce_ms, step_ms=step_ms)
            await self.watcher.start()
        return self.watcher

    def on_hot_update(self, listener: Callable[[list[HotUpdateResult]], Any]) -> None:
        """Call `listener(results)` after each burst of changes: what each environment decided."""
        self._hot_listeners.append(listener)

    def _known_file(self, file: str) -> bool:
        return any(env.module_graph.get_modules_by_file(file) for env in self.environments.values())

    async def handle_file_changes(self, changes: list[FileChange]) -> list[HotUpdateResult]:
        """Run every environment's hot_update pass for each changed file (what the watcher calls)."""
        from .hmr.hot_update import hot_update
        from .hmr.watcher import settle

        timestamp = int(time.time() * 1000)
        results = []
        for change, file in changes:
            if change == "update":
                await settle(file)
            for environment in self.environments.values():
                try:
                    results.append(await hot_update(environment, file, change, timestamp))
                except Exception as error:  # a bug of ours must not stop the watcher
                    from .rpc.protocol import error_payload

                    environment.hot.send({"type": "error", "err": error_payload(error)})
        for listener in list(self._hot_listeners):
            listener(results)
        return results

    async def close(self) -> None:
        if self.watcher is not None:
            await self.watcher.close()
            self.watcher = None
        for environment in self.environments.values():
            await environment.close()
        self.transform_worker.close()
        self.transform_cache.close()
