"""The ASGI adapter (runner/asgi.py) with a real uvicorn on loopback and a real HTTP client (httpx):
a hono app (the npm package) answering a JSON route, a streamed body whose first chunk reaches the
client before the handler has produced the rest, a 404, a POST body, headers both ways; the same
app mounted under Starlette (root_path); a handler that throws is a 500 and the server lives on."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from runner import ModrunASGI
from tests.npm_cache import install

httpx = pytest.importorskip("httpx", reason="httpx (the test extra) is needed for the ASGI tests")
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn (the test extra) is needed for the ASGI tests")
starlette = pytest.importorskip("starlette", reason="starlette (the test extra) is needed for the ASGI tests")
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Mount, Route  # noqa: E402

APP = """\
import { Hono } from "hono";
import { stream } from "hono/streaming";
import env from "modrun:env";

const app = new Hono();
app.get("/json", (c) => c.json({ framework: "hono", path: c.req.path, query: c.req.query("q") }));
app.post("/echo", async (c) => {
  const body = await c.req.text();
  c.header("x-length", String(body.length));
  c.header("set-cookie", "a=1");
  c.header("set-cookie", "b=2", { append: true });
  return c.json({ body, type: c.req.header("content-type"), custom: c.req.header("x-custom") });
});
app.get("/stream", (c) => stream(c, async (out) => {
  await out.write("first;");
  await out.write(await env.gate());
}));
app.get("/throw", () => { throw new Error("the route failed"); });
app.onError((error) => { throw error; });  // to the adapter, which answers 500
export default app;
"""


@pytest.fixture(scope="module")
def root() -> Path:
    installed = install("hono")
    shutil.rmtree(installed / "asgi_app", ignore_errors=True)
    (installed / "asgi_app").mkdir()
    (installed / "asgi_app" / "app.js").write_text(APP)
    return installed


class Gate:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def wait(self) -> str:
        await self.event.wait()
        return "second;"


def adapter(root: Path, gate: Gate) -> ModrunASGI:
    return ModrunASGI(root=root, cache_dir=False, environment="app", entry="/asgi_app/app.js",
                      on_console=lambda level, text: None,
                      environments={"app": {"profile": "edge", "bindings": {"gate": gate.wait}}})


async def serving(app: Any, check: Callable[[str], Awaitable[None]]) -> None:
    """Serve `app` with uvicorn on a loopback port of its own and run `check(base_url)`."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), "uvicorn stopped before it started"
            await asyncio.sleep(0.01)
        await check(f"http://127.0.0.1:{sock.getsockname()[1]}")
    finally:
        server.should_exit = True
        await task
        sock.close()


async def routes(base: str, gate: Gate) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        answer = await client.get("/json", params={"q": "x y"})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json() == {"framework": "hono", "path": "/json", "query": "x y"}

        missing = await client.get("/nowhere")
        assert (missing.status_code, missing.text) == (404, "404 Not Found")

        posted = await client.post("/echo", content=b"a" * 100_000, headers={"content-type": "text/plain",
                                                                           "x-custom": "from the client"})
        assert posted.status_code == 200
        assert posted.json() == {"body": "a" * 100_000, "type": "text/plain", "custom": "from the client"}
        assert posted.headers["x-length"] == "100000"
        assert posted.headers.get_list("set-cookie") == ["a=1", "b=2"]

        async with client.stream("GET", "/stream") as streamed:
            assert streamed.status_code == 200
            chunks = streamed.aiter_raw()
            assert await anext(chunks) == b"first;"  # before the handler could write the rest
            gate.event.set()
            assert b"".join([chunk async for chunk in chunks]) == b"second;"
        gate.event.clear()

        failed = await client.get("/throw")
        assert (failed.status_code, failed.text) == (500, "Internal Server Error")
        assert (await client.get("/json")).status_code == 200


def test_a_hono_app_served_by_uvicorn(root: Path, caplog: pytest.LogCaptureFixture) -> None:
    gate = Gate()
    app = adapter(root, gate)

    async def check(base: str) -> None:
        assert app.environment is not None  # the lifespan startup booted it
        await routes(base, gate)

    with caplog.at_level(logging.ERROR, logger="modrun.asgi"):
        asyncio.run(serving(app, check))
    assert app.environment is None  # the lifespan shutdown closed the server it made
    logged = [record.getMessage() for record in caplog.records if record.name == "modrun.asgi"]
    assert len(logged) == 1 and "GET http://127.0.0.1:" in logged[0] and "the route failed" in logged[0]
    assert "asgi_app/app.js:" in logged[0]  # the JS stack, source-mapped


def test_mounted_under_starlette(root: Path) -> None:
    gate = Gate()
    edge = adapter(root, gate)

    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("python home")

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        await edge.shutdown()  # a mounted app gets no lifespan events of its own

    site = Starlette(lifespan=lifespan, routes=[Route("/", home), Mount("/edge", app=edge)])

    async def check(base: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            assert (await client.get("/")).text == "python home"
            answer = await client.get("/edge/json")
            assert answer.json() == {"framework": "hono", "path": "/json"}  # no query: undefined, left out
        await routes(base + "/edge", gate)

    asyncio.run(serving(site, check))
    assert edge.environment is None
