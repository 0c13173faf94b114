"""Soak and load: runtimes created, used and destroyed many times, and many concurrent calls.

Per evaluator, `--cycles` times: create a runtime (Environment.create_runner), import a module,
call an export, check the answer, close the runtime. RSS, open file descriptors, threads and
child processes are read at the start, after the warm-up (the first tenth of the cycles) and at
the end; the goal is RSS growth under 5 % after warm-up and no leaked descriptors, threads or
children. Then `--tasks` asyncio tasks call through one environment's runtime at once, each with
its own argument, and every answer is checked to be its own (no lost or crossed results).

    python bench/soak.py [--cycles 10000] [--tasks 1000] [--evaluators inprocess,wasm,process]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import harness

from runner import ModuleProxy, Server

MODULE = """
let calls = 0;
export function echo(value) { calls++; return { value, calls }; }
export async function later(value) { await null; return value; }
"""


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def children() -> int:
    count = 0
    for task in os.listdir("/proc/self/task"):
        try:
            count += len(Path(f"/proc/self/task/{task}/children").read_text().split())
        except OSError:
            pass
    return count


def sample() -> dict[str, float]:
    return {"rss_mb": rss_mb(), "fds": len(os.listdir("/proc/self/fd")), "threads": threading.active_count(),
            "os_threads": len(os.listdir("/proc/self/task")), "children": children()}


async def cycles(root: Path, evaluator: str, n: int) -> dict[str, Any]:
    async with Server(root=root, cache_dir=False, environments={"x": {"evaluator": evaluator}}) as server:
        env = server.environments["x"]
        points: dict[str, dict[str, float]] = {"start": sample()}
        warmup = max(1, n // 10)
        started = time.perf_counter()
        for i in range(n):
            runner = await env.create_runner()
            try:
                mod = await ModuleProxy.load(runner, "/soak.js")
                answer = await mod.echo(i)
                if answer != {"value": i, "calls": 1}:
                    raise AssertionError(f"cycle {i}: {answer}")
            finally:
                await runner.close()
            if i + 1 == warmup:
                points["warm"] = sample()
        seconds = time.perf_counter() - started
        points["end"] = sample()
    return {"points": points, "cycles": n, "seconds": seconds}


async def concurrent(root: Path, evaluator: str, tasks: int) -> dict[str, Any]:
    async with Server(root=root, cache_dir=False, environments={"x": {"evaluator": evaluator}}) as server:
        mod = await server.environments["x"].import_module("/soak.js")
        started = time.perf_counter()
        answers = await asyncio.gather(*(mod.later(i) for i in range(tasks)), *(mod.echo(-i) for i in range(tasks)))
        seconds = time.perf_counter() - started
    crossed = sum(1 for i, got in enumerate(answers[:tasks]) if got != i)
    crossed += sum(1 for i, got in enumerate(answers[tasks:]) if got["value"] != -i)
    calls = sorted(got["calls"] for got in answers[tasks:])
    lost = tasks - len(answers[tasks:]) + (0 if calls == list(range(1, tasks + 1)) else 1)
    return {"tasks": 2 * tasks, "crossed": crossed, "lost": lost, "seconds": seconds}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--evaluators", default="inprocess,wasm,process")
    options = parser.parse_args()
    load = os.getloadavg()
    results: dict[str, Any] = {}
    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "soak.js").write_text(MODULE)
        for evaluator in options.evaluators.split(","):
            soak = await cycles(root, evaluator, options.cycles)
            load_run = await concurrent(root, evaluator, options.tasks)
            results[evaluator] = {"soak": soak, "concurrent": load_run}
            p = soak["points"]
            growth = (p["end"]["rss_mb"] - p["warm"]["rss_mb"]) / p["warm"]["rss_mb"] * 100
            rows.append([evaluator, soak["cycles"], p["start"]["rss_mb"], p["warm"]["rss_mb"], p["end"]["rss_mb"],
                         f"{growth:+.1f} %", f"{p['warm']['fds']}->{p['end']['fds']}",
                         f"{p['warm']['os_threads']}->{p['end']['os_threads']}",
                         f"{p['warm']['children']}->{p['end']['children']}",
                         soak["seconds"] / soak["cycles"] * 1000, load_run["tasks"], load_run["lost"],
                         load_run["crossed"]])
    print(harness.table(["evaluator", "cycles", "RSS start MB", "warm MB", "end MB", "growth", "fds", "threads",
                         "children", "ms/cycle", "calls", "lost", "crossed"], rows,
                        title=f"soak (load average {load[0]:.1f})"))
    harness.write_results("soak", {"environment": harness.environment(), "load": load, "results": results})


if __name__ == "__main__":
    asyncio.run(main())
