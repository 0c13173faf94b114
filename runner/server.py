"""The server: the config, the plugin list, the environments, the transform cache.

    async with Server(root="app", environments={"ssr": {"limits": {"cpu_ms": 50}}}) as server:
        mod = await server.environments["ssr"].import_module("/src/entry.js")
        html = await mod.render("/")

`SyncServer` is the same for hosts that do not run asyncio.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from .config import MODES, EnvironmentConfig
from .environment import Environment
from .errors import UsageError
from .plugins import VirtualModules
from .rpc.client import ConsoleSink
from .rpc.exports import JSFunction, ModuleProxy
from .transform_cache import TransformCache, default_cache_dir

T = TypeVar("T")
DEFAULT_ENVIRONMENT = "ssr"


class Server:
    def __init__(self, root: str | Path = ".", environments: dict[str, Any] | None = None, *,
                 plugins: Iterable[Any] = (), mode: str = "production",
                 virtual_modules: dict[str, Any] | None = None, cache_dir: str | Path | None | bool = None,
                 on_console: ConsoleSink | None = None) -> None:
        root_path = Path(root).resolve()
        if not root_path.is_dir():
            raise UsageError(f"root {root_path} is not a directory")
        if mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.root = root_path
        self.mode = mode
        self.on_console = on_console
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

    async def close(self) -> None:
        for environment in self.environments.values():
            await environment.close()
        self.transform_cache.close()


class SyncServer:
    """The Server for synchronous hosts: an event loop on a private thread (with a large stack,
    since the in-process engine recurses on it) runs everything; calls block until done."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            ready.set()
            self._loop.run_forever()

        previous = threading.stack_size()
        threading.stack_size(64 * 1024 * 1024)
        try:
            self._thread = threading.Thread(target=run, name="modrun-loop", daemon=True)
            self._thread.start()
        finally:
            threading.stack_size(previous)
        ready.wait()
        self._server = self._run(self._make(args, kwargs))
        self.environments = {name: SyncEnvironment(self, env) for name, env in self._server.environments.items()}

    async def _make(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Server:
        return Server(*args, **kwargs)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result()

    def close(self) -> None:
        if self._loop.is_running():
            self._run(self._server.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> SyncServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SyncEnvironment:
    def __init__(self, owner: SyncServer, environment: Environment) -> None:
        self._owner = owner
        self.environment = environment

    def import_module(self, url: str) -> SyncModule:
        return SyncModule(self._owner, self._owner._run(self.environment.import_module(url)))


class SyncModule:
    """A ModuleProxy whose functions block instead of returning coroutines."""

    def __init__(self, owner: SyncServer, proxy: ModuleProxy) -> None:
        self._owner = owner
        self._proxy = proxy

    @property
    def exports(self) -> list[str]:
        return self._proxy.exports

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._wrap(getattr(self._proxy, name))

    def __getitem__(self, name: str) -> Any:
        return self._wrap(self._proxy[name])

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, JSFunction):
            fn = value
            return lambda *args: self._owner._run(fn(*args))
        if isinstance(value, dict):
            return {k: self._wrap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        return value
