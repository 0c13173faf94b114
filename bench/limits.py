"""Limit precision: where a CPU or wall-time limit stops a workload, in every evaluator.

For each evaluator, limit kind (cpu_ms, wall_ms), limit (10, 100, 1000 ms) and workload (a tight
loop, an allocation loop, regex backtracking, a promise-job loop, deep recursion) a fresh
environment imports a module and calls its export, which runs until stopped, with the call's own
limit (`cpu_ms=` or `deadline=`, so the import is not counted). What a limit measures:

- `cpu_ms`: CPU time the engine spends on the operation, counted from its entry (in the host for
  in-process and wasm, in the worker for the process evaluator). Measured here as this process's CPU
  time, or exactly the worker's (its schedstat before, the kernel's account of it once reaped);
- `wall_ms` / a deadline: wall time from the host's start of the operation to the deadline, at which
  the engine is stopped. Measured here on the host's monotonic clock.

Either way the host sees the stop one return trip later: a call that returns at once is measured
the same way in the same runtime ("round trip") and taken off, leaving the engine's time from its
entry ("engine x limit"). The goal: every run stops within 10 % of the limit or 5 ms, whichever is
larger. The machine's load is printed beside the numbers.

    python bench/limits.py [--repeat 3] [--limits 10,100,1000] [--evaluators inprocess,wasm,process]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import harness

from runner import LimitError, Server

WORKLOADS = {
    "tight loop": "export function run() { let i = 0; for (;;) i++; }",
    "allocation": "export function run() { let keep = []; for (;;) { keep.push({ n: keep.length });"
                  " if (keep.length > 1e5) keep = []; } }",
    "regex backtracking": "export function run() { const s = 'a'.repeat(40) + 'b';"
                          " for (;;) /^(a+)+$/.test(s); }",
    "promise jobs": "export function run() { return new Promise(() => { const f = () => Promise.resolve().then(f);"
                    " f(); }); }",
    "deep recursion": "function down(n) { return n ? down(n - 1) + 1 : 0; }\n"
                      "export function run() { for (;;) down(2000); }",
}


def schedstat_s(pid: int) -> float:
    """A process's CPU seconds so far (its main thread's, in nanoseconds: /proc/PID/stat counts 10 ms
    ticks, as coarse as the smallest limit)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


class WorkerCpu:
    """The CPU time a process evaluator's worker spends from now until it exits, exactly: its time so
    far, and at the end what the kernel adds to this process's children once the worker is reaped
    (the worker is this process's child and runs one thread)."""

    def __init__(self, worker: Any) -> None:
        self.proc = worker.proc
        self.children = self._children()
        self.before = schedstat_s(worker.pid)

    @staticmethod
    def _children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def spent(self) -> float:
        self.proc.wait(timeout=10)
        return self._children() - self.children - self.before


