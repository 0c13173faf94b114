"""Whole-process runs against native node, cold and warm, for each evaluator, on three graphs:

- tree: the generated 500-module graph of graph.py (501 modules);
- date-fns: the whole index of date-fns (about 250 `export *` lines), from npm;
- lodash-es: its full index (lodash.js, every function re-exported by name), from npm.

Columns per graph: `node entry.js` (native ESM: Node's own loader in C++ and V8, the physical
reference), and per evaluator `modrun run entry.js --evaluator E` cold (the transform cache
deleted before the run) and warm (the cache on disk from the previous run). Also each side's
fixed cost: a 1-module graph. Runs are interleaved round-robin so drift hits every column alike;
every run's output must equal node's. Ratios are paired: each run against node's run in the same
round, then averaged (mean and p90 of the per-round ratios).

Then, where the time goes: the fixed cost split into the interpreter and the imports, the imports
of a 1-module run per package (import_costs.py, `python -X importtime`), and one cold and one warm
import of each graph split into parts in this process (parts.py).

    python bench/whole_process.py [--repeat 5] [--graphs tree,date-fns,lodash-es]
                                  [--evaluators inprocess,wasm,process] [--no-parts]
                                  [--installed] [--base CHECKOUT] [--warm-only]

`--installed` runs modrun as users get it: a wheel built from this checkout, installed into a scratch
venv (installs.py); without it, this checkout's editable install. `--base CHECKOUT` (or its `modrun`
script) adds the same columns for another checkout (say main, in a worktree with its own .venv),
marked "(base)", in the same interleaved rounds: before/after pairs, each also as a paired ratio of
this checkout's run to the base's.
`--warm-only` skips the cold columns. Last, the size of each graph's cache directory on disk.

Goals (issue 8): cold <= 1.5x node, warm <= 1.0x node (mean of the paired ratios).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import import_costs
import installs
import node_peers
import packages
import parts
from graph import generate
from processes import MODRUN, modrun_env, run_timed

COLD_GOAL = 1.5
WARM_GOAL = 1.0
EVALUATORS = ("inprocess", "wasm", "process")
GRAPHS = ("tree", "date-fns", "lodash-es")


def bench_graphs(names: list[str], work: Path) -> dict[str, tuple[Path, Path]]:
    """graph name -> (project root, entry file)."""
    out: dict[str, tuple[Path, Path]] = {}
    if "tree" in names:
        entry = generate(work / "tree", 500)
        out["tree"] = (work / "tree", entry)
    wanted = [name for name in names if name != "tree"]
    if wanted:
        root, why = packages.ensure_installed()
        if root is None:
            print(f"(date-fns and lodash-es skipped: {why})")
        else:
            for name in wanted:
                out[name] = (root, root / f"{name}.js")
    return out


def _stats(values: list[float]) -> dict[str, float]:
    s = harness.stats(values)
    s["mean"] = statistics.fmean(values)
    return s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--graphs", default=",".join(GRAPHS))
    parser.add_argument("--evaluators", default=",".join(EVALUATORS))
    parser.add_argument("--no-parts", action="store_true", help="skip the in-process breakdown")
    parser.add_argument("--installed", action="store_true", help="run wheels installed in scratch venvs")
    parser.add_argument("--base", type=Path,
                        help="another checkout, or its modrun script, run side by side (columns marked (base))")
    parser.add_argument("--warm-only", action="store_true", help="no cold columns")
    ns = parser.parse_args()
    evaluators = [e for e in ns.evaluators.split(",") if e]
    if node_peers.node() is None:
        raise SystemExit("node is needed: it is the reference every ratio is taken against")

    harness.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-whole-", dir=harness.CACHE_DIR))
    env = modrun_env()
    here = Path(__file__).resolve().parent.parent
    # side label -> the `modrun` console script it runs ("" is this checkout)
    sides = {"": installs.installed(here) if ns.installed else MODRUN}
    if ns.base is not None:
        sides[" (base)"] = installs.modrun_of(ns.base.resolve(), ns.installed)
    print("modrun: " + ", ".join(f"{label.strip(' ()') or 'this checkout'} {script}" for label, script in sides.items())
          + (" (wheels in scratch venvs)" if ns.installed else " (editable installs)"), flush=True)
    try:
        graphs = bench_graphs([g for g in ns.graphs.split(",") if g], work)
        tiny = work / "tiny"
        tiny.mkdir()
        (tiny / "tiny.js").write_text('console.log("{}");\n')
        graphs_with_tiny = {**graphs, "1-module": (tiny, tiny / "tiny.js")}

        columns: dict[tuple[str, str], Callable[[], tuple[float, str]]] = {}
        for graph, (root, entry) in graphs_with_tiny.items():
            cache = root / "node_modules" / ".modrun"

            def native(root: Path = root, entry: Path = entry) -> tuple[float, str]:
                return run_timed(["node", str(entry)], root)

            columns[(graph, "node")] = native
            for evaluator in evaluators:
                # Each side's warm run right after its own cold one: the sides share the root's cache
                # directory (their entries apart: the key holds the transform's sources).
                for label, script in sides.items():
                    command = [script, "run", str(entry), "--evaluator", evaluator]

                    def cold(command: list[str] = command, root: Path = root, cache: Path = cache
                             ) -> tuple[float, str]:
                        shutil.rmtree(cache, ignore_errors=True)
                        return run_timed(command, root, env)

                    def warm(command: list[str] = command, root: Path = root) -> tuple[float, str]:
                        return run_timed(command, root, env)

                    if graph == "1-module":
                        columns[(graph, evaluator + label)] = warm
                    else:
                        if not ns.warm_only:
                            columns[(graph, f"{evaluator} cold{label}")] = cold
                        columns[(graph, f"{evaluator} warm{label}")] = warm

        expected = {graph: columns[(graph, "node")]()[1] for graph in graphs_with_tiny}
        for fn in columns.values():  # unmeasured: OS file cache, bytecode, wasm compile cache warm
            fn()
        samples: dict[tuple[str, str], list[float]] = {key: [] for key in columns}
        for round_ in range(ns.repeat):
            for (graph, column), fn in columns.items():
                elapsed, out = fn()
                if out != expected[graph]:
                    raise RuntimeError(f"{graph} / {column} printed {out!r}, node printed {expected[graph]!r}")
                samples[(graph, column)].append(elapsed)
            print(f"(round {round_ + 1} of {ns.repeat} done)", flush=True)

        disk = {graph: _disk_size(root / "node_modules" / ".modrun") for graph, (root, _entry) in graphs.items()}
        fixed = _fixed_cost(work, env, ns.repeat, sides)
        imports = {evaluator + label: import_costs.import_costs(tiny / "tiny.js", evaluator, ns.repeat, script)
                   for evaluator in evaluators for label, script in sides.items()}
        breakdowns: dict[str, Any] = {}
        if not ns.no_parts:
            for graph, (root, entry) in graphs.items():
                url = "/" + entry.relative_to(root).as_posix()
                for evaluator in evaluators:
                    for cached in (False, True):
                        key = f"{graph} / {evaluator} / {'warm' if cached else 'cold'}"
                        breakdowns[key] = parts.breakdown(root, url, evaluator, work / "parts-cache", warm=cached)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    summary = {f"{graph} / {column}": _stats(values) for (graph, column), values in samples.items()}
    ratios: dict[str, dict[str, float]] = {}
    rows = []
    goals = []
    for (graph, column), values in samples.items():
        node = samples[(graph, "node")]
        s = summary[f"{graph} / {column}"]
        if column == "node":
            rows.append([graph, column, s["mean"], s["median"], s["p90"], s["max"], "1", "1"])
            continue
        paired = [value / reference for value, reference in zip(values, node, strict=True)]
        r = _stats(paired)
        ratios[f"{graph} / {column}"] = r
        rows.append([graph, column, s["mean"], s["median"], s["p90"], s["max"], r["mean"], r["p90"]])
        if graph != "1-module" and not column.endswith("(base)"):
            target = COLD_GOAL if column.endswith("cold") else WARM_GOAL
            goals.append(harness.goal(f"{graph}: {column} / node", r["mean"], target))
    before_after = _before_after(samples)
    print()
    print(harness.table(["graph", "run", "mean ms", "median ms", "p90 ms", "max ms", "x node (mean)",
                         "x node (p90)"], rows,
                        f"whole process, wall time, {ns.repeat} interleaved rounds; x node = paired ratio to "
                        "node's run in the same round"))
    for graph, line in expected.items():
        print(f"  {graph}: every run printed {line}")
    if before_after:
        print()
        print(harness.table(["graph", "run", "this / base (mean)", "median", "p90", "max"],
                            [[*key.split(" / ", 1), r["mean"], r["median"], r["p90"], r["max"]]
                             for key, r in before_after.items()],
                            "this checkout against the base, paired per round (below 1: faster)"))
    print()
    print(harness.table(["graph", *sorted({name for sizes in disk.values() for name in sizes})],
                        [[graph, *[sizes.get(name, 0) / 1024 for name in sorted({n for s in disk.values() for n in s})]]
                         for graph, sizes in disk.items()],
                        "the cache directory on disk after the runs, KiB per database (with its WAL), and resolutions"))
    print()
    print(harness.table(["fixed cost of a process", "mean ms", "median ms", "p90 ms"],
                        [[name, s["mean"], s["median"], s["p90"]] for name, s in fixed.items()],
                        f"interpreter and imports, {ns.repeat * 2} runs each"))
    for evaluator, (costs, total) in imports.items():
        print()
        print(import_costs.table(costs, total, 12, f"the imports of a 1-module `modrun run --evaluator {evaluator}`, "
                                 f"ms, mean of {ns.repeat} runs (python -X importtime)"))
    if breakdowns:
        print()
        rows = []
        for key, runs in breakdowns.items():
            rows.append([key, *[statistics.median(run[part] for run in runs) for part in parts.PARTS]])
        print(harness.table(["import (in this process)", *parts.PARTS], rows,
                            "where an import's time goes, ms (median of 3; see bench/parts.py)"))
    print()
    print(harness.goal_lines(goals))
    path = harness.write_results("whole_process", {
        "repeat": ns.repeat, "unit": "ms",
        "versions": {"node": node_peers.node_version(), "date-fns": packages.version("date-fns"),
                     "lodash-es": packages.version("lodash-es")},
        "outputs": expected,
        "samples": {f"{g} / {c}": v for (g, c), v in samples.items()}, "summary": summary,
        "ratios_to_node": ratios, "this_to_base": before_after, "installed": ns.installed,
        "fixed_cost": fixed, "cache_bytes": disk, "breakdowns": breakdowns, "goals": goals,
        "imports": {evaluator: costs for evaluator, (costs, _) in imports.items()},
    })
    print(f"results: {path}")


def _disk_size(directory: Path) -> dict[str, int]:
    """Bytes per database in a cache directory, its -wal and -shm files counted with it, and of the
    remembered resolutions (runner/plugins/resolve_store.py: a file per environment and installation)."""
    sizes: dict[str, int] = {}
    for path in directory.glob("*.sqlite*") if directory.is_dir() else []:
        name = path.name.split(".sqlite")[0]
        sizes[name] = sizes.get(name, 0) + path.stat().st_size
    for path in directory.glob("resolutions-*.marshal") if directory.is_dir() else []:
        sizes["resolutions"] = sizes.get("resolutions", 0) + path.stat().st_size
    return sizes



def _before_after(samples: dict[tuple[str, str], list[float]]) -> dict[str, dict[str, float]]:
    """Each column of this checkout against the same column of the base, paired per round."""
    out = {}
    for (graph, column), values in samples.items():
        base = samples.get((graph, column + " (base)"))
        if base is not None:
            out[f"{graph} / {column}"] = _stats([v / b for v, b in zip(values, base, strict=True)])
    return out


def _fixed_cost(work: Path, env: dict[str, str], repeat: int, sides: dict[str, str]) -> dict[str, dict[str, float]]:
    """The interpreter alone, the interpreter with modrun's start-up imports (each side), and node alone."""
    commands = {}
    for label, script in sides.items():
        python = str(Path(script).with_name("python"))
        commands[f"python -c pass (interpreter, site){label}"] = [python, "-c", "pass"]
        commands[f"python: import what a `modrun run --evaluator inprocess` imports{label}"] = [
            python, "-c", "import runner.cli.run, runner.server, evaluators.inprocess"]
    commands["node -e 0"] = ["node", "-e", "0"]
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat * 2):
        for name, command in commands.items():
            samples[name].append(run_timed(command, work, env)[0])
    return {name: _stats(values) for name, values in samples.items()}


if __name__ == "__main__":
    main()
