"""Wasm sandbox start: how long until a new sandbox is ready to import.

- warm process: `WasmTransport(options)`: a new instance of the snapshot (the runtime booted
  and the module runner loaded), its limits set; beside it the in-process evaluator's runtime
  and a quickjs-rs Runtime + Context; and a breakdown of the wasm sandbox's start;
- what the snapshot saves: the same sandbox booted from scratch (instantiate the reactor with its
  stop checks, initialise libc, create the runtime, load the runner bundle);
- fresh process, on-disk cache: a new interpreter imports modrun, then the wasm evaluator
  (wasmtime), loads the compiled snapshot from the cache and makes a sandbox; each step timed
  inside the process, and the whole process timed from outside; quickjs-rs beside (it has no
  compile cache);
- first run ever (empty cache): stop checks, boot under Winch, snapshot, compile with Cranelift.

Goals (from the issue): warm p50 <= 1 ms; fresh process with the on-disk cache <= 50 ms (the
evaluator's own start: loading the wasmtime library, the engine, the cached snapshot and the sandbox).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
import quickjs_rs_peer

from evaluators.inprocess import InProcessTransport
from evaluators.options import RuntimeOptions
from evaluators.wasm import capi
from evaluators.wasm.engine import shared_engine
from evaluators.wasm.evaluator import WasmTransport
from evaluators.wasm.guest import Guest, function_types, signatures
from runner.js.bundle import boot_expression

ROOT = Path(__file__).resolve().parents[1]
WARM_GOAL_MS = 1.0
FRESH_GOAL_MS = 50.0

FRESH_SCRIPT = """
import json, time
t0 = time.perf_counter()
import runner
t1 = time.perf_counter()
import evaluators.wasm.capi
t2 = time.perf_counter()
from evaluators.wasm.evaluator import WasmTransport
from evaluators.options import RuntimeOptions
from evaluators.wasm.engine import shared_engine
t3 = time.perf_counter()
engine = shared_engine()
t4 = time.perf_counter()
snapshot = engine.snapshot(WasmTransport.runtime_config(RuntimeOptions()))  # the one a sandbox is made from
t5 = time.perf_counter()
transport = WasmTransport(RuntimeOptions())
t6 = time.perf_counter()
ms = lambda a, b: (b - a) * 1000
print(json.dumps({"import_runner": ms(t0, t1), "import_wasmtime": ms(t1, t2), "import_evaluator": ms(t2, t3),
                  "engine": ms(t3, t4), "snapshot": ms(t4, t5), "source": snapshot.source,
                  **{"snapshot: " + step: value for step, value in snapshot.timings.items()},
                  "first_sandbox": ms(t5, t6), "evaluator_start": ms(t1, t6), "total_inside": ms(t0, t6)}))
"""


def _warm(repeat: int) -> dict[str, Any]:
    options = RuntimeOptions()
    WasmTransport(options)  # the snapshot is loaded (or built) before timing
    wasm = harness.time_ms(lambda: WasmTransport(options), repeat, warmup=20)
    inprocess = harness.time_ms(lambda: InProcessTransport(options), max(50, repeat // 10), warmup=5)
    return {"wasm": harness.stats(wasm), "inprocess": harness.stats(inprocess)}


def _breakdown(repeat: int) -> dict[str, float]:
    """Where a warm sandbox's start goes (medians, ms)."""
    engine = shared_engine()
    options = RuntimeOptions()
    snapshot = engine.snapshot(WasmTransport.runtime_config(options))
    parts: dict[str, list[float]] = {"store + WASI context": [], "instantiate (copy-on-write image)": [],
                                     "driver setup": [], "reseed + limits": []}
    for _ in range(repeat):
        t0 = time.perf_counter()
        store = capi.Store(engine.engine)
        t1 = time.perf_counter()
        instance = store.instantiate_pre(snapshot.pre)
        t2 = time.perf_counter()
        guest = Guest(store, instance, snapshot.signatures)
        guest.restore(snapshot.booted.state)
        t3 = time.perf_counter()
        guest.reseed()
        guest.set_limits(None, 1 << 20)
        t4 = time.perf_counter()
        for key, (a, b) in zip(parts, [(t0, t1), (t1, t2), (t2, t3), (t3, t4)], strict=True):
            parts[key].append((b - a) * 1000)
        store.close()
    return {key: statistics.median(values) for key, values in parts.items()}


def _without_snapshot(repeat: int) -> dict[str, float]:
    """Booting a sandbox from scratch in the optimised (Cranelift) build of the reactor."""
    engine = shared_engine()
    module = capi.compile_module(engine.engine, engine.with_stop_checks())
    pre = capi.instantiate_pre(engine.linker, module)
    sigs = signatures(function_types(engine.with_stop_checks()))
    source = boot_expression(RuntimeOptions().runtime_config())
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        store = capi.Store(engine.engine)
        guest = Guest(store, store.instantiate_pre(pre), sigs)
        guest.call("_initialize")
        guest.create_runtime()
        guest.free_value(guest.eval(source, "<input>"))
        guest.run_jobs()
        samples.append((time.perf_counter() - t0) * 1000)
        store.close()
    return harness.stats(samples)


