"""Limit precision: where a CPU or wall-time limit stops a workload, in every evaluator.

For each evaluator, limit kind (cpu_ms, wall_ms), limit (10, 100, 1000 ms) and workload (a tight
loop, an allocation loop, regex backtracking, a promise-job loop, deep recursion) a fresh
environment imports a module and calls its export, which runs until stopped. The table gives the
call's time (median of --repeat runs) and its ratio to the limit: CPU time for a CPU limit (this
process's, or the process evaluator's worker's, so on a loaded machine the numbers still mean something),
wall time for a wall limit. The goal is a stop within 10 % of the limit or 5 ms, whichever is
larger. Both include the call's round trip, so they err on the late side; the machine's load is
printed beside the numbers.

    python bench/limits.py [--repeat 3] [--limits 10,100,1000] [--evaluators inprocess,wasm,process]
"""

from __future__ import annotations

import argparse
import asyncio
import os
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


class WorkerClock:
    """CPU time of a process evaluator's worker, sampled from /proc every millisecond while the call
    runs (the worker exits when stopped, and is not this process's child to wait for)."""

    def __init__(self, pid: int) -> None:
        self.stat = Path(f"/proc/{pid}/stat")
        self.last = self.read()
        self.sampling = True

    def read(self) -> float:
        try:
            fields = self.stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return self.last
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def sample(self) -> None:
        while self.sampling:
            self.last = self.read()
            await asyncio.sleep(0.001)


async def stop_ms(root: Path, evaluator: str, kind: str, limit_ms: int, name: str) -> tuple[float, str]:
    """The call's time until its LimitError (CPU time for a CPU limit, wall time for a wall limit), and
    which limit it named (else what it raised)."""
    # A wall limit is given to the call alone (its deadline, which is what `wall_ms` sets for each
    # operation): a 10 ms import would not fit on a loaded machine. A CPU limit is the environment's.
    limits = {kind: limit_ms} if kind == "cpu_ms" else {}
    async with Server(root=root, cache_dir=False,
                      environments={"x": {"evaluator": evaluator, "limits": limits}}) as server:
        mod = await server.environments["x"].import_module(f"/{name.replace(' ', '_')}.js")
        clock = time.process_time if kind == "cpu_ms" else time.perf_counter
        worker = None
        if evaluator == "process" and kind == "cpu_ms":
            runner = await server.environments["x"].get_runner()
            worker = WorkerClock(runner.transport.pid)  # type: ignore[attr-defined]
            clock = worker.read
            sampler = asyncio.create_task(worker.sample())
        started = clock()
        try:
            await mod.run(deadline=time.monotonic() + limit_ms / 1000 if kind == "wall_ms" else None)
            named = "returned"
        except LimitError as error:
            named = error.limit
        except Exception as error:  # a wrong kind of stop is a result too: the table names it
            named = f"{type(error).__name__}: {error}"[:40]
        if worker is not None:
            worker.sampling = False
            await sampler
            return (worker.last - started) * 1000, named
        return (clock() - started) * 1000, named


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
            (root / f"{name.replace(' ', '_')}.js").write_text(source + "\n")
        for evaluator in options.evaluators.split(","):
            for kind in options.kinds.split(","):
                for limit in limits:
                    for name in WORKLOADS:
                        samples = []
                        named = set()
                        for _ in range(options.repeat):
                            ms, which = await stop_ms(root, evaluator, kind, limit, name)
                            samples.append(ms)
                            named.add(which)
                        median = statistics.median(samples)
                        right = named <= {kind.removesuffix("_ms").replace("wall", "wall-time")}
                        off = error(median, limit) if right else float("inf")
                        ok = off <= 1
                        rows.append([evaluator, kind, limit, name, median, max(samples), median / limit,
                                     ",".join(sorted(named)), "yes" if ok else "NO"])
                        results.append({"evaluator": evaluator, "kind": kind, "limit_ms": limit, "workload": name,
                                        "samples_ms": samples, "limit_named": sorted(named), "within": ok,
                                        "error": off})
    print(harness.table(["evaluator", "limit", "ms", "workload", "stop ms (median)", "max", "x limit", "named",
                         "within"], rows, title=f"limit precision (load average {load[0]:.1f})"))
    goals = [harness.goal(f"{evaluator}: worst stop error / tolerance", max(r["error"] for r in results
                                                                            if r["evaluator"] == evaluator), 1.0)
             for evaluator in options.evaluators.split(",")]
    print(harness.goal_lines(goals))
    harness.write_results("limits", {"environment": harness.environment(), "load": load, "results": results,
                                     "goals": goals})


if __name__ == "__main__":
    asyncio.run(main())
