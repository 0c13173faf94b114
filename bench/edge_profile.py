"""What the edge profile costs, against the bare profile, side by side in the same run.

- a new runtime in each evaluator, bare vs edge: in-process (boot a QuickJS context with the
  bundle), wasm (a sandbox from the snapshot, which holds the edge profile preloaded), process (a
  runtime from a warm pool, and a cold spawn);
- first use in a fresh in-process edge runtime: what touching each lazily compiled group of
  globals costs (the units of the bundled libraries, and our own interfaces);
- memory, bare vs edge: the in-process engine's heap (QuickJS's own count) after boot and after
  every lazily compiled group has been touched, the wasm sandbox's linear memory, and the resident
  set of a booted process worker;
- a request handled in a fresh runtime: import a module that builds a Request, a Response with a
  JSON body and reads it back, and call it; edge in each evaluator, with node doing the same as a
  peer.

Goals (issue 10): the wasm sandbox start with the edge profile <= 1 ms (p50, warm process); the
in-process and process per-runtime cost reported and kept small.
"""

from __future__ import annotations

import argparse
import asyncio
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import harness

from evaluators.inprocess import InProcessTransport
from evaluators.options import RuntimeOptions
from evaluators.process import ProcessEvaluator
from evaluators.quickjs_engine import QuickJSEngine
from evaluators.wasm.evaluator import WasmTransport
from runner import Server

WASM_GOAL_MS = 1.0
PROFILES = ("bare", "edge")
# What a program touches first, one group each (lazily compiled units, then our own interfaces).
FIRST_USE = {
    "URL (whatwg-url)": "new URL('https://example.com/a?b=1')",
    "URLPattern (urlpattern-polyfill)": "new URLPattern({ pathname: '/a/:id' })",
    "TextEncoder (@exodus/bytes)": "new TextEncoder().encode('x')",
    "ReadableStream (web-streams-polyfill)": "new ReadableStream()",
    "EventTarget (event-target-shim)": "new EventTarget()",
    "structuredClone (core-js)": "structuredClone({ a: [1] })",
    "CompressionStream (fflate; + streams)": "new CompressionStream('gzip')",
    "Headers (ours)": "new Headers({ a: '1' })",
    "Response + body (ours; + encoding)": "new Response('x')",
    "Request (ours; + URL, AbortSignal)": "new Request('https://example.com/')",
    "crypto.getRandomValues (@noble/ciphers)": "crypto.getRandomValues(new Uint8Array(16))",
}
REQUEST_MODULE = """
export default async function handle(path) {
  const request = new Request(new URL(path, "https://example.com"), { headers: { accept: "application/json" } });
  const response = Response.json({ path: new URL(request.url).pathname, accept: request.headers.get("accept") });
  return await response.json();
}
"""
NODE_REQUEST = REQUEST_MODULE + """
const t0 = performance.now();
await handle("/a/b");
console.log(JSON.stringify({ ms: performance.now() - t0 }));
"""


async def _process_starts(rounds: int) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {p: {"pool": [], "cold spawn": []} for p in PROFILES}
    pooled = ProcessEvaluator(pool_size=1)
    cold = ProcessEvaluator(pool_size=0)
    try:
        for _ in range(rounds):
            for profile in PROFILES:
                options = RuntimeOptions(profile=profile)
                pooled.prewarm(options)
                for worker in pooled.pool.idle[options]:  # wait until the waiting worker has booted
                    select.select([worker.sock], [], [], 30)
                started = time.perf_counter()
                transport = await pooled.create_transport(options)
                out[profile]["pool"].append((time.perf_counter() - started) * 1000)
                await transport.close()
                started = time.perf_counter()
                transport = await cold.create_transport(options)
                out[profile]["cold spawn"].append((time.perf_counter() - started) * 1000)
                await transport.close()
    finally:
        pooled.shutdown()
    return out


def _new_runtimes(rounds: int) -> dict[str, dict[str, list[float]]]:
    """In-process and wasm: bare and edge interleaved, round after round."""
    out: dict[str, dict[str, list[float]]] = {p: {"inprocess": [], "wasm": []} for p in PROFILES}
    for profile in PROFILES:
        WasmTransport(RuntimeOptions(profile=profile))  # the snapshot is loaded (or built) before timing
    for _ in range(rounds):
        for profile in PROFILES:
            options = RuntimeOptions(profile=profile)
            out[profile]["inprocess"].extend(harness.time_ms(lambda o=options: InProcessTransport(o), 1))
            out[profile]["wasm"].extend(harness.time_ms(lambda o=options: WasmTransport(o), 10))
    return out


