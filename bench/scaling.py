"""How time and memory grow with the size of a module graph: modrun (each evaluator) and native
node, whole processes, side by side in the same run.

Shapes (shapes.py): an import tree of 100 to 5,000 modules, a barrel of 50 to 2,000 `export *`,
a chain of 50 to 1,000 `export *` re-exports (each module adding a name, so the first one's
namespace holds them all) and a chain of 50 to 1,000 `export { value } from` re-exports.

Each run is a whole process (`modrun run entry.js --evaluator X`, transform cache warm; `node
entry.js`), repeated and interleaved round-robin so that load on the machine hits every column
alike; every run's output is checked against the others'. Reported per run: wall time (median)
and peak RSS (the largest process of the run: for the process evaluator, the host or its worker).
A process's fixed cost (interpreter start, imports, runtime creation) does not grow with the
graph and would hide how the rest grows, so the growth exponent is fitted to the time above the
fixed cost: the same tool importing a one-module graph, run in the same rounds as every size (on a
loaded machine a fixed cost measured once, at another moment, can exceed a small graph's whole
time). Each round runs, per tool, the graph then the one-module graph; the time above the fixed
cost at a size is the fastest graph run less the fastest one-module run of its rounds (the fastest
run is the one the machine's load disturbed least). The exponent is the slope of log(time above
the fixed cost) against log(modules), over the sizes from the third on (all of them with
--quick). Linear growth is an exponent of 1.

Graphs are written once under bench/.cache/scaling. A log-log plot goes to
bench/results/scaling.png (with the `bench` extra installed: matplotlib).

Goal (from the issue): every shape grows linearly for modrun, exponent <= 1.15.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import harness
import node_peers
import shapes

MODRUN = str(Path(sys.executable).with_name("modrun"))
EVALUATORS = ("inprocess", "wasm", "process")
SIZES = {
    "tree": (100, 250, 500, 1000, 2500, 5000),
    "barrel": (50, 100, 250, 500, 1000, 2000),
    "star-chain": (50, 100, 250, 500, 1000),
    "named-chain": (50, 100, 250, 500, 1000),
}
QUICK_SIZES = {"tree": (100, 250, 500), "barrel": (50, 100, 250), "star-chain": (50, 100, 250),
               "named-chain": (50, 100, 250)}
GOAL_EXPONENT = 1.15
FIT_FROM = 2  # the sizes before this index are left out of the fit (the fixed cost dominates them)
TIMEOUT_S = 300.0


def modrun_env() -> dict[str, str]:
    """modrun processes get Python bytecode caching, as an installed package has, even where the
    environment turns it off; the bytecode goes to bench/.cache/pycache."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(harness.CACHE_DIR / "pycache")
    return env


