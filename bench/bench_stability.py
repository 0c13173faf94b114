"""`modrun bench` stability: the same suites run RUNS times (each run a whole session, every benchmark in
fresh runtimes); per (benchmark × runtime) the spread of the median across runs; then every later run
compared with the first as `--baseline` does — how many regressions it would claim where nothing changed.

    python bench/bench_stability.py [--runs 5] [--time 0.5] [--evaluator inprocess,wasm,process] [--node]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

import harness

from runner.bench import baseline
from runner.bench.plan import BenchOptions, find_suites, parse_runtimes
from runner.bench.session import run_session

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "bench"
SUITES = ("native.bench.js", "tinybench.bench.js", "vitest.bench.js")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--time", type=float, default=0.5)
    parser.add_argument("--evaluator", default="inprocess,wasm,process")
    parser.add_argument("--node", action="store_true")
    parser.add_argument("--bench-runs", type=int, default=3,
                        help="fresh runtimes per benchmark within each session (modrun bench --runs)")
    ns = parser.parse_args(argv)
    suites = find_suites([str(EXAMPLES / s) for s in SUITES], str(EXAMPLES))
    runtimes = parse_runtimes(ns.evaluator, ns.node)
    options = BenchOptions(time_s=ns.time, runs=ns.bench_runs)
    reports = []
    for i in range(ns.runs):
        print(f"run {i + 1}/{ns.runs} …", flush=True)
        reports.append(asyncio.run(run_session(suites, runtimes, options)))
    medians: dict[tuple[str, str], list[float]] = {}
    for report in reports:
        for result in report["results"]:
            if result["stats"]:
                medians.setdefault((result["benchmark"], result["runtime"]), []).append(result["stats"]["median_ns"])
    rows, spreads = [], []
    for (key, runtime), values in medians.items():
        mean = statistics.fmean(values)
        spread = (max(values) - min(values)) / mean
        cv = statistics.stdev(values) / mean if len(values) > 1 else 0.0
        spreads.append(spread)
        rows.append([f"{key} · {runtime}", mean, 100 * cv, 100 * spread])
    print(harness.table(["benchmark · runtime", "mean median ns", "CV %", "(max-min)/mean %"], rows,
                        f"=== median across {ns.runs} runs ==="))
    verdicts: dict[str, int] = {"regression": 0, "improvement": 0, "unchanged": 0}
    changes = []
    for later in reports[1:]:
        comparison = baseline.compare(later, reports[0], "run 1")
        for entry in comparison["entries"]:
            verdicts[entry["verdict"]] += 1
            changes.append(abs(entry["change_pct"]))
    compared = sum(verdicts.values())
    ordered = sorted(spreads)
    summary = {
        "spread_mean_pct": 100 * statistics.fmean(spreads), "spread_median_pct": 100 * statistics.median(spreads),
        "spread_p90_pct": 100 * ordered[int(0.9 * (len(ordered) - 1))], "spread_max_pct": 100 * ordered[-1],
        "baseline_comparisons": compared, **{f"claimed_{k}": v for k, v in verdicts.items()},
        "change_mean_pct": statistics.fmean(changes) if changes else 0.0,
    }
    print(harness.table(["measure", "value"], [[k, v] for k, v in summary.items()], "=== summary ==="))
    goals = [harness.goal("self-baseline regressions claimed", verdicts["regression"], 0, unit="")]
    print(f"goal: no regression claimed against a baseline of the same code -> "
          f"{'MET' if goals[0]['met'] else 'MISSED'} ({verdicts['regression']} of {compared} comparisons)")
    path = harness.write_results("bench_stability", {"runs": ns.runs, "time_s": ns.time, "summary": summary,
                                                      "rows": rows, "goals": goals})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
