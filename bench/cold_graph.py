"""Cold start of a 500-module graph, as whole processes, side by side:

- `modrun run entry.js` with an empty transform cache (the cache dir is deleted before each run);
- `modrun run entry.js` again, with the transform cache warm (a second run);
- Node + Vite 8's ModuleRunner (a dev server in middleware mode, `runner.import('/entry.js')`);
- plain `node entry.js` (native ESM), for reference.

Runs are interleaved round-robin so drift hits every column alike. Each run's output is
checked: every peer must print the same checksum line.

Goal (from the issue): cold modrun <= 0.5x Vite's wall time.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness
import node_peers
from graph import generate, module_count

MODRUN = str(Path(sys.executable).with_name("modrun"))
GOAL = 0.5


def run_timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    ns = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="modrun-bench-cold-"))
    try:
        entry = generate(work, ns.modules)
        cache = work / "node_modules" / ".modrun"
        vite_dir = node_peers.ensure_vite()
        has_node = node_peers.node() is not None

        def modrun_cold() -> tuple[float, str]:
            shutil.rmtree(cache, ignore_errors=True)
            return run_timed([MODRUN, "run", str(entry)], work)

        def modrun_warm() -> tuple[float, str]:
            return run_timed([MODRUN, "run", str(entry)], work)

        # A one-module run: the fixed cost of a modrun process (interpreter, imports, runtime boot).
        tiny = work / "tiny.js"
        tiny.write_text('console.log("{}");\n')

        def modrun_tiny() -> tuple[float, str]:
            return run_timed([MODRUN, "run", str(tiny)], work)

        columns: dict[str, object] = {
            "modrun cold (empty transform cache)": modrun_cold,
            "modrun warm (second run, cache on disk)": modrun_warm,
            "modrun, 1-module graph (fixed cost)": modrun_tiny,
        }
        if vite_dir is not None:
            columns["node + Vite 8 ModuleRunner"] = lambda: run_timed(
                ["node", node_peers.script("vite_import.mjs"), str(work), "/entry.js"], work, node_peers.node_env())
        if has_node:
            columns["node entry.js (native ESM)"] = lambda: run_timed(["node", str(entry)], work)
            columns["node, 1-module graph (fixed cost)"] = lambda: run_timed(["node", str(tiny)], work)

        # One unmeasured round: OS file cache, Python bytecode, npm packages all warm.
        expected = modrun_cold()[1]
        samples: dict[str, list[float]] = {name: [] for name in columns}
        for _ in range(ns.repeat):
            for name, fn in columns.items():
                elapsed, out = fn()  # type: ignore[operator]
                if "1-module" not in name and out != expected:
                    raise RuntimeError(f"{name} printed {out!r}, expected {expected!r}")
                samples[name].append(elapsed)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    summary = {name: harness.stats(values) for name, values in samples.items()}
    vite = summary.get("node + Vite 8 ModuleRunner")
    rows = []
    for name, s in summary.items():
        rows.append([name, s["median"], s["min"], s["max"], harness.ratio(s["median"], vite["median"]) if vite else "-"])
    n = module_count(ns.modules)
    title = (f"cold_graph: {n} modules, wall time of a whole process, ms (median of {ns.repeat}); "
             f"ratio = median / Vite's median")
    print(harness.table(["run", "median ms", "min ms", "max ms", "x Vite"], rows, title))
    print(f"checksum line (all peers): {expected}")
    goals = []
    if vite:
        cold = summary["modrun cold (empty transform cache)"]["median"]
        goals.append(harness.goal("cold modrun / Vite wall time", harness.ratio(cold, vite["median"]), GOAL))
        print(harness.goal_lines(goals))
    else:
        print("(Vite unavailable: no ratio)")
    path = harness.write_results("cold_graph", {
        "modules": n, "repeat": ns.repeat, "unit": "ms",
        "versions": {"node": node_peers.node_version(), "vite": node_peers.vite_version()},
        "samples": samples, "summary": summary, "goals": goals,
    })
    print(f"results: {path}")


if __name__ == "__main__":
    main()
