"""`modrun bench --ray local`: a 40-run suite (20 benchmarks × inprocess and wasm) on a local Ray
cluster of 1 CPU and of 2 CPUs (one task per CPU, each pinned to its core), against the local path,
all in the same run; the wall time of the runs (the cluster's start apart) and whether the results
agree (the ratio of medians Ray/local per run).

    python bench/bench_ray.py [--time 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

import harness

from runner.bench.plan import BenchOptions, find_suites, parse_runtimes
from runner.bench.session import run_session

# Twenty benchmarks of different weights: string, array and object work at a few sizes.
SUITE = "\n".join([
    "const sizes = [10, 30, 100, 300, 1000];",
    "const arrays = Object.fromEntries(",
    "  sizes.map((n) => [n, Array.from({ length: n }, (_, i) => (i * 7919) % n)]));",
    "export const benchmarks = {};",
    "for (const n of sizes) {",
    "  const a = arrays[n];",
    "  benchmarks[`sort ${n}`] = () => [...a].sort((x, y) => x - y);",
    "  benchmarks[`join ${n}`] = () => a.join(',');",
    "  benchmarks[`map ${n}`] = () => a.map((x) => x * 2);",
    "  benchmarks[`object ${n}`] = () => Object.fromEntries(a.map((x, i) => [`k${i}`, x]));",
    "}",
]) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time", type=float, default=0.2)
    ns = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "forty.bench.js").write_text(SUITE)
        suites = find_suites([str(Path(tmp) / "forty.bench.js")], tmp)
        runtimes = parse_runtimes("inprocess,wasm", False)
        options = BenchOptions(time_s=ns.time)
        local = asyncio.run(run_session(suites, runtimes, options))
        ray = {cpus: asyncio.run(run_session(suites, runtimes, options, ray_address="local", ray_cpus=cpus))
               for cpus in (1, 2)}
    runs = len(local["results"])
    rows = [["local (one after the other)", runs, local["wall_s"], "", ""]]
    agreement = {}
    for cpus, report in ray.items():
        info = report["ray"]
        ratios = [r["stats"]["median_ns"] / here["stats"]["median_ns"]
                  for r, here in zip(report["results"], local["results"], strict=True)]
        agreement[cpus] = ratios
        rows.append([f"ray local, {cpus} CPU(s)", runs, info["tasks_s"], info["connect_s"],
                     f"{statistics.median(ratios):.2f} ({min(ratios):.2f}…{max(ratios):.2f})"])
    speedup = ray[1]["ray"]["tasks_s"] / ray[2]["ray"]["tasks_s"]
    print(harness.table(["path", "runs", "wall s (runs)", "cluster start s", "median ratio to local (min…max)"],
                        rows, "=== a 40-run suite ==="))
    print(f"2 CPUs vs 1: {speedup:.2f}x faster (ideal 2x on this 2-core machine)")
    goals = [harness.goal("2-CPU wall time relative to 1-CPU", 1 / speedup, 0.75, unit="x")]
    print(harness.goal_lines(goals))
    path = harness.write_results("bench_ray", {"rows": rows, "speedup": speedup, "goals": goals,
                                                "ratios": {str(k): v for k, v in agreement.items()},
                                                "ray": {str(k): v["ray"] for k, v in ray.items()}})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
