"""The process evaluator's costs, next to the in-process evaluator:

- call round trip: `await mod.add(1, 2)` from the host, through RunnerClient, the framed channel
  and the worker's pull loop, and back (goal <= 80 us); in-process for reference (its direct
  call path, and its message path);
- a new runtime from the pool: `create_transport` with pre-booted workers waiting (goal <= 5 ms);
- a cold spawn: a worker started from nothing (interpreter, imports, engine boot), for information;
- a 500-module graph imported over the process transport vs in-process, with the server's
  transforms warm (so the difference is the transport and the runtime), as a ratio.

    python bench/process_roundtrip.py [--calls 2000] [--batches 15] [--modules 500]

Prints tables and writes bench/results/process_roundtrip.json. The machine is shared: medians of
interleaved batches are reported, with min and p90.
"""

from __future__ import annotations

import argparse
import asyncio
import select
import shutil
import tempfile
import time
from pathlib import Path

import harness
from graph import generate

from evaluators.options import RuntimeOptions
from evaluators.process.evaluator import ProcessEvaluator
from runner import Server
from runner.rpc.exports import ModuleProxy

ROUND_TRIP_GOAL_US = 80.0
POOL_GOAL_MS = 5.0


def _sink(level: str, text: str) -> None:
    pass


async def round_trips(root: Path, calls: int, batches: int) -> dict[str, list[float]]:
    """Per-call microseconds, one sample per batch, evaluators interleaved batch by batch."""
    results: dict[str, list[float]] = {"process": [], "inprocess (direct)": [], "inprocess (messages)": []}
    async with Server(root=root, cache_dir=False, on_console=_sink,
                      environments={"process": {"evaluator": "process"},
                                    "inprocess": {"evaluator": "inprocess"}}) as server:
        process = await server.environments["process"].import_module("/calls.js")
        inproc = await server.environments["inprocess"].import_module("/calls.js")
        inproc_runner = await server.environments["inprocess"].get_runner()

        async def direct() -> None:
            for _ in range(calls):
                await inproc.add(1, 2)

        async def messages() -> None:
            for _ in range(calls):
                await inproc_runner.invoke("call", ["/calls.js", ["add"], [1, 2]])

        async def over_process() -> None:
            for _ in range(calls):
                await process.add(1, 2)

        for fn in (over_process, direct, messages):  # warm-up
            await fn()
        for _ in range(batches):
            for name, fn in (("process", over_process), ("inprocess (direct)", direct),
                             ("inprocess (messages)", messages)):
                started = time.perf_counter()
                await fn()
                results[name].append((time.perf_counter() - started) / calls * 1e6)
    return results


async def pool_starts(samples: int) -> dict[str, list[float]]:
    """Milliseconds to a ready runtime: from a warm pool, and from a cold spawn."""
    options = RuntimeOptions()
    pooled = ProcessEvaluator(pool_size=1)
    cold = ProcessEvaluator(pool_size=0)
    out: dict[str, list[float]] = {"pool": [], "cold spawn": [], "worker boot (in the child)": []}
    try:
        for _ in range(samples):
            pooled.prewarm(options)
            for worker in pooled.pool.idle[options]:  # wait until the waiting worker has booted
                select.select([worker.sock], [], [], 30)
            started = time.perf_counter()
            transport = await pooled.create_transport(options)
            out["pool"].append((time.perf_counter() - started) * 1000)
            await transport.close()
            started = time.perf_counter()
            transport = await cold.create_transport(options)
            out["cold spawn"].append((time.perf_counter() - started) * 1000)
            out["worker boot (in the child)"].append(float(transport.info.get("boot_ms", 0.0)))
            await transport.close()
    finally:
        pooled.shutdown()
    return out


async def graph_imports(root: Path, repeat: int) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Milliseconds to import the graph in a fresh runtime (runtime creation excluded), transforms warm."""
    times: dict[str, list[float]] = {"process": [], "inprocess": []}
    checksums: dict[str, str] = {}
    cache = Path(tempfile.mkdtemp(prefix="modrun-bench-process-cache-"))
    try:
        for evaluator in times:
            output: list[str] = []
            async with Server(root=root, cache_dir=cache, on_console=lambda level, text, out=output: out.append(text),
                              environments={"bench": {"evaluator": evaluator}}) as server:
                environment = server.environments["bench"]
                await ModuleProxy.load(await environment.create_runner(), "/entry.js")  # warm the transforms
                checksums[evaluator] = output[-1] if output else ""
        async with Server(root=root, cache_dir=cache, on_console=_sink,
                          environments={name: {"evaluator": name} for name in times}) as server:
            for _ in range(repeat):
                for evaluator in times:
                    environment = server.environments[evaluator]
                    runner = await environment.create_runner()
                    started = time.perf_counter()
                    await ModuleProxy.load(runner, "/entry.js")
                    times[evaluator].append((time.perf_counter() - started) * 1000)
                    await runner.close()
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return times, checksums


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=15)
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--modules", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    ns = parser.parse_args()

    harness.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-process-", dir=harness.CACHE_DIR))
    try:
        (work / "calls").mkdir()
        (work / "calls" / "calls.js").write_text("export function add(a, b) { return a + b; }\n")
        trips = asyncio.run(round_trips(work / "calls", ns.calls, ns.batches))
        starts = asyncio.run(pool_starts(ns.starts))
        generate(work / "graph", ns.modules)
        imports, checksums = asyncio.run(graph_imports(work / "graph", ns.repeat))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    trip_stats = {name: harness.stats(samples) for name, samples in trips.items()}
    start_stats = {name: harness.stats(samples) for name, samples in starts.items()}
    import_stats = {name: harness.stats(samples) for name, samples in imports.items()}
    ratio = harness.ratio(import_stats["process"]["median"], import_stats["inprocess"]["median"])
    print(harness.table(["call round trip (us/call)", "median", "min", "p90"],
                        [[name, s["median"], s["min"], s["p90"]] for name, s in trip_stats.items()],
                        title=f"host -> export call -> host, {ns.calls} calls x {ns.batches} batches"))
    print()
    print(harness.table(["new runtime (ms)", "median", "min", "p90"],
                        [[name, s["median"], s["min"], s["p90"]] for name, s in start_stats.items()],
                        title=f"runtime ready to use, {ns.starts} samples"))
    print()
    print(harness.table(["graph import (ms)", "median", "min", "p90"],
                        [[name, s["median"], s["min"], s["p90"]] for name, s in import_stats.items()],
                        title=f"{ns.modules}-module graph in a fresh runtime, transforms warm, {ns.repeat} runs"))
    same = len(set(checksums.values())) == 1
    print(f"process / inprocess graph import: {ratio:.2f}x; checksums {'agree' if same else 'DIFFER'}: {checksums}")
    goals = [harness.goal("call round trip over the process transport", trip_stats["process"]["median"],
                          ROUND_TRIP_GOAL_US, " us"),
             harness.goal("new runtime from the pool", start_stats["pool"]["median"], POOL_GOAL_MS, " ms")]
    print(harness.goal_lines(goals))
    path = harness.write_results("process_roundtrip", {
        "round_trip_us": trip_stats, "runtime_start_ms": start_stats, "graph_import_ms": import_stats,
        "graph_ratio_process_over_inprocess": ratio, "checksums_agree": same, "goals": goals,
        "samples": {"round_trip_us": trips, "runtime_start_ms": starts, "graph_import_ms": imports},
        "load_average": _load(),
    })
    print(f"wrote {path}")


def _load() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


if __name__ == "__main__":
    main()
