"""The synchronous facade (runner/sync.py) at parity with the async API, used from plain threads:
`get`, exported functions, methods of exported objects at any depth, classes, errors, the pool's
`call`, dispatch_fetch — and a call back into the facade from its own loop is an error, not a hang."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from runner import DispatchRequest, JSError, LimitError, SyncServer

MODULE = """\
export let count = 0;
export function bump(by = 1) { count += by; return count; }
export async function later(value) { await null; return { value, twice: [value, value] }; }
export const tools = { math: { add: (a, b) => a + b, async mul(a, b) { return a * b; } }, label: "tools" };
export class Counter { static create() { return new Counter(); } }
export function fail() { throw new RangeError("out of range here"); }
export function spin() { for (;;) {} }
export function reenter() { return env.reenter(); }
import env from "modrun:env";
export default {
  async fetch(request) {
    return new Response(new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(`${request.method} `));
        controller.enqueue(new TextEncoder().encode(new URL(request.url).pathname));
        controller.close();
      },
    }), { headers: { "x-count": String(count) } });
  },
};
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.js").write_text(MODULE)
    return tmp_path


def test_the_sync_facade_matches_the_async_api_from_plain_threads(project: Path) -> None:
    holder: dict[str, SyncServer] = {}

    def reenter() -> Any:
        return holder["server"].environments["app"].import_module("/src/main.js")

    with SyncServer(root=project, cache_dir=False, on_console=lambda level, text: None, environments={
            "app": {"profile": "edge", "entry": "/src/main.js", "pool": 2, "limits": {"cpu_ms": 2_000},
                    "bindings": {"reenter": reenter}}}) as server:
        holder["server"] = server
        app = server.environments["app"]
        mod = app.import_module("/src/main.js")
        assert mod.url == "/src/main.js" and "bump" in mod and "tools" in dir(mod)
        assert mod.count == 0 and mod.get("count") == 0
        assert mod.bump(2) == 2
        assert (mod.count, mod.get("count")) == (0, 2)  # attributes are the import's snapshot, get() is live
        assert mod.later("x") == {"value": "x", "twice": ["x", "x"]}
        assert mod.tools["label"] == "tools"
        assert mod.tools["math"]["add"](2, 3) == 5
        assert mod["tools"]["math"]["mul"](4, 5) == 20
        with pytest.raises(JSError, match="'new'"):
            mod.Counter()
        with pytest.raises(JSError) as thrown:
            mod.fail()
        assert (thrown.value.name, thrown.value.message) == ("RangeError", "out of range here")
        assert "src/main.js:" in (thrown.value.stack or "")
        with pytest.raises(LimitError):
            mod.spin(cpu_ms=100)
        assert mod.bump() == 1  # rebound to a fresh runtime: module state restarted
        with pytest.raises(JSError, match="RuntimeError.*own event loop|own event loop"):
            mod.reenter()
        with pytest.raises(AttributeError, match="has no export named 'nothing'"):
            mod.nothing  # noqa: B018

        # Many threads at once: exported functions, the pool's call and dispatch_fetch.
        def work(i: int) -> tuple[Any, ...]:
            response = app.dispatch_fetch(DispatchRequest(f"https://app.test/p{i}", method="POST", body=b""))
            return (mod.tools["math"]["add"](i, 1), app.call("/src/main.js", "later", i)["twice"],
                    response.status, response.body, response.header("x-count"))

        with ThreadPoolExecutor(max_workers=4) as threads:
            results = list(threads.map(work, range(12)))
        assert results == [(i + 1, [i, i], 200, f"POST /p{i}".encode(), "0") for i in range(12)]
