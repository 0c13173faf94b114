"""Fetch-handler dispatch and the ASGI adapter, peers side by side in the same run.

1. Per-request overhead of `environment.dispatch_fetch` on a trivial handler
   (`fetch: () => new Response("ok")`), in each evaluator, µs per request from the host (p50, p99,
   mean), beside an ordinary exported-function call returning the same text in the same runtime
   (`await mod.plain()`): the difference is what building the Request, the Response and their
   crossing cost.
2. A hono hello-world route served over HTTP on loopback: modrun's ASGI adapter under uvicorn (its
   own process) with 1, 2 and 4 runtimes in the pool, beside the same hono app on Node with
   @hono/node-server (pinned npm). One load generator (httpx, asyncio, a few concurrent
   connections, this process) drives each server in turn for the same time: requests/s, p50/p99
   latency. The load generator is Python: its own ceiling is measured too (the Node row may be
   limited by it, not by Node).

    python bench/fetch_dispatch.py [--requests 2000] [--seconds 4] [--connections 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness

sys.path.insert(0, str(harness.BENCH_DIR.parent))
from runner import DispatchRequest, Server  # noqa: E402
from tests.npm_cache import Unavailable, ensure  # noqa: E402

EVALUATORS = ("inprocess", "wasm", "process")
TRIVIAL = """
export function plain() { return "ok"; }
export default { fetch: () => new Response("ok") };
"""
HONO_APP = """
import { Hono } from "hono";
const app = new Hono();
app.get("/", (c) => c.text("Hello Hono!"));
export default app;
"""
NODE_SERVER = """
import { serve } from "@hono/node-server";
import app from "./bench_app.mjs";
serve({ fetch: app.fetch, port: Number(process.argv[2]), hostname: "127.0.0.1" });
"""
MODRUN_SERVER = """
import sys

import uvicorn

from runner import ModrunASGI

root, pool, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
app = ModrunASGI(root=root, cache_dir=False, environment="app", entry="/bench_app.js",
                 environments={"app": {"profile": "edge", "pool": pool}})
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""


async def overhead(evaluator: str, requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as root:
        Path(root, "app.js").write_text(TRIVIAL)
        async with Server(root=root, cache_dir=False, environments={
                "app": {"evaluator": evaluator, "profile": "edge", "entry": "/app.js"}}) as server:
            env = server.environments["app"]
            request = DispatchRequest("https://app.test/")
            async with env.pool.acquire() as runtime:
                module = await runtime.module("/app.js")
            plain = module.plain

            async def dispatch() -> None:
                await (await env.dispatch_fetch(request)).read()

            warmup = max(50, requests // 10)
            dispatched = harness.percentiles_us(await harness.time_calls_async(dispatch, requests, warmup))
            called = harness.percentiles_us(await harness.time_calls_async(plain, requests, warmup))
            return {"dispatch_fetch": dispatched, "plain_call": called}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(url: str, process: subprocess.Popen[bytes], httpx: Any) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within 60 s")


async def load(url: str, seconds: float, connections: int, httpx: Any) -> dict[str, Any]:
    """`connections` clients, each sending requests one after another for `seconds`."""
    latencies: list[int] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        for _ in range(20):  # warm: connections opened, code paths hot
            await client.get(url)
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            clock = time.perf_counter_ns
            while time.perf_counter() < stop:
                t0 = clock()
                answer = await client.get(url)
                latencies.append(clock() - t0)
                if answer.status_code != 200 or answer.text != "Hello Hono!":
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    summary = harness.percentiles_us(latencies)
    return {"requests_per_s": len(latencies) / elapsed, "p50_ms": summary["p50"] / 1000,
            "p99_ms": summary["p99"] / 1000, "requests": len(latencies), "errors": errors}


async def generator_ceiling(seconds: float, connections: int, httpx: Any) -> dict[str, Any]:
    """The load generator against a trivial ASGI app in-process (no network): its own cost per request."""
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"Hello Hono!"})

    transport = httpx.ASGITransport(app=app)
    count = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < stop:
                await client.get("/")
                count += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return {"requests_per_s": count / (time.perf_counter() - started)}


async def serve_and_load(command: list[str], cwd: Path, port: int, seconds: float, connections: int,
                         httpx: Any) -> dict[str, Any]:
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/"
        await wait_ready(url, process, httpx)
        return await load(url, seconds, connections, httpx)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def http_rows(seconds: float, connections: int) -> dict[str, Any]:
    try:
        import httpx
        import uvicorn  # noqa: F401
    except ImportError as missing:
        return {"skipped": f"{missing.name} is not installed (pip install -e '.[test]')"}
    node = shutil.which("node")
    try:
        installed = ensure("hono-server", harness.BENCH_DIR / "npm", harness.CACHE_DIR / "npm")
    except Unavailable as reason:
        return {"skipped": str(reason)}
    (installed / "bench_app.js").write_text(HONO_APP)
    (installed / "bench_app.mjs").write_text(HONO_APP)
    (installed / "bench_server.mjs").write_text(NODE_SERVER)
    (installed / "bench_server.py").write_text(MODRUN_SERVER)
    rows: dict[str, Any] = {}
    for pool in (1, 2, 4):
        port = free_port()
        rows[f"modrun ASGI, uvicorn, pool {pool}"] = await serve_and_load(
            [sys.executable, "bench_server.py", str(installed), str(pool), str(port)], installed, port, seconds,
            connections, httpx)
    if node is not None:
        port = free_port()
        rows["node + @hono/node-server"] = await serve_and_load(
            [node, "bench_server.mjs", str(port)], installed, port, seconds, connections, httpx)
    rows["load generator alone (in-process ASGI)"] = await generator_ceiling(seconds, connections, httpx)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="dispatches per evaluator (part 1)")
    parser.add_argument("--seconds", type=float, default=4.0, help="load per server (part 2)")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections (part 2)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    per_evaluator = {evaluator: asyncio.run(overhead(evaluator, args.requests)) for evaluator in EVALUATORS}
    rows = []
    for evaluator, result in per_evaluator.items():
        d, p = result["dispatch_fetch"], result["plain_call"]
        rows.append([evaluator, d["p50"], d["p99"], d["mean"], p["p50"], p["mean"], d["mean"] - p["mean"],
                     harness.ratio(d["mean"], p["mean"])])
    print(harness.table(["evaluator", "dispatch p50 µs", "p99", "mean", "plain call p50 µs", "mean",
                         "overhead µs (mean)", "ratio"], rows,
                        title=f"dispatch_fetch on a trivial handler vs a plain call, {args.requests} requests"))

    http = asyncio.run(http_rows(args.seconds, args.connections))
    if "skipped" in http:
        print(f"\nHTTP rows skipped: {http['skipped']}")
    else:
        print()
        print(harness.table(["server", "requests/s", "p50 ms", "p99 ms", "requests", "errors"],
                            [[name, r["requests_per_s"], r.get("p50_ms", ""), r.get("p99_ms", ""),
                              r.get("requests", ""), r.get("errors", "")] for name, r in http.items()],
                            title=f"hono hello-world over HTTP, {args.connections} connections, "
                                  f"{args.seconds:g} s each"))
    load_after = os.getloadavg()[0]
    print(f"\nload average (1 min) before {load_before:.2f}, after {load_after:.2f}")
    path = harness.write_results("fetch_dispatch", {
        "args": vars(args), "dispatch": per_evaluator, "http": http,
        "load_average": {"before": load_before, "after": load_after}})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
