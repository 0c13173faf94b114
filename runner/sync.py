"""The synchronous facade: `SyncServer` runs a Server on an event loop of its own thread, for hosts
that do not run asyncio; every call blocks until done.

    with SyncServer(root="app") as server:
        shop = server.environments["ssr"].import_module("/src/main.js")
        print(shop.default("/"))
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from .environment import Environment
from .rpc.exports import JSFunction, ModuleProxy
from .rpc.protocol import PendingTimer
from .server import Server

T = TypeVar("T")


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

    def settle(self) -> list[PendingTimer]:
        """Environment.settle: run the runtime's due work and list the timers still pending."""
        return self._owner._run(self.environment.settle())


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
