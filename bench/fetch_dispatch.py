"""Fetch-handler dispatch and the ASGI adapter, peers side by side in the same run.

1. Per-request overhead of `environment.dispatch_fetch` on a trivial handler
   (`fetch: () => new Response("ok")`), in each evaluator, µs per request from the host (p50, p99,
   mean), beside an ordinary exported-function call returning the same text in the same runtime
   (`await mod.plain()`): the difference is what building the Request, the Response and their
   crossing cost.
2. A hono hello-world route served over HTTP on loopback: modrun's ASGI adapter under uvicorn (its
   own process) with 1, 2 and 4 runtimes in the pool, beside the same hono app on Node with
   @hono/node-server (pinned npm). autocannon (pinned npm, on Node, its own process) drives each
   server in turn at each connection count for the same time: requests/s, p50/p99/mean latency,
   and the CPU the server and autocannon each spent, which says which of the two is the
   bottleneck (a Python load generator saturated before either server did).

    python bench/fetch_dispatch.py [--requests 2000] [--seconds 4] [--connections 4,16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
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
BODY = "Hello Hono!"
NODE_ROW = "node + @hono/node-server"
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


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within 60 s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process, all its threads (the servers here run in one process)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def autocannon(node: str, installed: Path, url: str, server: int, seconds: float,
               connections: int) -> dict[str, Any]:
    """One autocannon run (a 1 s warm-up, then `seconds` of load), with the CPU both sides spent in it."""
    command = [node, str(installed / "node_modules" / "autocannon" / "autocannon.js"), "--json",
               "-c", str(connections), "-d", f"{seconds:g}", "-E", BODY,
               "-W", "[", "-c", str(connections), "-d", "1", "]", url]
    server_before, generator_before = cpu_seconds(server), children_cpu_seconds()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    server_cpu, generator_cpu = cpu_seconds(server) - server_before, children_cpu_seconds() - generator_before
    if done.returncode != 0:
        raise RuntimeError(f"autocannon exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    # with a warm-up autocannon prints two JSON documents, one a line: the warm-up's, then the run's
    warm, result = (json.loads(line) for line in done.stdout.strip().splitlines())
    requests, latency = result["requests"]["total"], result["latency"]
    answered = requests + warm["requests"]["total"]
    # CPU shares over the time under load (warm-up and run), not Node's start-up, when the server idles
    loaded = warm["duration"] + result["duration"]
    rate = requests / result["duration"] if result["duration"] else 0.0  # exact, not per-second samples' mean
    return {"requests_per_s": rate, "requests": requests,
            "p50_ms": latency["p50"], "p99_ms": latency["p99"], "mean_ms": latency["mean"],
            # a closed loop of `connections` clients: mean latency = connections / throughput, to the µs
            "mean_ms_closed_loop": 1000 * connections / rate if rate else None,
            "errors": sum(result[key] for key in ("errors", "timeouts", "non2xx", "mismatches")),
            "server_cpu_percent": 100 * server_cpu / loaded, "generator_cpu_percent": 100 * generator_cpu / loaded,
            "generator_cpu_us_per_request": 1e6 * generator_cpu / answered if answered else None}


def serve_and_load(command: list[str], node: str, installed: Path, port: int, seconds: float,
                   connections: list[int]) -> dict[int, dict[str, Any]]:
    process = subprocess.Popen(command, cwd=installed, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_ready(url, process)
        return {count: autocannon(node, installed, url, process.pid, seconds, count) for count in connections}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def http_rows(seconds: float, connections: list[int]) -> dict[str, Any]:
    try:
        import uvicorn  # noqa: F401
    except ImportError as missing:
        return {"skipped": f"{missing.name} is not installed (pip install -e '.[test]')"}
    try:
        installed = ensure("hono-server", harness.BENCH_DIR / "npm", harness.CACHE_DIR / "npm")
    except Unavailable as reason:
        return {"skipped": str(reason)}
    node = shutil.which("node")
    assert node is not None  # ensure() raised Unavailable otherwise
    (installed / "bench_app.js").write_text(HONO_APP)
    (installed / "bench_app.mjs").write_text(HONO_APP)
    (installed / "bench_server.mjs").write_text(NODE_SERVER)
    (installed / "bench_server.py").write_text(MODRUN_SERVER)
    servers = {f"modrun ASGI, uvicorn, pool {pool}": [sys.executable, "bench_server.py", str(installed), str(pool)]
               for pool in (1, 2, 4)}
    servers[NODE_ROW] = [node, "bench_server.mjs"]
    rows: dict[str, Any] = {}
    for name, command in servers.items():
        port = free_port()
        rows[name] = serve_and_load(command + [str(port)], node, installed, port, seconds, connections)
    return rows


def http_table(http: dict[str, Any], seconds: float) -> str:
    lines = []
    for name, by_connections in http.items():
        for count, r in by_connections.items():
            node_rate = http[NODE_ROW][count]["requests_per_s"]
            lines.append([name, count, r["requests_per_s"], harness.ratio(r["requests_per_s"], node_rate),
                          r["p50_ms"], r["p99_ms"], r["mean_ms"], r["mean_ms_closed_loop"], r["errors"],
                          r["server_cpu_percent"], r["generator_cpu_percent"], r["generator_cpu_us_per_request"]])
    return harness.table(
        ["server", "conns", "requests/s", "vs node", "p50 ms", "p99 ms", "mean ms", "mean ms (c / rate)", "errors",
         "server CPU %", "autocannon CPU %", "autocannon CPU µs/req"], lines,
        title=f"hono hello-world over HTTP on loopback, autocannon {seconds:g} s each after a 1 s warm-up "
              f"(latency percentiles in whole ms: autocannon's resolution)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="dispatches per evaluator (part 1)")
    parser.add_argument("--seconds", type=float, default=4.0, help="load per server (part 2)")
    parser.add_argument("--connections", type=lambda text: [int(n) for n in text.split(",")], default=[4, 16],
                        help="autocannon's concurrent connections, comma-separated (part 2)")
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

    http = http_rows(args.seconds, args.connections)
    if "skipped" in http:
        print(f"\nHTTP rows skipped: {http['skipped']}")
    else:
        print()
        print(http_table(http, args.seconds))
        for count, r in http[NODE_ROW].items():
            print(f"autocannon alone, {count} connections against node: {r['generator_cpu_us_per_request']:.1f} µs "
                  f"CPU per request, a ceiling of ~{1e6 / r['generator_cpu_us_per_request']:,.0f} requests/s "
                  f"on one core")
    load_after = os.getloadavg()[0]
    print(f"\nload average (1 min) before {load_before:.2f}, after {load_after:.2f}")
    path = harness.write_results("fetch_dispatch", {
        "args": vars(args), "dispatch": per_evaluator, "http": http,
        "load_average": {"before": load_before, "after": load_after}})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
