"""Fetch-handler dispatch (runner/dispatch.py) in every evaluator: a Workers-style handler answering
Python-side requests — bodies both ways, headers both ways (repeated Set-Cookie kept apart), a
streamed body whose chunks reach the host before the handler has finished it, ctx.waitUntil, the
errors a handler can make, and a runtime that hits a limit replaced for the next request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from runner import DispatchRequest, JSError, LimitError, Server, UsageError

EVALUATORS = ("inprocess", "wasm", "process")

APP = """\
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/echo": {
        const headers = new Headers({ "content-type": "application/json", "x-answer": "42" });
        headers.append("set-cookie", "a=1; Path=/");
        headers.append("set-cookie", "b=2; Path=/");
        const body = new Uint8Array(await request.arrayBuffer());
        return new Response(JSON.stringify({
          method: request.method, url: request.url, cookie: request.headers.get("cookie"),
          agent: request.headers.get("user-agent"), bytes: Array.from(body), greeting: env.greeting,
        }), { status: 201, statusText: "Made", headers });
      }
      case "/stream": {
        let step = 0;
        return new Response(new ReadableStream({
          async pull(controller) {
            step += 1;
            if (step === 1) controller.enqueue(new TextEncoder().encode("first;"));
            else if (step === 2) controller.enqueue(new TextEncoder().encode(await env.gate()));
            else controller.close();
          },
          async cancel(reason) { await env.note("cancelled: " + String(reason && reason.message)); },
        }), { headers: { "content-type": "text/plain" } });
      }
      case "/wait":
        ctx.waitUntil(env.note("after the response"));
        ctx.waitUntil(new Promise((resolve, reject) => setTimeout(() => reject(new RangeError("late")), 1)));
        ctx.passThroughOnException();
        return new Response("answered");
      case "/throw":
        ctx.waitUntil(env.note("before the throw"));
        throw new Error("the handler failed");
      case "/not-a-response":
        return { status: 200 };
      case "/spin":
        for (;;) {}
      case "/bad-chunk":
        return new Response(new ReadableStream({ start(c) { c.enqueue("text, not bytes"); c.close(); } }));
      case "/empty":
        return new Response(null, { status: 204 });
    }
    return new Response("not found: " + url.pathname, { status: 404 });
  },
};
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.js").write_text(APP)
    (tmp_path / "src" / "plain.js").write_text(
        'export default (request, env) => new Response(`plain ${request.method} ${Object.keys(env)}`);\n')
    (tmp_path / "src" / "none.js").write_text("export const value = 1;\n")
    return tmp_path


