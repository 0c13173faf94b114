"""The synchronous facade: `SyncServer` runs a Server on an event loop of its own thread, for hosts
that do not run asyncio; every call blocks until done, and any thread may call.

    with SyncServer(root="app") as server:
        shop = server.environments["ssr"].import_module("/src/main.js")
        print(shop.default("/"))                # exported functions, and methods of exported objects
        print(shop.get("count"))                # an export's current value
        page = server.environments["ssr"].dispatch_fetch(DispatchRequest("https://shop.test/"))

It is the async API at parity: the same values, the same exceptions (JSError, LimitError…); what
is a coroutine there blocks here. A dispatched response comes back with its body read whole.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from .dispatch import DispatchRequest, DispatchResponse
from .environment import Environment
from .rpc.exports import JSFunction, ModuleProxy
from .server import Server

if TYPE_CHECKING:
    from .rpc.payloads import PendingTimer

T = TypeVar("T")
# Set for every operation the facade runs, so that the tasks it starts and the threads they hand work
# to (a binding's plain function runs in one) carry it: such code calling the facade would wait on itself.
_ON_LOOP: contextvars.ContextVar[bool] = contextvars.ContextVar("modrun_sync_on_loop", default=False)


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
        if _ON_LOOP.get():
            coroutine.close()
            raise RuntimeError("the synchronous facade was called from its own event loop (from a binding or "
                               "a callback the server runs): use the async API there")
        future: Future[T] = asyncio.run_coroutine_threadsafe(_on_loop(coroutine), self._loop)
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


async def _on_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    _ON_LOOP.set(True)
    return await coroutine


class SyncEnvironment:
    def __init__(self, owner: SyncServer, environment: Environment) -> None:
        self._owner = owner
        self.environment = environment

    @property
    def name(self) -> str:
        return self.environment.name

    def import_module(self, url: str, *, deadline: float | None = None) -> SyncModule:
        return SyncModule(self._owner, self._owner._run(self.environment.import_module(url, deadline=deadline)))

    def call(self, url: str, export: str, *args: Any, cpu_ms: float | None = None,
             wall_ms: float | None = None) -> Any:
        """Environment.call: an export called on a free runtime of the environment's pool."""
        return self._owner._run(self.environment.call(url, export, *args, cpu_ms=cpu_ms, wall_ms=wall_ms))

    def dispatch_fetch(self, request: DispatchRequest | str, *, entry: str | None = None,
                       cpu_ms: float | None = None, wall_ms: float | None = None) -> DispatchResponse:
        """Environment.dispatch_fetch, the response's body read whole (`response.body`)."""
        async def whole() -> DispatchResponse:
            response = await self.environment.dispatch_fetch(request, entry=entry, cpu_ms=cpu_ms, wall_ms=wall_ms)
            await response.read()
            return response

        return self._owner._run(whole())

    def prepare_dispatch(self, *, entry: str | None = None) -> None:
        self._owner._run(self.environment.prepare_dispatch(entry=entry))

    def settle(self) -> list[PendingTimer]:
        """Environment.settle: run the runtime's due work and list the timers still pending."""
        return self._owner._run(self.environment.settle())


class SyncModule:
    """A ModuleProxy whose functions (also methods of exported objects, at any depth) block instead of
    returning coroutines."""

    def __init__(self, owner: SyncServer, proxy: ModuleProxy) -> None:
        self._owner = owner
        self._proxy = proxy

    @property
    def exports(self) -> list[str]:
        return self._proxy.exports

    @property
    def url(self) -> str:
        return self._proxy.url

    def get(self, name: str) -> Any:
        """The export's current value (exports are live bindings; attributes are a snapshot)."""
        return self._wrap(self._owner._run(self._proxy.get(name)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._wrap(self._proxy[name] if name in self._proxy else getattr(self._proxy, name))

    def __getitem__(self, name: str) -> Any:
        return self._wrap(self._proxy[name])

    def __contains__(self, name: object) -> bool:
        return name in self._proxy

    def __dir__(self) -> list[str]:
        return [*self._proxy.exports, "exports", "url", "get"]

    def __repr__(self) -> str:
        return f"<SyncModule {self._proxy.url} exports={self._proxy.exports}>"

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, JSFunction):
            return SyncFunction(self._owner, value)
        if isinstance(value, dict):
            return {k: self._wrap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        return value


class SyncFunction:
    """A JSFunction that blocks until the call is done and returns its result."""

    def __init__(self, owner: SyncServer, function: JSFunction) -> None:
        self._owner = owner
        self.function = function
        self.__name__ = function.__name__

    def __call__(self, *args: Any, deadline: float | None = None, cpu_ms: float | None = None) -> Any:
        return self._owner._run(self.function(*args, deadline=deadline, cpu_ms=cpu_ms))

    def __repr__(self) -> str:
        return f"<SyncFunction {self.function!r}>"
