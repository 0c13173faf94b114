"""An environment's hot channel (Vite's `environment.hot`): sends HMR payloads to every runtime of
the environment that has HMR on, and to remote runners served over WebSocket; hears the custom
events they send back (`import.meta.hot.send`, `vite:invalidate`).

Payloads reach each runtime through the runtime's own contract (the `hmr` method, one invoke per
payload, answered when the runtime has applied it), queued per runtime so that they arrive in
order and never overlap a call in progress. Each applied payload yields a report, which
`subscribe` hands to the host: what was updated or reloaded, the errors, and when.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ModrunError
from ..rpc.protocol import HotPayload

if TYPE_CHECKING:
    from ..environment import Environment
    from ..rpc.client import RunnerClient
    from ..rpc.websocket import EnvironmentWebSocketServer
    from .report import HotReport

Listener = Callable[[Any, Any], Any]


class HotChannel:
    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self._tails: dict[RunnerClient, asyncio.Future[None]] = {}
        self._servers: set[EnvironmentWebSocketServer] = set()
        self._listeners: dict[str, list[Listener]] = {}
        self._subscribers: list[Callable[[HotReport], Any]] = []
        self._tasks: set[asyncio.Future[Any]] = set()

    # ---- who receives ----

    def add_client(self, client: RunnerClient) -> None:
        self._tails[client] = asyncio.get_running_loop().create_future()
        self._tails[client].set_result(None)
        client.on_custom_event = lambda event, data: self.receive(event, data, client)

    def remove_client(self, client: RunnerClient) -> None:
        self._tails.pop(client, None)

    def add_server(self, server: EnvironmentWebSocketServer) -> None:
        self._servers.add(server)

    def remove_server(self, server: EnvironmentWebSocketServer) -> None:
        self._servers.discard(server)

    @property
    def clients(self) -> list[RunnerClient]:
        return list(self._tails)

    # ---- sending ----

    def send(self, payload: HotPayload | str, data: Any = None) -> None:
        """Send a payload (`{"type": "update", ...}`) or a custom event (`send("my:event", data)`)
        to every runtime and remote runner; returns at once (see `flush`)."""
        message: HotPayload = {"type": "custom", "event": payload, "data": data} if isinstance(payload, str) \
            else payload
        sent_at = time.perf_counter()
        for client in list(self._tails):
            if client.dead:
                self._tails.pop(client, None)
                continue
            previous = self._tails[client]
            self._tails[client] = self._track(self._deliver(client, previous, message, sent_at))
        for server in list(self._servers):
            self._track(server.send(message))

    async def flush(self) -> None:
        """Wait until every payload sent so far has been applied (or has failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _track(self, awaitable: Any) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _deliver(self, client: RunnerClient, previous: asyncio.Future[None], payload: HotPayload,
                       sent_at: float) -> None:
        with contextlib.suppress(Exception):
            await previous
        from .report import HotReport  # loaded by the first hot update, not by every run (a dataclass costs a compile)

        report = HotReport(self.environment.name, payload, sent_at=sent_at)
        try:
            answer = await client.invoke("hmr", [payload])
            report.updated = list(answer.get("updated") or [])
            report.reloaded = list(answer.get("reloaded") or [])
            report.pruned = list(answer.get("pruned") or [])
            report.errors = list(answer.get("errors") or [])
            report.modules = int(answer.get("modules") or 0)
        except ModrunError as error:  # the runtime hit a limit or crashed while applying it
            report.errors = [error.to_payload()]
        finally:
            self.environment.server.transform_cache.flush()
        report.applied_at = time.perf_counter()
        for subscriber in list(self._subscribers):
            with contextlib.suppress(Exception):  # a subscriber's bug must not stop the updates
                result = subscriber(report)
                if inspect.isawaitable(result):
                    await result

    def subscribe(self, callback: Callable[[HotReport], Any]) -> Callable[[], None]:
        """Call `callback(report)` for each payload a runtime has applied; answers an unsubscribe."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    # ---- receiving ----

    def on(self, event: str, listener: Listener) -> None:
        """Listen to a custom event from runtimes and remote runners: `listener(data, client)`."""
        self._listeners.setdefault(event, []).append(listener)

    def off(self, event: str, listener: Listener) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._listeners[event].remove(listener)

    def receive(self, event: str, data: Any, client: Any) -> None:
        for listener in list(self._listeners.get(event, ())):
            try:
                result = listener(data, client)
                if inspect.isawaitable(result):
                    self._track(result)
            except Exception:  # a listener's bug must not break the runtime's call
                continue

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self._tails.clear()
        self._servers.clear()