class Timeout(Exception):
    pass


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None, timeout: float) -> tuple[float, int, str]:
    """Wall time (ms), peak RSS (KiB, the largest process: ru_maxrss of the child and the children
    it waited for) and the last line of stdout of one whole process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        reaped: dict[str, Any] = {}

        def reap() -> None:
            _, status, usage = os.wait4(proc.pid, 0)
            reaped.update(elapsed=time.perf_counter() - started, status=status, rss=usage.ru_maxrss)

        waiter = threading.Thread(target=reap)
        waiter.start()
        waiter.join(timeout)
        if waiter.is_alive():
            proc.kill()
            waiter.join()
            proc.returncode = -9
            raise Timeout(f"{' '.join(cmd)} took more than {timeout:g} s")
        proc.returncode = os.waitstatus_to_exitcode(reaped["status"])
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace").strip()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                               f"{err.read().decode(errors='replace')[-2000:]}")
    return reaped["elapsed"] * 1000, int(reaped["rss"]), stdout.splitlines()[-1] if stdout else ""


def tools(modrun: str, evaluators: list[str]) -> dict[str, list[str]]:
    """Each tool's command, to which the entry's path is appended."""
    out = {f"modrun {name}": [modrun, "run", "--evaluator", name] for name in evaluators}
    exe = node_peers.node()
    if exe is not None:
        out["node"] = [exe]
    return out


def measure(graph: Path, commands: dict[str, list[str]], repeat: int, skip: set[str],
            timeout: float, empty: Path) -> dict[str, dict[str, Any]]:
    """Each tool's runs on one graph, interleaved, each followed by a run on the one-module graph
    `empty` (its times in "fixed_ms"); a tool that times out is skipped from then on."""
    entry = graph / "entry.js"
    env = modrun_env()
    results: dict[str, dict[str, Any]] = {name: {"ms": [], "rss_kb": [], "fixed_ms": []}
                                          for name in commands if name not in skip}
    for name in list(results):  # a warm-up: fills modrun's transform cache
        try:
            results[name]["output"] = run([*commands[name], str(entry)], graph, env, timeout)[2]
        except Timeout as error:
            results[name]["error"] = str(error)
            skip.add(name)
    for _ in range(repeat):
        for name, result in results.items():
            if "error" in result:
                continue
            try:
                ms, rss, output = run([*commands[name], str(entry)], graph, env, timeout)
            except Timeout as error:
                result["error"] = str(error)
                skip.add(name)
                continue
            if output != result["output"]:
                raise RuntimeError(f"{name} printed {output!r}, then {result['output']!r}")
            result["ms"].append(ms)
            result["rss_kb"].append(rss)
            result["fixed_ms"].append(run([*commands[name], str(empty / "entry.js")], empty, env, timeout)[0])
    outputs = {result["output"] for result in results.values() if "error" not in result}
    if len(outputs) > 1:
        raise RuntimeError(f"the peers disagree on {entry}: {outputs}")
    return results


def fit_exponent(points: list[tuple[int, float]]) -> float | None:
    """The least-squares slope of log(y) against log(x), over points with y > 0."""
    usable = [(math.log(x), math.log(y)) for x, y in points if y > 0]
    if len(usable) < 2:
        return None
    mx = statistics.fmean(x for x, _ in usable)
    my = statistics.fmean(y for _, y in usable)
    var = sum((x - mx) ** 2 for x, _ in usable)
    return sum((x - mx) * (y - my) for x, y in usable) / var if var else None


def plot(path: Path, data: dict[str, Any], tool_names: list[str]) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import ticker
    except ImportError:
        print("(no plot: matplotlib is not installed; pip install -e '.[bench]')")
        return None
    shape_names = list(data["shapes"])
    fig, axes = plt.subplots(2, len(shape_names), figsize=(max(4.6 * len(shape_names), 7.0), 8.4), squeeze=False)
    colours = {name: f"C{i}" for i, name in enumerate(tool_names)}
    for column, shape in enumerate(shape_names):
        rows = data["shapes"][shape]
        top, bottom = axes[0][column], axes[1][column]
        for name in tool_names:
            points = [(row["modules"], row["tools"][name]) for row in rows if "rss_mb" in row["tools"].get(name, {})]
            if not points:
                continue
            exponent = data["exponents"][shape].get(name)
            label = f"{name} (k={exponent:.2f})" if exponent is not None else name
            # A time at or below the fixed cost (noise, at the smallest sizes) has no place on a log axis.
            timed = [(x, t["above_fixed_ms"]) for x, t in points if (t.get("above_fixed_ms") or 0) > 0]
            top.plot([x for x, _ in timed], [y for _, y in timed], "o-", color=colours[name], label=label)
            bottom.plot([x for x, _ in points], [t["rss_mb"] for _, t in points], "o-", color=colours[name], label=name)
        xs = [row["modules"] for row in rows]
        if xs:
            # A line of slope 1 through the largest size's median, for the eye.
            ref = [t["above_fixed_ms"] for t in rows[-1]["tools"].values() if t.get("above_fixed_ms")]
            if ref:
                y1 = statistics.median(ref)
                top.plot([xs[0], xs[-1]], [y1 * xs[0] / xs[-1], y1], ":", color="grey", label="linear (k=1)")
        top.set_title(f"{shape}: time above the fixed cost")
        top.set_xscale("log")
        top.set_yscale("log")
        top.set_xlabel("modules in the graph")
        top.set_ylabel("ms (fastest run less the fastest one-module run)")
        top.grid(True, which="both", alpha=0.3)
        top.legend(fontsize=8)
        bottom.set_title(f"{shape}: peak RSS")
        bottom.set_xscale("log")
        bottom.set_yscale("log")
        bottom.set_xlabel("modules in the graph")
        bottom.set_ylabel("MB")
        bottom.grid(True, which="both", alpha=0.3)
        bottom.legend(fontsize=8)
        for axis in (top.xaxis, top.yaxis, bottom.xaxis, bottom.yaxis):  # plain numbers at 1, 2, 5 x 10^n
            axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
            axis.set_minor_formatter(ticker.NullFormatter())
    fig.suptitle(f"scaling: modrun ({', '.join(data['evaluators'])}) and node, whole processes\n"
                 "k = fitted growth exponent of the time above the fixed cost", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="*", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--evaluators", nargs="*", default=list(EVALUATORS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the three smallest sizes of each shape")
    parser.add_argument("--modrun", default=MODRUN, help="the modrun executable (to measure another build)")
    parser.add_argument("--name", default="scaling", help="the results' name (bench/results/NAME.json, .png)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S,
                        help="seconds a run may take; a tool that takes longer is left out of larger sizes")
    ns = parser.parse_args()
    sizes = QUICK_SIZES if ns.quick else SIZES
    commands = tools(ns.modrun, ns.evaluators)
    names = list(commands)
    root = harness.CACHE_DIR / "scaling"

    empty = root / "empty"
    shapes.write("empty", 0, empty)
    for name in names:  # fills modrun's transform cache for the one-module graph
        run([*commands[name], str(empty / "entry.js")], empty, modrun_env(), ns.timeout)
    fixed_runs: dict[str, list[float]] = {name: [] for name in names}
    data: dict[str, Any] = {"evaluators": ns.evaluators, "shapes": {}, "exponents": {}}
    for shape in ns.shapes:
        skip: set[str] = set()
        rows = []
        for size in sizes[shape]:
            graph = root / f"{shape}-{size}"
            shapes.write(shape, size, graph)
            measured = measure(graph, commands, ns.repeat, skip, ns.timeout, empty)
            row: dict[str, Any] = {"size": size, "modules": shapes.modules(shape, size), "tools": {}}
            for name, result in measured.items():
                if not result["ms"]:
                    row["tools"][name] = {"error": result.get("error", "no run")}
                    continue
                fixed_runs[name].extend(result["fixed_ms"])
                row["tools"][name] = {
                    "ms": result["ms"], "median_ms": statistics.median(result["ms"]), "max_ms": max(result["ms"]),
                    "fixed_ms": result["fixed_ms"], "above_fixed_ms": min(result["ms"]) - min(result["fixed_ms"]),
                    "rss_mb": max(result["rss_kb"]) / 1024,
                }
            rows.append(row)
            print(f"  {shape} {size}: " + ", ".join(
                f"{n} {t['median_ms']:.0f} ms" if "median_ms" in t else f"{n} -" for n, t in row["tools"].items()),
                flush=True)
        data["shapes"][shape] = rows
        fit_from = FIT_FROM if len(rows) > FIT_FROM + 2 else 0
        data["exponents"][shape] = {
            name: fit_exponent([(row["modules"], row["tools"][name]["above_fixed_ms"]) for row in rows[fit_from:]
                                if "above_fixed_ms" in row["tools"].get(name, {})])
            for name in names
        }

    data["fixed_ms"] = {name: statistics.median(runs) for name, runs in fixed_runs.items() if runs}
    print()
    print(harness.table(["tool", "median", "min", "max"],
                        [[n, statistics.median(r), min(r), max(r)] for n, r in fixed_runs.items() if r],
                        "one-module graph (ms): the fixed cost of a whole process, over every round"))
    for shape, rows in data["shapes"].items():
        headers = (["modules"] + [f"{n} ms" for n in names] + [f"{n} above fixed" for n in names]
                   + [f"{n} MB" for n in names])
        table_rows = []
        for row in rows:
            tools_ = row["tools"]
            table_rows.append([row["modules"]]
                              + [tools_[n].get("median_ms", "timeout") if n in tools_ else "-" for n in names]
                              + [tools_[n].get("above_fixed_ms", "-") if n in tools_ else "-" for n in names]
                              + [tools_[n].get("rss_mb", "-") if n in tools_ else "-" for n in names])
        ratios = []
        if "node" in names:
            for n in names:
                if n == "node":
                    continue
                last = next((r for r in reversed(rows) if "median_ms" in r["tools"].get(n, {})
                             and "median_ms" in r["tools"].get("node", {})), None)
                if last:
                    times = last["tools"]
                    ratio = harness.ratio(times[n]["median_ms"], times["node"]["median_ms"])
                    ratios.append(f"{n} {ratio:.2f}x node at {last['modules']} modules")
        print()
        print(harness.table(headers, table_rows, f"{shape}: whole process, median of {ns.repeat}; the fastest run "
                            "above the fastest one-module run; peak RSS"))
        exps = data["exponents"][shape]
        print("growth exponent (of the time above the fixed cost): " + ", ".join(
            f"{n} {exps[n]:.2f}" if exps.get(n) is not None else f"{n} -" for n in names))
        if ratios:
            print("largest size: " + "; ".join(ratios))
    goals = []
    for shape, exps in data["exponents"].items():
        for name, exponent in exps.items():
            if name.startswith("modrun") and exponent is not None:
                goals.append(harness.goal(f"{shape} growth exponent, {name}", exponent, GOAL_EXPONENT, ""))
    print()
    print(harness.goal_lines(goals))
    png = plot(harness.RESULTS_DIR / f"{ns.name}.png", data, names)
    if png:
        print(f"plot: {png}")
    path = harness.write_results(ns.name, {
        "repeat": ns.repeat, "modrun": ns.modrun, "versions": {"node": node_peers.node_version()},
        **data, "goals": goals,
    })
    print(f"results: {path}")


if __name__ == "__main__":
    if node_peers.node() is None:
        print("(node is not installed: the node column is left out)")
    main()
