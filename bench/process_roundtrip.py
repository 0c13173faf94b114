"""The process evaluator's costs, next to the in-process evaluator:

- call round trip: `await mod.add(1, 2)` from the host, through RunnerClient, the framed channel
  and the worker's pull loop, and back (goal: mean <= 80 us over 10,000 calls, p99 reported),
  every call timed, with the host's adaptive spin for the answer and without it (interleaved);
  in-process for reference (its direct call path, and its message path); and
  the CPU a process call costs each side, so that waiting (for a core) is told from work;
- a new runtime from the pool: `create_transport` with pre-booted workers waiting (goal <= 5 ms);
- a cold spawn: a worker started from nothing (interpreter, imports, engine boot), for information;
- a 500-module graph imported over the process transport vs in-process, with the server's
  transforms warm (so the difference is the transport and the runtime), as a ratio.

    python bench/process_roundtrip.py [--calls 2000] [--batches 5] [--modules 500]

Prints tables and writes bench/results/process_roundtrip.json. The machine is shared: the paths
run in interleaved batches, and the load average is printed beside the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import shutil
import statistics
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


def _worker_cpu_s(pid: int) -> float:
    """User and system CPU seconds of a process so far (Linux; 0 where /proc is absent)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def round_trips(root: Path, calls: int,
                      batches: int) -> tuple[dict[str, list[float]], dict[str, float], dict[str, int]]:
    """Every call's microseconds (`calls` x `batches` per path), the paths interleaved batch by
    batch; and, for the process path, the CPU each call costs the host and the worker (what is
    left of its wall time is waiting: for the other side, and for a core on a loaded machine); and
    how the host's spins for an answer went (how many, how many caught it, how many lost the core)."""
    results: dict[str, list[float]] = {"process": [], "process (no spin)": [], "inprocess (direct)": [],
                                       "inprocess (messages)": []}
    cpu = {"host": 0.0, "worker": 0.0, "host (no spin)": 0.0, "worker (no spin)": 0.0}
    clock = time.perf_counter_ns
    async with Server(root=root, cache_dir=False, on_console=_sink,
                      environments={"process": {"evaluator": "process"},
                                    "inprocess": {"evaluator": "inprocess"}}) as server:
        process = await server.environments["process"].import_module("/calls.js")
        transport = (await server.environments["process"].get_runner()).transport
        worker_pid = getattr(transport, "pid", 0)
        spin_us = getattr(transport, "spin_us", 0)
        inproc = await server.environments["inprocess"].import_module("/calls.js")
        inproc_runner = await server.environments["inprocess"].get_runner()

        async def direct(out: list[float]) -> None:
            for _ in range(calls):
                started = clock()
                await inproc.add(1, 2)
                out.append((clock() - started) / 1000)

        async def messages(out: list[float]) -> None:
            for _ in range(calls):
                started = clock()
                await inproc_runner.invoke("call", ["/calls.js", ["add"], [1, 2]])
                out.append((clock() - started) / 1000)

        async def over_process(out: list[float], spin: bool = True) -> None:
            transport.spin_us = spin_us if spin else 0
            host, worker = time.process_time(), _worker_cpu_s(worker_pid)
            for _ in range(calls):
                started = clock()
                await process.add(1, 2)
                out.append((clock() - started) / 1000)
            suffix = "" if spin else " (no spin)"
            cpu["host" + suffix] += time.process_time() - host
            cpu["worker" + suffix] += _worker_cpu_s(worker_pid) - worker
            transport.spin_us = spin_us

        async def without_spin(out: list[float]) -> None:
            await over_process(out, spin=False)

        for fn in (over_process, direct, messages):  # warm-up
            await fn([])
        cpu = dict.fromkeys(cpu, 0.0)
        spins_before = dict(getattr(transport, "spin_counts", {}))
        paths = [("process", over_process), ("process (no spin)", without_spin),
                 ("inprocess (direct)", direct), ("inprocess (messages)", messages)]
        for batch in range(batches):
            for name, fn in paths if batch % 2 == 0 else paths[::-1]:  # neither path always goes first
                await fn(results[name])
        spins = {key: count - spins_before[key] for key, count in getattr(transport, "spin_counts", {}).items()}
    total = calls * batches
    return results, {side: seconds / total * 1e6 for side, seconds in cpu.items()}, spins


def _tails(samples: list[float]) -> dict[str, float]:
    """Mean and percentiles of every sample (the tail counts: a mean, not only a median, is the goal)."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"mean": statistics.fmean(ordered), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99),
            "p99.9": at(0.999), "max": ordered[-1], "n": len(ordered)}


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
    parser.add_argument("--batches", type=int, default=5, help="calls x batches per path (default 10,000)")
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--modules", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    ns = parser.parse_args()

    harness.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-process-", dir=harness.CACHE_DIR))
    try:
        (work / "calls").mkdir()
        (work / "calls" / "calls.js").write_text("export function add(a, b) { return a + b; }\n")
        load_before = _load()
        trips, call_cpu, spins = asyncio.run(round_trips(work / "calls", ns.calls, ns.batches))
        starts = asyncio.run(pool_starts(ns.starts))
        generate(work / "graph", ns.modules)
        imports, checksums = asyncio.run(graph_imports(work / "graph", ns.repeat))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    trip_stats = {name: _tails(samples) for name, samples in trips.items()}
    start_stats = {name: harness.stats(samples) for name, samples in starts.items()}
    import_stats = {name: harness.stats(samples) for name, samples in imports.items()}
    ratio = harness.ratio(import_stats["process"]["median"], import_stats["inprocess"]["median"])
    columns = ["mean", "p50", "p90", "p99", "p99.9", "max"]
    print(harness.table(["call round trip (us)", *columns], [[name, *(s[c] for c in columns)]
                                                          for name, s in trip_stats.items()],
                        title=f"host -> export call -> host: every one of {ns.calls} calls x {ns.batches} batches "
                              f"(load average before: {load_before})"))
    for suffix in ("", " (no spin)"):
        host, worker = call_cpu["host" + suffix], call_cpu["worker" + suffix]
        wait = trip_stats["process" + suffix]["mean"] - host - worker
        print(f"process{suffix} call, CPU per call: host {host:.1f} us, worker {worker:.1f} us; "
              f"the rest of the mean ({wait:.1f} us) is waiting (wake-ups, and a free core)")
    print(f"host spins for an answer over {ns.calls * ns.batches} calls: {spins.get('spins', 0)} spins, "
          f"{spins.get('answered', 0)} caught the answer, {spins.get('late', 0)} lost the core (late)")
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
    goals = [harness.goal("call round trip over the process transport (mean)", trip_stats["process"]["mean"],
                          ROUND_TRIP_GOAL_US, " us"),
             harness.goal("new runtime from the pool", start_stats["pool"]["median"], POOL_GOAL_MS, " ms")]
    print(harness.goal_lines(goals))
    path = harness.write_results("process_roundtrip", {
        "round_trip_us": trip_stats, "call_cpu_us": call_cpu, "spins": spins, "runtime_start_ms": start_stats,
        "graph_import_ms": import_stats,
        "graph_ratio_process_over_inprocess": ratio, "checksums_agree": same, "goals": goals,
        "samples": {"runtime_start_ms": starts, "graph_import_ms": imports},
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