def _fresh(repeat: int) -> dict[str, Any]:
    # As installed packages are: with their bytecode cached (one unmeasured run writes it, even
    # where PYTHONDONTWRITEBYTECODE is set for this shell).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", FRESH_SCRIPT], capture_output=True, cwd=ROOT, env=env, check=True)
    runs = []
    outside = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", FRESH_SCRIPT], capture_output=True, text=True, cwd=ROOT,
                              env=env, check=True)
        outside.append((time.perf_counter() - t0) * 1000)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    for run, whole in zip(runs, outside, strict=True):
        run["whole_process"] = whole
    keys = [k for k in runs[0] if k != "source"]
    medians = {k: statistics.median(r[k] for r in runs) for k in keys}
    means = {k: statistics.fmean(r[k] for r in runs) for k in keys}
    worst = {k: max(r[k] for r in runs) for k in keys}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
    startup = (time.perf_counter() - started) * 1000
    medians["python_startup"] = means["python_startup"] = worst["python_startup"] = startup
    return {"medians": medians, "means": means, "worst": worst, "sources": sorted({r["source"] for r in runs})}


def _cold() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="modrun-wasm-cold-") as directory:
        env = {**os.environ, "MODRUN_WASM_CACHE": directory}
        done = subprocess.run([sys.executable, "-c", FRESH_SCRIPT], capture_output=True, text=True, cwd=ROOT,
                              env=env, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1000, help="warm sandboxes to time")
    parser.add_argument("--fresh", type=int, default=7, help="fresh processes to time")
    ns = parser.parse_args(argv)

    warm = _warm(ns.repeat)
    breakdown = _breakdown(200)
    scratch = _without_snapshot(20)
    fresh = _fresh(ns.fresh)
    cold = _cold()
    peer = quickjs_rs_peer.run("start", "200")

    w, f = warm["wasm"], fresh["medians"]
    rows = [
        ["wasm sandbox (snapshot), warm process", w["median"], w["p90"], w["min"]],
        ["in-process QuickJS runtime, warm process", warm["inprocess"]["median"], warm["inprocess"]["p90"],
         warm["inprocess"]["min"]],
        ["wasm sandbox booted without the snapshot", scratch["median"], scratch["p90"], scratch["min"]],
    ]
    if peer:
        rows.append([f"quickjs-rs {quickjs_rs_peer.version()} Runtime + Context, warm", peer["warm_p50_ms"],
                     peer["warm_p90_ms"], ""])
    print(harness.table(["new sandbox ready to import", "p50 ms", "p90 ms", "min ms"], rows,
                        title="Warm process"))
    print()
    print(harness.table(["step", "median ms"], [[k, v] for k, v in breakdown.items()],
                        title="Where a warm wasm sandbox's start goes"))
    print()
    labels = [
        ("python_startup", "python interpreter start (`python -c pass`)"),
        ("import_runner", "import runner (modrun itself; any evaluator)"),
        ("import_wasmtime", "import the wasmtime library (evaluators/wasm/capi.py)"),
        ("import_evaluator", "import the wasm evaluator"),
        ("engine", "engine (config, linker, reactor identity)"),
        ("snapshot", f"snapshot from the on-disk cache ({', '.join(fresh['sources'])})"),
        *[(key, f"  {key[len('snapshot: '):]}") for key in f if key.startswith("snapshot: ")],
        ("first_sandbox", "first sandbox"),
        ("evaluator_start", "= the wasm evaluator's start (wasmtime import .. sandbox)"),
        ("whole_process", "whole process, timed from outside"),
    ]
    fresh_rows: list[list[Any]] = [[label, f[key], fresh["means"][key], fresh["worst"][key]] for key, label in labels]
    fresh_rows.append(["first run ever (empty cache): snapshot built", cold["snapshot"], "", ""])
    if peer:
        fresh_rows.append(["quickjs-rs: import + first Runtime + Context (no cache)", peer["fresh_process_ms"], "", ""])
    print(harness.table(["fresh process", "median ms", "mean ms", "worst ms"], fresh_rows,
                        title=f"Fresh process, on-disk cache, {ns.fresh} processes"))
    goals = [harness.goal("warm sandbox p50", w["median"], WARM_GOAL_MS, " ms"),
             harness.goal("fresh process, wasm evaluator start", f["evaluator_start"], FRESH_GOAL_MS, " ms")]
    print()
    print(harness.goal_lines(goals))
    path = harness.write_results("wasm_start", {"warm": warm, "breakdown_ms": breakdown, "without_snapshot": scratch,
                                                "fresh": fresh, "cold_first_run": cold, "quickjs_rs": peer,
                                                "goals": goals})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
