"""Run every benchmark, each in its own process, then summarise the goals.

    python bench/run_all.py [NAME ...]     # e.g. cold_graph compute; default: all

Each benchmark prints its own table and writes bench/results/<name>.json; this script adds a
summary of every goal (met or missed, and by how much) and writes bench/results/summary.json.
It exits non-zero only if a benchmark failed to run, not when a goal is missed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import harness

BENCHMARKS = ("cold_graph", "warm_reimport", "compute", "live_binding", "call_roundtrip",
              "wasm_start", "wasm_call", "wasm_compute", "wasm_idle", "wasm_before_after", "process_roundtrip",
              "timers", "whole_process", "code_verify", "typescript", "npm_import", "bench_overhead", "bench_stability",
              "bench_ray",
              "limits", "edge_profile", "scaling", "binding_roundtrip", "check_speed")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
        return 2
    failed = []
    durations = {}
    for name in names:
        print(f"=== {name} ===", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(harness.BENCH_DIR / f"{name}.py")])
        durations[name] = time.perf_counter() - started
        if done.returncode != 0:
            failed.append(name)
        print(f"({name}: {durations[name]:.1f} s)\n", flush=True)
    goals = []
    for name in names:
        path = harness.RESULTS_DIR / f"{name}.json"
        if name in failed or not path.exists():
            continue
        for goal in json.loads(path.read_text()).get("goals", []):
            goals.append({"benchmark": name, **goal})
    rows = [[g["benchmark"], g["goal"], f"{harness.fmt(g['achieved'])}{g['unit']}",
             f"<= {harness.fmt(g['target'])}{g['unit']}", "met" if g["met"] else "MISSED",
             "-" if g["met"] else f"{harness.fmt(g['achieved'] / g['target'])}x over"] for g in goals]
    print(harness.table(["benchmark", "goal", "achieved", "target", "verdict", "miss"], rows, "=== goals ==="))
    if failed:
        print(f"failed to run: {', '.join(failed)}")
    harness.write_results("summary", {"goals": goals, "failed": failed, "seconds": durations})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
