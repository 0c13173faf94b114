"""Fetch-handler dispatch: a Python-side request handed to a module's Workers-style handler,
`export default { fetch(request, env, ctx) }` (or a default-exported function), and its Response
back as a Python-side response, as Workers, Miniflare's and Vercel's `dispatchFetch` do.

    response = await environment.dispatch_fetch(DispatchRequest("https://app.test/users/1"))
    response.status, response.header("content-type"), await response.json()

The request body (bytes, text or an async iterator of bytes) crosses whole. The response body
crosses whole when the Response was made from bytes or text, and as a stream otherwise (a
ReadableStream body): `async for chunk in response` gets each chunk as the handler enqueues it.
A handler that throws (or returns something other than a Response) raises JSError with its
source-mapped stack, as Workers' dispatchFetch does; the ASGI adapter turns that into a 500.
`ctx.waitUntil(promise)` keeps the runtime at work after the response until the promise settles
(bounded by the environment's limits); rejections are printed to the environment's console as
errors and listed by `response.wait_until()`. `ctx.passThroughOnException()` does nothing: there is
no origin to pass the request to.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from .errors import ModrunError, UsageError, error_from_payload

if TYPE_CHECKING:
    from .rpc.client import RunnerClient

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
RequestBody = bytes | bytearray | memoryview | str | AsyncIterable[bytes] | None

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE = re.compile(r"[\0\r\n]")
NO_BODY_METHODS = ("GET", "HEAD")
_request_ids = itertools.count(1)


@dataclass
class DispatchRequest:
    """A request for a fetch handler. `url` is absolute (the handler's `new URL(request.url)`)."""

    url: str
    method: str = "GET"
    headers: Headers = ()
    body: RequestBody = None

    def header_list(self) -> list[tuple[str, str]]:
        """The headers as (lowercase name, value) pairs, checked as the Fetch standard checks them."""
        pairs = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
        out = []
        for name, value in pairs:
            if not _TOKEN.match(name):
                raise UsageError(f"dispatch_fetch: {name!r} is not a valid header name")
            value = str(value).strip(" \t")
            if _BAD_VALUE.search(value):
                raise UsageError(f"dispatch_fetch: the value of header {name!r} holds a NUL, CR or LF")
            out.append((name.lower(), value))
        return out

    async def read_body(self) -> bytes | None:
        body = self.body
        if body is None:
            return None
        if self.method.upper() in NO_BODY_METHODS:
            raise UsageError(f"dispatch_fetch: a {self.method.upper()} request cannot have a body")
        if isinstance(body, str):
            return body.encode()
        if isinstance(body, bytes | bytearray | memoryview):
            return bytes(body)
        chunks = [bytes(chunk) async for chunk in body]
        return b"".join(chunks)


class DispatchResponse:
    """The handler's Response. `body` holds its bytes when they crossed whole; a streamed body is
    read by iterating (`async for chunk in response`) or whole with `read()`, once."""

    def __init__(self, status: int, status_text: str, headers: list[tuple[str, str]], body: bytes | None,
                 chunks: AsyncIterator[bytes] | None = None, waits: asyncio.Task[list[ModrunError]] | None = None):
        self.status = status
        self.status_text = status_text
        #: (lowercase name, value) pairs in order; repeated names (Set-Cookie) stay apart
        self.headers = headers
        self.body = body
        self._chunks = chunks
        self._waits = waits

    @property
    def streamed(self) -> bool:
        """Whether the body is (or was) a stream still to be read."""
        return self._chunks is not None

    def header(self, name: str) -> str | None:
        """A header's values joined as Headers.get joins them (Set-Cookie: use `header_all`)."""
        values = self.header_all(name)
        return ", ".join(values) if values else None

    def header_all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks if self._chunks is not None else _whole(self.body)

    async def read(self) -> bytes:
        """The whole body (a stream is read to its end and kept in `body`)."""
        if self._chunks is not None and self.body is None:
            self.body = b"".join([chunk async for chunk in self._chunks])
        return self.body or b""

    async def text(self) -> str:
        return (await self.read()).decode("utf-8", errors="replace")

    async def json(self) -> Any:
        return orjson.loads(await self.read())

    async def aclose(self) -> None:
        """Stop reading a streamed body: the handler's stream is cancelled."""
        if self._chunks is not None and hasattr(self._chunks, "aclose"):
            await self._chunks.aclose()

    async def wait_until(self) -> list[ModrunError]:
        """Wait for the promises the handler gave `ctx.waitUntil` and return their rejections."""
        return await self._waits if self._waits is not None else []

    def __repr__(self) -> str:
        size = "streamed" if self.streamed else f"{len(self.body or b'')} bytes"
        return f"<DispatchResponse {self.status} {size}>"


async def dispatch(runner: RunnerClient, url: str, request: DispatchRequest, *, deadline: float | None,
                   cpu_ms: float | None, waits: set[asyncio.Task[list[ModrunError]]]) -> DispatchResponse:
    """Call the handler of module `url` (already imported in `runner`) with `request`; `deadline` and
    `cpu_ms` bound the handler and each read of a streamed body. `waits` holds the tasks settling
    `ctx.waitUntil` promises (the environment awaits them before it closes)."""
    body = await request.read_body()
    request_id = next(_request_ids)
    payload = {"id": request_id, "url": request.url, "method": request.method.upper(),
               "headers": request.header_list(), "body": base64.b64encode(body).decode() if body is not None else None}
    try:
        head = await runner.invoke("dispatchFetch", [url, payload], deadline=deadline, cpu_ms=cpu_ms)
    except ModrunError:
        if not runner.dead:  # promises given to waitUntil before the handler threw still run
            _settle_waits(runner, request_id, waits)
        raise
    task = _settle_waits(runner, request_id, waits) if head["waiting"] else None
    headers = [(str(name), str(value)) for name, value in head["headers"]]
    stream = head.get("stream")
    chunks = _read_stream(runner, int(stream), deadline, cpu_ms) if stream is not None else None
    whole = base64.b64decode(head["body"]) if head.get("body") is not None else None
    return DispatchResponse(int(head["status"]), str(head["statusText"]), headers,
                            whole if stream is None else None, chunks, task)


async def _whole(body: bytes | None) -> AsyncIterator[bytes]:
    if body:
        yield body


async def _read_stream(runner: RunnerClient, stream: int, deadline: float | None,
                       cpu_ms: float | None) -> AsyncIterator[bytes]:
    done = False
    try:
        while True:
            answer = await runner.invoke("readBody", [stream], deadline=deadline, cpu_ms=cpu_ms)
            if answer.get("done"):
                done = True
                return
            yield base64.b64decode(answer["chunk"])
    except ModrunError:
        done = True  # the stream failed (or the runtime stopped): nothing to cancel
        raise
    finally:
        if not done and not runner.dead:
            await runner.invoke("cancelBody", [stream])


def _settle_waits(runner: RunnerClient, request_id: int,
                  waits: set[asyncio.Task[list[ModrunError]]]) -> asyncio.Task[list[ModrunError]]:
    async def settle() -> list[ModrunError]:
        try:
            payloads = await runner.invoke("settleWaits", [request_id])
            errors = [error_from_payload(payload) for payload in payloads]
        except ModrunError as stopped:  # a limit hit while settling: the runtime is gone, the error kept
            errors = [stopped]
        for each in errors:
            runner.on_console("error", f"ctx.waitUntil: {each.stack or each}")
        return errors

    task = asyncio.ensure_future(settle())
    waits.add(task)
    task.add_done_callback(waits.discard)
    return task
