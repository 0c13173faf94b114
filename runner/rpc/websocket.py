"""An environment served over WebSocket with Vite's protocol, so that remote module runners — a
real Vite `ModuleRunner` in Node with `createWebSocketModuleRunnerTransport`, for one — import
modules from a modrun environment.

    async with serve_environment(server.environments["ssr"]) as endpoint:
        print(endpoint.url)   # ws://127.0.0.1:PORT/?token=...

The wire is Vite's: JSON text messages; `{type: "custom", event: "vite:invoke", data: {name,
id: "send:<id>", data: [args]}}` requests answered with `id: "response:<id>"` and `data: {result}`
or `data: {error: {name, message, stack, ...}}`; `{type: "connected"}` on connect; HMR payloads
(`update`, `full-reload`, `prune`, `error`, `custom`) pushed with `send()`; custom events from
clients delivered to `on()` listeners; JSON `{type: "ping"}` keep-alives ignored (WebSocket-level
pings are answered by the library, and sent every `ping_interval` seconds).

Safety: it listens on loopback only, and every connection must present the token in the query
string (`?token=`), compared in constant time; anything else gets HTTP 403 before the upgrade.
Requests are answered concurrently, at most `max_in_flight` per connection (the rest wait: a
client cannot make the server hold unbounded work).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import ipaddress
import secrets
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from websockets.asyncio.server import Server as WsServer
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from ..errors import UsageError
from . import wire
from .protocol import INVOKE_EVENT, Handler, answer_invoke, request_of

if TYPE_CHECKING:
    from ..environment import Environment

Listener = Callable[[Any, "RemoteClient"], Any]

SUBPROTOCOLS = ("vite-hmr", "vite-ping")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RemoteClient:
    """One connected runner; `send(event, data)` or `send(payload)` talks to it alone."""

    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection
        #: module id -> the HMR version of it this runner was sent (see Environment.fetch_module)
        self.served: dict[str, int] = {}

    async def send(self, payload: dict[str, Any] | str, data: Any = None) -> None:
        message = {"type": "custom", "event": payload, "data": data} if isinstance(payload, str) else payload
        await self.connection.send(wire.dumps(message))


class EnvironmentWebSocketServer:
    """Vite's WebSocket transport, server side, in front of one environment's invoke handlers."""

    def __init__(self, environment: Environment | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, handlers: dict[str, Handler] | None = None,
                 builtins: list[str] | None = None, ping_interval: float | None = 30.0,
                 max_in_flight: int = 64, max_message_bytes: int = 4 * 1024 * 1024) -> None:
        if not _is_loopback(host):
            raise UsageError(f"the WebSocket server listens on loopback only, not {host!r}")
        if environment is None and handlers is None:
            raise UsageError("give an environment or handlers to serve")
        self.environment = environment
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(18)
        self.handlers: dict[str, Handler] = dict(environment.invoke_handlers() if environment is not None else {})
        if environment is not None:
            self.handlers["fetchModule"] = self._fetch_module
        # Vite's runner asks which specifiers the runtime loads by itself; a sandbox loads none.
        builtin_list = list(builtins or [])
        self.handlers.setdefault("getBuiltins", lambda: builtin_list)
        self.handlers.update(handlers or {})
        self.ping_interval = ping_interval
        self.max_in_flight = max_in_flight
        self.max_message_bytes = max_message_bytes
        self.clients: set[RemoteClient] = set()
        self._listeners: dict[str, list[Listener]] = {}
        self._server: WsServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def _fetch_module(self, url: str, importer: str | None = None, options: Any = None,
                            served: dict[str, int] | None = None) -> Any:
        """The environment's fetchModule, but a CommonJS module is handed to the remote runner's own
        runtime (Vite's `externalize`): Vite's runner evaluates only ES modules, and the Node it
        runs in loads CommonJS itself."""
        assert self.environment is not None
        result = await self.environment.fetch_module(url, importer, options, served=served)
        meta = result.get("modrun")
        file = result.get("file")
        if isinstance(meta, dict) and meta.get("format") == "commonjs" and isinstance(file, str):
            return {"externalize": "file://" + quote(file), "type": "commonjs"}
        return result

    @property
    def url(self) -> str:
        """The address to give a runner, token included."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/?token={self.token}"

    async def start(self) -> EnvironmentWebSocketServer:
        if self.environment is not None:
            self.environment.hot.add_server(self)  # the environment's HMR payloads reach these runners
        self._server = await serve(
            self._connection, self.host, self.port, process_request=self._check_request,
            select_subprotocol=self._select_subprotocol,
            ping_interval=self.ping_interval, max_size=self.max_message_bytes)
        self.port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self.port
        return self

    async def close(self) -> None:
        if self.environment is not None:
            self.environment.hot.remove_server(self)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()

    async def __aenter__(self) -> EnvironmentWebSocketServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- the HMR payload channel ----

    async def send(self, payload: dict[str, Any] | str, data: Any = None) -> None:
        """Send an HMR payload (`{"type": "full-reload"}`, `{"type": "update", "updates": [...]}`…)
        or a custom event (`send("my:event", data)`) to every connected runner."""
        message = {"type": "custom", "event": payload, "data": data} if isinstance(payload, str) else payload
        text = wire.dumps(message)
        for client in list(self.clients):
            with contextlib.suppress(ConnectionClosed):
                await client.connection.send(text)

    def on(self, event: str, listener: Listener) -> None:
        """Listen to a custom event from runners (`import.meta.hot.send(event, data)`); also
        `vite:client:connect` and `vite:client:disconnect`."""
        self._listeners.setdefault(event, []).append(listener)

    def off(self, event: str, listener: Listener) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._listeners[event].remove(listener)

    # ---- connections ----

    @staticmethod
    def _select_subprotocol(connection: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
        """Vite's `vite-hmr` (or the `vite-ping` probe) when offered; a plain connection is fine too."""
        return next((protocol for protocol in offered if protocol in SUBPROTOCOLS), None)

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        remote = connection.remote_address
        if remote is not None and not _is_loopback(str(remote[0])):
            return connection.respond(HTTPStatus.FORBIDDEN, "loopback clients only\n")
        offered = request.headers.get("Sec-WebSocket-Protocol")
        if offered and offered.strip() == "vite-ping":
            return None  # Vite's "is the server up?" probe: accepted, then closed at once
        token = parse_qs(urlsplit(request.path).query).get("token", [""])[0]
        if not token or not hmac.compare_digest(token.encode(), self.token.encode()):
            return connection.respond(HTTPStatus.FORBIDDEN, "a valid token is required (?token=...)\n")
        return None

    async def _connection(self, connection: ServerConnection) -> None:
        if connection.subprotocol == "vite-ping":
            await connection.close(1000)
            return
        client = RemoteClient(connection)
        self.clients.add(client)
        slots = asyncio.Semaphore(self.max_in_flight)
        try:
            await connection.send('{"type":"connected"}')
            await self._emit("vite:client:connect", None, client)
            async for raw in connection:
                try:
                    message = wire.loads(raw)
                except ValueError:
                    continue  # as Vite does: what is not JSON is not a message
                if not isinstance(message, dict) or message.get("type") != "custom":
                    continue  # `{"type": "ping"}` keep-alives and anything unknown
                request = request_of(message)
                if request is not None:
                    await slots.acquire()
                    task = asyncio.ensure_future(self._invoke(client, request))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                    task.add_done_callback(lambda _: slots.release())
                elif isinstance(message.get("event"), str) and message["event"] != INVOKE_EVENT:
                    await self._emit(message["event"], message.get("data"), client)
                    if self.environment is not None:
                        self.environment.hot.receive(message["event"], message.get("data"), client)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            await self._emit("vite:client:disconnect", None, client)

    async def _emit(self, event: str, data: Any, client: RemoteClient) -> None:
        for listener in list(self._listeners.get(event, ())):
            try:
                result = listener(data, client)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # a listener's bug must not drop the connection
                continue

    async def _invoke(self, client: RemoteClient, request: dict[str, Any]) -> None:
        handlers = self.handlers
        if request.get("name") == "fetchModule" and handlers.get("fetchModule") == self._fetch_module:
            # Vite's runner asks with `cached`: the answer depends on what this runner was sent.
            handlers = {**handlers, "fetchModule": lambda url, importer=None, options=None:
                        self._fetch_module(url, importer, options, served=client.served)}
        response = await answer_invoke(handlers, request)
        with contextlib.suppress(ConnectionClosed):
            await client.connection.send(wire.dumps(response))


def serve_environment(environment: Environment, *, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                      **options: Any) -> EnvironmentWebSocketServer:
    """Serve `environment` to remote module runners over WebSocket (Vite's protocol). Use as
    `async with serve_environment(env) as endpoint:`; `endpoint.url` carries the token."""
    return EnvironmentWebSocketServer(environment, host=host, port=port, token=token, **options)
