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
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
import node_peers
from graph import generate, module_count

MODRUN = str(Path(sys.executable).with_name("modrun"))
GOAL = 0.5


def modrun_env() -> dict[str, str]:
    """modrun processes get Python bytecode caching, as an installed package has, even where the
    environment turns it off (PYTHONDONTWRITEBYTECODE): the bytecode goes to bench/.cache/pycache,
    outside the source tree. Without it every process recompiles runner/ (about 35 ms here)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(harness.CACHE_DIR / "pycache")
    return env


def run_timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done.stdout.strip()


def _sink(level: str, text: str) -> None:
    pass


async def _in_process(work: Path, cache_dir: Path) -> dict[str, float]:
    """One cold import in this process, split into parts (ms). Patches internals of
    runner/transform/ssr_transform.py and runner/transform_cache.py for the duration."""
    import runner.transform.ssr_transform as ssr_transform_module
    from runner import Server
    from runner.rpc.exports import ModuleProxy
    from runner.transform_cache import TransformCache

    parts = {"ssr_transform": 0.0, "cache_get": 0.0, "cache_put": 0.0, "engine": 0.0}

    def timed(fn: Any, part: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                parts[part] += time.perf_counter() - started
        return wrapper

    # transform_request imports ssr_transform from its module when a transform is needed.
    saved = (ssr_transform_module.ssr_transform, TransformCache.get, TransformCache.put, TransformCache.flush)
    ssr_transform_module.ssr_transform = timed(saved[0], "ssr_transform")  # type: ignore[assignment]
    TransformCache.get = timed(saved[1], "cache_get")  # type: ignore[method-assign]
    TransformCache.put = timed(saved[2], "cache_put")  # type: ignore[method-assign]
    TransformCache.flush = timed(saved[3], "cache_put")  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        async with Server(root=work, cache_dir=cache_dir, on_console=_sink) as server:
            runner = await server.environments["ssr"].create_runner(on_console=_sink)
            receive = runner.transport.receive

            async def timed_receive(budget: Any) -> Any:
                t = time.perf_counter()
                try:
                    return await receive(budget)
                finally:
                    parts["engine"] += time.perf_counter() - t

            runner.transport.receive = timed_receive  # type: ignore[method-assign]
            await ModuleProxy.load(runner, "/entry.js")
            total = time.perf_counter() - started
    finally:
        ssr_transform_module.ssr_transform = saved[0]  # type: ignore[assignment]
        TransformCache.get, TransformCache.put, TransformCache.flush = saved[1:]  # type: ignore[method-assign]
    out = {key: value * 1000 for key, value in parts.items()}
    out["total"] = total * 1000
    out["other_host"] = out["total"] - sum(v for k, v in out.items() if k != "total")
    return out


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
        breakdowns = []
        for i in range(3):
            breakdowns.append(asyncio.run(_in_process(work, work / "node_modules" / f".modrun-inprocess-{i}")))
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
                  ("ssr_transform", "  ssr_transform (parse, scope analysis, emit)"),
                  ("cache_put", "  transform cache writes"),
                  ("cache_get", "  transform cache lookups (misses)"),
                  ("engine", "  engine (compile, link, evaluate, JSON)"),
                  ("other_host", "  other host work (resolve, load, fetchModule, asyncio)")]
    parts = {key: harness.stats([b[key] for b in breakdowns])["median"] for key, _ in part_names}
    cold_median = summary["modrun cold (empty transform cache)"]["median"]
    fixed = summary["modrun, 1-module graph (fixed cost)"]["median"]
    b_rows = [[label, parts[key], parts[key] / cold_median] for key, label in part_names]
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