def _first_use(rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {name: [] for name in FIRST_USE}
    options = RuntimeOptions(profile="edge")
    for _ in range(rounds):
        for name, expression in FIRST_USE.items():
            engine = QuickJSEngine(options)
            if "crypto" in name:  # as the host does before any code runs
                engine.turn('[{"type":"custom","event":"modrun:seed","data":{"seed":"' + "ab" * 32 + '"}}]')
            started = time.perf_counter()
            engine.context.eval(f"void ({expression})")
            out[name].append((time.perf_counter() - started) * 1000)
    return out


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def _memory() -> dict[str, dict[str, float]]:
    """KB per new runtime, bare vs edge (each a median of 3: allocation is deterministic, RSS is not)."""
    out: dict[str, dict[str, float]] = {p: {} for p in PROFILES}
    touch_all = ";".join(f"void ({expression})" for expression in FIRST_USE.values())
    process = ProcessEvaluator(pool_size=0)
    for profile in PROFILES:
        options = RuntimeOptions(profile=profile)
        heaps, touched, linear, rss = [], [], [], []
        for _ in range(3):
            engine = QuickJSEngine(options)
            heaps.append(engine.context.memory()["memory_used_size"] / 1024)
            if profile == "edge":
                engine.turn('[{"type":"custom","event":"modrun:seed","data":{"seed":"' + "ab" * 32 + '"}}]')
                engine.context.eval(touch_all)
                touched.append(engine.context.memory()["memory_used_size"] / 1024)
            guest = WasmTransport(options).guest
            linear.append(guest.memory_size() / 1024)
            transport = await process.create_transport(options)
            rss.append(_rss_kb(transport.pid))  # type: ignore[attr-defined]
            await transport.close()
        out[profile]["inprocess heap after boot"] = harness.stats(heaps)["median"]
        if touched:
            out[profile]["inprocess heap, every global touched"] = harness.stats(touched)["median"]
        out[profile]["wasm linear memory"] = harness.stats(linear)["median"]
        out[profile]["process worker RSS"] = harness.stats(rss)["median"]
    process.shutdown()
    return out


async def _requests(root: Path, rounds: int) -> dict[str, list[float]]:
    """A fresh runtime per request: create, import, call, in each evaluator."""
    out: dict[str, list[float]] = {e: [] for e in ("inprocess", "wasm", "process")}
    environments = {e: {"evaluator": e, "profile": "edge"} for e in out}
    async with Server(root=root, environments=environments, cache_dir=root / ".cache") as server:
        for name in out:  # transforms, snapshots and pools warm first
            module = await server.environments[name].import_module("/handler.js")
            await module.default("/warm")
        for _ in range(rounds):
            for name in out:
                environment = server.environments[name]
                await environment.close()
                started = time.perf_counter()
                module = await environment.import_module("/handler.js")
                answer = await module.default("/a/b")
                out[name].append((time.perf_counter() - started) * 1000)
                assert answer == {"path": "/a/b", "accept": "application/json"}, answer
    return out


def _node_request(root: Path, rounds: int) -> list[float] | None:
    node = shutil.which("node")
    if node is None:
        return None
    script = root / "node_request.mjs"
    script.write_text(NODE_REQUEST)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([node, str(script)], check=True, capture_output=True)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    ns = parser.parse_args()

    starts = _new_runtimes(ns.rounds)
    process = asyncio.run(_process_starts(max(5, ns.rounds // 3)))
    rows = []
    for where in ("inprocess", "wasm"):
        bare, edge = (harness.stats(starts[p][where]) for p in PROFILES)
        rows.append([f"{where}: new runtime", bare["median"], bare["p90"], edge["median"], edge["p90"],
                     harness.ratio(edge["median"], bare["median"])])
    for where in ("pool", "cold spawn"):
        bare, edge = (harness.stats(process[p][where]) for p in PROFILES)
        rows.append([f"process: {where}", bare["median"], bare["p90"], edge["median"], edge["p90"],
                     harness.ratio(edge["median"], bare["median"])])
    print(harness.table(["new runtime (ms)", "bare p50", "bare p90", "edge p50", "edge p90", "edge/bare"], rows,
                        title=f"A new runtime, bare vs edge ({ns.rounds} rounds, interleaved)"))

    first = _first_use(max(5, ns.rounds // 3))
    print()
    print(harness.table(["first use in a fresh in-process edge runtime", "p50 ms", "p90 ms"],
                        [[name, harness.stats(v)["median"], harness.stats(v)["p90"]] for name, v in first.items()]))

    memory = asyncio.run(_memory())
    print()
    print(harness.table(["memory per new runtime (KB)", "bare", "edge", "edge/bare"], [
        [name, memory["bare"].get(name, memory["bare"]["inprocess heap after boot"]), value,
         harness.ratio(value, memory["bare"].get(name, memory["bare"]["inprocess heap after boot"]))]
        for name, value in memory["edge"].items()]))

    with tempfile.TemporaryDirectory(prefix="modrun-edge-bench-") as directory:
        root = Path(directory)
        (root / "handler.js").write_text(REQUEST_MODULE)
        requests = asyncio.run(_requests(root, max(5, ns.rounds // 3)))
        node = _node_request(root, max(5, ns.rounds // 3))
    request_rows = [[f"modrun {name}", harness.stats(v)["median"], harness.stats(v)["p90"]]
                    for name, v in requests.items()]
    if node is not None:
        request_rows.append(["node (a whole process)", harness.stats(node)["median"], harness.stats(node)["p90"]])
    print()
    print(harness.table(["a request in a fresh runtime (create, import, call)", "p50 ms", "p90 ms"], request_rows))

    wasm_edge = harness.stats(starts["edge"]["wasm"])
    goals = [harness.goal("wasm sandbox start with the edge profile (p50)", wasm_edge["median"], WASM_GOAL_MS, " ms")]
    print()
    print(harness.goal_lines(goals))
    path = harness.write_results("edge_profile", {
        "new_runtime": {p: {k: harness.stats(v) for k, v in starts[p].items()} for p in PROFILES},
        "process": {p: {k: harness.stats(v) for k, v in process[p].items()} for p in PROFILES},
        "first_use": {k: harness.stats(v) for k, v in first.items()},
        "memory_kb": memory,
        "request": {k: harness.stats(v) for k, v in requests.items()} | (
            {"node": harness.stats(node)} if node is not None else {}),
        "goals": goals,
    })
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
