"""An ASGI 3 application serving a module's Workers-style fetch handler, so that a hono (or any
`export default { fetch }`) app runs inside uvicorn, Starlette or FastAPI, alone or mounted.

    app = ModrunASGI(root="site", environment="app", entry="/src/app.js",
                     environments={"app": {"profile": "edge", "pool": 2}})
    # uvicorn module:app    — or Starlette(routes=[Mount("/edge", app=app)]), FastAPI().mount(...)

Given `server=` (a Server the host owns and closes) it serves that server's environment; given
Server options it makes its own Server at the ASGI lifespan startup (or at the first request: a
mounted sub-app gets no lifespan events) and closes it at shutdown. Each request becomes a
DispatchRequest (runner/dispatch.py): the URL is the one the client asked for, less the mount
point (ASGI's `root_path`), so the app routes as if it were served at `/`; the body streams in from
the ASGI server, and a streamed Response body is sent chunk by chunk as the handler produces it
(reading stops when the client disconnects, and the handler's stream is cancelled). A handler that
throws, or a runtime that hits a limit, is a 500 whose JS error (with its source-mapped stack) is
logged on the `modrun.asgi` logger; the next request gets a fresh runtime. asyncio only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from .dispatch import NO_BODY_METHODS, DispatchRequest, DispatchResponse
from .environment import Environment
from .errors import ModrunError
from .server import Server

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("modrun.asgi")


class ClientDisconnected(Exception):
    """The client went away while its request body was still arriving."""


class ModrunASGI:
    def __init__(self, server: Server | None = None, *, environment: str = "app", entry: str | None = None,
                 **server_options: Any) -> None:
        if server is not None and server_options:
            raise TypeError("ModrunASGI: give either a server or the options to make one, not both")
        self._server = server
        self._owned = server is None
        self._options = server_options
        self._environment_name = environment
        self._entry = entry
        self._starting: asyncio.Task[Environment] | None = None

    @property
    def environment(self) -> Environment | None:
        """The environment served, once started."""
        if self._starting is None or not self._starting.done() or self._starting.exception():
            return None
        return self._starting.result()

    async def startup(self) -> Environment:
        """Make the server (when this adapter owns it) and boot the runtime with the entry imported.
        Concurrent callers share one start."""
        if self._starting is None or (self._starting.done() and self._starting.exception()):
            self._starting = asyncio.ensure_future(self._start())
        return await asyncio.shield(self._starting)

    async def _start(self) -> Environment:
        if self._server is None:
            self._server = Server(**self._options)
        environments = self._server.environments
        if self._environment_name not in environments:
            raise KeyError(f"ModrunASGI: no environment named {self._environment_name!r} "
                           f"(environments: {', '.join(environments) or 'none'})")
        environment = environments[self._environment_name]
        await environment.prepare_dispatch(entry=self._entry)
        return environment

    async def shutdown(self) -> None:
        if self._owned and self._server is not None:
            await self._server.close()
            self._server = None
        self._starting = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await receive()  # websocket.connect: refused (fetch handlers answer HTTP only)
            await send({"type": "websocket.close", "code": 1003})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as error:  # reported to the ASGI server, which refuses to start
                    await send({"type": "lifespan.startup.failed", "message": f"{type(error).__name__}: {error}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = str(scope["method"]).upper()
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        request = DispatchRequest(url=request_url(scope, headers), method=method, headers=headers,
                                  body=None if method in NO_BODY_METHODS else _body(receive))
        try:
            environment = await self.startup()
            response = await environment.dispatch_fetch(request, entry=self._entry)
        except ClientDisconnected:
            return
        except ModrunError as error:
            log.error("%s %s: %s", method, request.url, error.stack or error)
            await _send_error(send)
            return
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers]})
        if method == "HEAD":
            await response.aclose()
            await send({"type": "http.response.body", "body": b""})
        elif not response.streamed:
            await send({"type": "http.response.body", "body": response.body or b""})
        else:
            await _stream(response, receive, send, f"{method} {request.url}")


def request_url(scope: Scope, headers: list[tuple[str, str]]) -> str:
    """The URL the client asked for, less the mount point (`root_path`)."""
    host = next((value for name, value in headers if name.lower() == "host"), None)
    if host is None:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else "localhost"
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(str(scope["path"]))
    root = quote(str(scope.get("root_path") or ""))
    if root and path.startswith(root):
        path = path[len(root):]
    if not path.startswith("/"):
        path = "/" + path
    query = scope.get("query_string") or b""
    return f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{query.decode('latin-1')}" if query else "")


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        yield bytes(message.get("body", b""))
        if not message.get("more_body"):
            return


async def _stream(response: DispatchResponse, receive: Receive, send: Send, what: str) -> None:
    disconnected = asyncio.ensure_future(_disconnect(receive))
    try:
        async for chunk in response:
            if disconnected.done():
                return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    except ModrunError as error:  # the head is sent: all that is left is to end the response early
        log.error("%s: the response body failed: %s", what, error.stack or error)
        await send({"type": "http.response.body", "body": b""})
    finally:
        disconnected.cancel()
        await response.aclose()


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass  # what is left of a request body nobody read


async def _send_error(send: Send) -> None:
    body = b"Internal Server Error"
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
