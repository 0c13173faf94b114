"""Cold start of a 500-module graph, as whole processes, side by side:

- `modrun run entry.js` with an empty transform cache (the cache dir is deleted before each run);
- `modrun run entry.js` again, with the transform cache warm (a second run);
- Node + Vite 8's ModuleRunner (a dev server in middleware mode, `runner.import('/entry.js')`);
- plain `node entry.js` (native ESM), for reference.

Runs are interleaved round-robin so drift hits every column alike. Each run's output is
checked: every peer must print the same checksum line. A second table splits one cold import,
run in this process (so without interpreter start-up and imports), into its parts.

The graph is written under bench/.cache (like a project directory; --workdir to change it):
creating files is slow on some file systems (0.2-0.6 ms per file here in /work and /tmp), which
the transform cache's 501 writes pay for. modrun processes get Python bytecode caching (see
modrun_env), as an installed package has.

Goal (from the issue): cold modrun <= 0.5x Vite's wall time.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import harness
import node_peers
import parts
from graph import generate, module_count
from processes import MODRUN, modrun_env, run_timed

GOAL = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=harness.CACHE_DIR,
                        help="where the graph is generated (default: bench/.cache)")
    ns = parser.parse_args()

    ns.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-cold-", dir=ns.workdir))
    try:
        entry = generate(work, ns.modules)
        cache = work / "node_modules" / ".modrun"
        vite_dir = node_peers.ensure_vite()
        has_node = node_peers.node() is not None

        def modrun_cold() -> tuple[float, str]:
            shutil.rmtree(cache, ignore_errors=True)
            return run_timed([MODRUN, "run", str(entry)], work, modrun_env())

        def modrun_warm() -> tuple[float, str]:
            return run_timed([MODRUN, "run", str(entry)], work, modrun_env())

        # A one-module run: the fixed cost of a modrun process (interpreter, imports, runtime boot).
        tiny = work / "tiny.js"
        tiny.write_text('console.log("{}");\n')

        def modrun_tiny() -> tuple[float, str]:
            return run_timed([MODRUN, "run", str(tiny)], work, modrun_env())

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
        breakdowns = parts.breakdown(work, "/entry.js", "inprocess", work / "node_modules" / ".modrun-parts",
                                     warm=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    summary = {name: harness.stats(values) for name, values in samples.items()}
    vite = summary.get("node + Vite 8 ModuleRunner")
    rows = []
    for name, s in summary.items():
        versus = harness.ratio(s["median"], vite["median"]) if vite else "-"
        rows.append([name, s["median"], s["min"], s["max"], versus])
    n = module_count(ns.modules)
    title = (f"cold_graph: {n} modules, wall time of a whole process, ms (median of {ns.repeat}); "
             f"ratio = median / Vite's median")
    print(harness.table(["run", "median ms", "min ms", "max ms", "x Vite"], rows, title))
    print(f"checksum line (all peers): {expected}")
    part_names = [("total", "one cold import in-process (no interpreter start-up)"),
                  ("transform", "  ssr_transform (parse, scope analysis, emit)"),
                  ("cache", "  transform cache lookups and writes"),
                  ("engine", "  engine (compile, link, evaluate, its JSON)"),
                  ("wire_json", "  host JSON of the messages"),
                  ("runtime", "  runtime creation"),
                  ("close", "  closing the server"),
                  ("host", "  other host work (resolve, load, fetchModule, asyncio)")]
    medians = {key: harness.stats([b[key] for b in breakdowns])["median"] for key, _ in part_names}
    cold_median = summary["modrun cold (empty transform cache)"]["median"]
    fixed = summary["modrun, 1-module graph (fixed cost)"]["median"]
    b_rows = [[label, medians[key], medians[key] / cold_median] for key, label in part_names]
    b_rows.append(["process fixed cost (1-module run, above)", fixed, fixed / cold_median])
    print()
    print(harness.table(["part", "ms (median of 3)", "share of cold run"], b_rows,
                        "where the cold run's time goes"))
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
        "samples": samples, "summary": summary, "in_process_breakdown": breakdowns, "goals": goals,
    })
    print(f"results: {path}")


if __name__ == "__main__":
    main()