class Host:
    """The bindings the app calls: notes it leaves, and a gate the stream waits on."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.gate = asyncio.Event()

    async def wait_gate(self) -> str:
        await self.gate.wait()
        return "second;"

    def note(self, text: str) -> None:
        self.notes.append(text)

    def bindings(self) -> dict[str, Any]:
        return {"greeting": "hello", "gate": self.wait_gate, "note": self.note}


def server(root: Path, evaluator: str, host: Host, **options: Any) -> Server:
    return Server(root=root, cache_dir=False, on_console=options.pop("on_console", lambda level, text: None),
                  environments={"app": {"evaluator": evaluator, "profile": "edge", "entry": "/src/app.js",
                                        "bindings": host.bindings(), **options}})


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_request_and_its_response_cross_whole(root: Path, evaluator: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"\x00\x01"
        yield b"\xff"

    async def main() -> None:
        async with server(root, evaluator, Host()) as srv:
            env = srv.environments["app"]
            request = DispatchRequest("https://app.test/echo?q=1", method="post", body=chunks(),
                                      headers=[("Cookie", "session=abc"), ("User-Agent", "pytest")])
            response = await env.dispatch_fetch(request)
            assert (response.status, response.status_text, response.streamed) == (201, "Made", False)
            assert response.header("x-answer") == "42"
            assert response.header_all("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
            assert await response.json() == {"method": "POST", "url": "https://app.test/echo?q=1",
                                             "cookie": "session=abc", "agent": "pytest", "bytes": [0, 1, 255],
                                             "greeting": "hello"}
            missing = await env.dispatch_fetch("https://app.test/elsewhere")
            assert (missing.status, await missing.text()) == (404, "not found: /elsewhere")
            empty = await env.dispatch_fetch("https://app.test/empty")
            assert (empty.status, empty.body, await empty.read()) == (204, None, b"")
            plain = await env.dispatch_fetch(DispatchRequest("https://app.test/", method="PUT", body="x"),
                                             entry="/src/plain.js")
            assert await plain.text() == "plain PUT greeting,gate,note"

    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_streamed_body_arrives_chunk_by_chunk(root: Path, evaluator: str) -> None:
    async def main() -> None:
        host = Host()
        async with server(root, evaluator, host) as srv:
            response = await srv.environments["app"].dispatch_fetch("https://app.test/stream")
            assert response.streamed and response.header("content-type") == "text/plain"
            received = []
            async for chunk in response:
                received.append(chunk)
                # The handler cannot produce its second chunk until the first has reached the host.
                host.gate.set()
            assert received == [b"first;", b"second;"]

            cancelled = await srv.environments["app"].dispatch_fetch("https://app.test/stream")
            assert [chunk async for chunk in _first(cancelled)] == [b"first;"]
            await cancelled.aclose()
            async with srv.environments["app"].pool.acquire() as runtime:  # its cancel() reaches the host
                await (await runtime.client()).settle()
            assert host.notes == ["cancelled: the client stopped reading the response"]

    asyncio.run(main())


async def _first(response: Any) -> AsyncIterator[bytes]:
    async for chunk in response:
        yield chunk
        return


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_wait_until_runs_after_the_response_and_reports_rejections(root: Path, evaluator: str) -> None:
    printed: list[tuple[str, str]] = []

    async def main() -> None:
        host = Host()
        async with server(root, evaluator, host, on_console=lambda level, text: printed.append((level, text))) as srv:
            response = await srv.environments["app"].dispatch_fetch("https://app.test/wait")
            assert await response.text() == "answered"
            errors = await response.wait_until()
            assert [(e.name, e.message) for e in errors] == [("RangeError", "late")]
            assert host.notes == ["after the response"]
            with pytest.raises(JSError, match="the handler failed"):
                await srv.environments["app"].dispatch_fetch("https://app.test/throw")
        # Closing the server let the waitUntil of the failed request finish too.
        assert host.notes == ["after the response", "before the throw"]

    asyncio.run(main())
    assert any(level == "error" and "ctx.waitUntil: RangeError: late" in text for level, text in printed)


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_handler_errors_are_clear_and_a_limit_replaces_the_runtime(root: Path, evaluator: str) -> None:
    async def main() -> None:
        async with server(root, evaluator, Host(), limits={"cpu_ms": 300}) as srv:
            env = srv.environments["app"]
            with pytest.raises(JSError) as thrown:
                await env.dispatch_fetch("https://app.test/throw")
            assert thrown.value.name == "Error"
            assert "src/app.js:" in (thrown.value.stack or "")  # source-mapped to the module
            with pytest.raises(JSError, match="returned a plain object, not a Response") as wrong:
                await env.dispatch_fetch("https://app.test/not-a-response")
            assert wrong.value.name == "TypeError"
            bad = await env.dispatch_fetch("https://app.test/bad-chunk")
            with pytest.raises(JSError, match="a chunk of the response body is a string, not a Uint8Array"):
                await bad.read()
            with pytest.raises(JSError, match="has no fetch handler"):
                await env.dispatch_fetch("https://app.test/", entry="/src/none.js")
            with pytest.raises(UsageError, match="a GET request cannot have a body"):
                await env.dispatch_fetch(DispatchRequest("https://app.test/", body=b"x"))
            with pytest.raises(UsageError, match="not a valid header name"):
                await env.dispatch_fetch(DispatchRequest("https://app.test/", headers={"bad name": "x"}))
            with pytest.raises(LimitError):
                await env.dispatch_fetch("https://app.test/spin")
            again = await env.dispatch_fetch("https://app.test/elsewhere")  # a fresh runtime answers
            assert again.status == 404

    asyncio.run(main())


def test_dispatch_needs_an_entry_and_the_edge_profile(root: Path) -> None:
    async def main() -> None:
        async with Server(root=root, cache_dir=False, environments={
                "noentry": {"profile": "edge"}, "bare": {"profile": "bare", "entry": "/src/app.js"}}) as srv:
            with pytest.raises(UsageError, match="dispatch_fetch needs an entry"):
                await srv.environments["noentry"].dispatch_fetch("https://app.test/")
            with pytest.raises(UsageError, match="needs the edge profile"):
                await srv.environments["bare"].dispatch_fetch("https://app.test/")

    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_request_over_its_cpu_budget_fails_alone_in_a_pool(root: Path, evaluator: str) -> None:
    async def main() -> None:
        async with server(root, evaluator, Host(), pool=2) as srv:
            env = srv.environments["app"]
            await env.prepare_dispatch()
            spin = env.dispatch_fetch("https://app.test/spin", cpu_ms=200)
            others = [env.dispatch_fetch(f"https://app.test/n{i}", cpu_ms=5_000) for i in range(6)]
            results = await asyncio.gather(spin, *others, return_exceptions=True)
            assert isinstance(results[0], LimitError)
            assert [(r.status, await r.text()) for r in results[1:]] == [  # type: ignore[union-attr]
                (404, f"not found: /n{i}") for i in range(6)]
            await env.pool.start()  # every member alive again: the one that spun was replaced, once
            assert env.pool.replacements == 1
            assert (await env.dispatch_fetch("https://app.test/n")).status == 404

    asyncio.run(main())
