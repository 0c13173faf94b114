"""`modrun check` on all of lodash-es and date-fns (every module of each, through their index), as
whole processes, side by side in the same run with `modrun run` of the same entry and `node`:

- `modrun check ENTRY --json`: the static analysis, with the transform cache emptied before each run
  (cold) and kept (warm); the report's own `duration_ms` (the walk, without process start-up) is
  kept too, and divided by the modules walked: the time per module;
- `modrun check ENTRY --run --json`: the same, then the import in a fresh runtime;
- `modrun run ENTRY`, cold and warm; `node ENTRY` for reference.

Runs are interleaved round-robin so that drift on this loaded machine hits every column alike; each
`modrun run` must print what Node prints. The packages come
from tests/npm/packages' lockfile, installed by npm into bench/.cache/npm/packages.

    python bench/check_speed.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import harness
import node_peers
from processes import MODRUN, modrun_env, run_timed

sys.path.insert(0, str(harness.BENCH_DIR.parent))

from tests.npm_cache import Unavailable, ensure  # noqa: E402

ENTRIES = {
    "lodash-es": ("check_lodash.mjs", 'import * as _ from "lodash-es";\n'
                  "console.log(Object.keys(_).length, _.chunk([1, 2, 3, 4, 5], 2).length);\n"),
    "date-fns": ("check_date_fns.mjs", 'import * as d from "date-fns";\n'
                 "console.log(Object.keys(d).length, d.format(new Date(2020, 0, 2), 'yyyy-MM-dd'));\n"),
}


def install() -> Path:
    try:
        root = ensure("packages", cache=harness.CACHE_DIR / "npm")
    except Unavailable as reason:
        raise SystemExit(str(reason)) from None
    for file, source in ENTRIES.values():
        (root / file).write_text(source)
    return root


def check_timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, dict]:
    """Wall time (ms) of one `modrun check --json` process and its report (exit 0 or 1: lodash-es
    compiles with `Function` and date-fns uses `Intl`, which the edge profile lacks: both are findings)."""
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed, json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    node = node_peers.node()
    if node is None:
        print("node is needed: it is a peer of this benchmark")
        return 1
    root = install()
    env = modrun_env()
    cache = root / "node_modules" / ".modrun"
    load_before = os.getloadavg()
    results: dict[str, dict[str, object]] = {}
    rows = []
    for package, (file, _) in ENTRIES.items():
        checks = {
            "modrun check (cold)": [MODRUN, "check", file, "--json"],
            "modrun check (warm)": [MODRUN, "check", file, "--json"],
            "modrun check --run (warm)": [MODRUN, "check", file, "--json", "--run"],
        }
        runs = {
            "modrun run (cold)": [MODRUN, "run", file],
            "modrun run (warm)": [MODRUN, "run", file],
            "node": [node, file],
        }
        expected = subprocess.run([node, file], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        run_timed(runs["modrun run (warm)"], root, env)  # the Python side's own bytecode, once
        wall: dict[str, list[float]] = {name: [] for name in [*checks, *runs]}
        walk: dict[str, list[float]] = {name: [] for name in checks}
        modules = 0
        for _ in range(args.repeat):
            for name, cmd in checks.items():
                if "cold" in name:
                    shutil.rmtree(cache, ignore_errors=True)
                elapsed, report = check_timed(cmd, root, env)
                wall[name].append(elapsed)
                walk[name].append(report["summary"]["duration_ms"])
                modules = report["summary"]["modules"]
            for name, cmd in runs.items():
                if "cold" in name:
                    shutil.rmtree(cache, ignore_errors=True)
                elapsed, out = run_timed(cmd, root, env if cmd[0] == MODRUN else None)
                if out != expected:
                    raise SystemExit(f"{package}: {name} printed {out!r}, node printed {expected!r}")
                wall[name].append(elapsed)
        stats = {name: harness.stats(values) for name, values in wall.items()}
        walks = {name: harness.stats(values) for name, values in walk.items()}
        results[package] = {"modules": modules, "wall_ms": stats, "report_duration_ms": walks}
        reference = stats["modrun run (warm)"]["mean"]
        for name, stat in stats.items():
            inside = walks.get(name)
            rows.append([package, modules, name, stat["mean"], stat["median"], stat["p90"], stat["max"],
                         harness.ratio(stat["mean"], reference),
                         inside["mean"] if inside else "", inside["mean"] / modules * 1000 if inside else ""])
    load_after = os.getloadavg()
    print(harness.table(
        ["package", "modules", "process", "mean ms", "median ms", "p90 ms", "max ms", "x run (warm)",
         "report ms", "µs / module"], rows,
        title=f"modrun check vs modrun run, whole processes ({args.repeat} interleaved rounds; node "
              f"{node_peers.node_version()}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after)"))
    print("report ms: the walk as the report times it (no process start-up); µs / module: that, per module walked")
    harness.write_results("check_speed", {"repeat": args.repeat, "load_average": [load_before, load_after],
                                          "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