async def stop_ms(root: Path, evaluator: str, kind: str, limit_ms: int, name: str) -> tuple[float, float, str]:
    """The call's time until its LimitError (CPU time for a CPU limit, wall time for a wall limit),
    the same measure of a call that returns at once in the same runtime (its round trip), and which
    limit the error named (else what was raised)."""
    async with Server(root=root, cache_dir=False, environments={"x": {"evaluator": evaluator}}) as server:
        environment = server.environments["x"]
        mod = await environment.import_module(f"/{name.replace(' ', '_')}.js")
        worker = (await environment.get_runner()).transport.worker if evaluator == "process" else None  # type: ignore[attr-defined]
        clock = time.process_time if kind == "cpu_ms" else time.perf_counter
        if worker is not None and kind == "cpu_ms":
            clock = functools.partial(schedstat_s, worker.pid)

        def limit(ms: float) -> dict[str, float]:
            # Both are the call's own: a CPU budget, counted by the engine from its entry; a deadline,
            # counted from the host's start of the call (as `wall_ms` sets it).
            if kind == "cpu_ms":
                return {"cpu_ms": ms}
            return {"deadline": time.monotonic() + ms / 1000}

        trips = []
        for _ in range(8):  # the same path under a limit it does not reach; the first calls warm it up
            started = clock()
            await mod.noop(**limit(10_000))
            trips.append((clock() - started) * 1000)
        trips = trips[3:]
        if worker is not None and kind == "cpu_ms":
            # The worker's CPU is read once it is reaped, so it includes its exit (unmapping its
            # heap): the exit of an idle worker, killed the way a stopped one is, is taken off too.
            idle = await environment.create_runner()
            exit_cpu = WorkerCpu(idle.transport.worker)  # type: ignore[attr-defined]
            await idle.close()
            exit_ms = exit_cpu.spent() * 1000
            trips = [trip + exit_ms for trip in trips]
        cpu = WorkerCpu(worker) if worker is not None and kind == "cpu_ms" else None
        started = clock()
        try:
            await mod.run(**limit(limit_ms))
            named = "returned"
        except LimitError as error:
            named = error.limit
        except Exception as error:  # a wrong kind of stop is a result too: the table names it
            named = f"{type(error).__name__}: {error}"[:40]
        spent = (clock() - started) * 1000 if cpu is None else cpu.spent() * 1000
        return spent, statistics.median(trips), named


def error(measured: float, limit: float) -> float:
    """How far from the limit the stop came, in tolerances (10 % of the limit or 5 ms, the larger): <= 1 is within."""
    return abs(measured - limit) / max(0.1 * limit, 5.0)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limits", default="10,100,1000")
    parser.add_argument("--evaluators", default="inprocess,wasm,process")
    parser.add_argument("--kinds", default="cpu_ms,wall_ms")
    options = parser.parse_args()
    limits = [int(x) for x in options.limits.split(",")]
    rows: list[list[Any]] = []
    results: list[dict[str, Any]] = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, source in WORKLOADS.items():
            (root / f"{name.replace(' ', '_')}.js").write_text(source + "\nexport function noop() { return 0; }\n")
        for evaluator in options.evaluators.split(","):
            for kind in options.kinds.split(","):
                for limit in limits:
                    for name in WORKLOADS:
                        samples, trips, named = [], [], set()
                        for _ in range(options.repeat):
                            ms, trip, which = await stop_ms(root, evaluator, kind, limit, name)
                            samples.append(ms)
                            trips.append(trip)
                            named.add(which)
                        trip = statistics.median(trips)
                        engine = [ms - trip for ms in samples]  # the engine's time from its entry
                        right = named <= {kind.removesuffix("_ms").replace("wall", "wall-time")}
                        off = max(error(ms, limit) for ms in engine) if right else float("inf")
                        ok = off <= 1
                        rows.append([evaluator, kind, limit, name, statistics.fmean(samples), max(samples), trip,
                                     statistics.fmean(engine) / limit, max(engine) / limit,
                                     ",".join(sorted(named)), "yes" if ok else "NO"])
                        results.append({"evaluator": evaluator, "kind": kind, "limit_ms": limit, "workload": name,
                                        "samples_ms": samples, "round_trip_ms": trip, "limit_named": sorted(named),
                                        "within": ok, "error": off})
    print(harness.table(["evaluator", "limit", "ms", "workload", "stop ms (mean)", "max", "round trip",
                         "engine x limit (mean)", "(worst)", "named", "within"], rows,
                        title=f"limit precision, {options.repeat} runs each (load average {load[0]:.1f}, "
                              f"{os.getloadavg()[0]:.1f} at the end)"))
    goals = [harness.goal(f"{evaluator}: worst stop error / tolerance", max(r["error"] for r in results
                                                                            if r["evaluator"] == evaluator), 1.0)
             for evaluator in options.evaluators.split(",")]
    print(harness.goal_lines(goals))
    harness.write_results("limits", {"environment": harness.environment(), "load": load, "results": results,
                                     "goals": goals})


if __name__ == "__main__":
    asyncio.run(main())
