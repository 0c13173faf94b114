"""Where the wasm engine loses on C-heavy work, and what build flags and wasmtime settings buy.

    python bench/wasm_variants.py [--rounds 9] [--no-build]

Every column is a bare guest (the reactor with modrun's stop checks, driven with JS_Eval: no runner,
no transport) running the same code as a bare in-process `quickjs.Context`, all in one process,
rounds interleaved, in the calling thread's CPU time. Cells are the median ms and the ratio to
in-process. Rows: fib(25), workload(1000) (bench/fixtures/compute.js), then the workload's kinds of
work one at a time (bench/fixtures/workload_parts.js), and the geometric mean of the parts' ratios.

Columns:
- reactor builds, each compiled from the pinned sdist with the pinned toolchain and only the named
  flags changed (evaluators/wasm/reactor/build.py; built once into bench/.cache/reactor-variants):
  the shipped -O2, -O3, -O2 with LTO (lld), -O2 with bulk memory (memory.copy / memory.fill), -O2 with
  tail calls, -O2 -fwrapv, -O2 with clang's inliner ten times as eager, and the shipped build run
  through binaryen's `wasm-opt -O3` (Debian `binaryen`, when installed);
- wasmtime settings on the shipped build: as the wasm evaluator configures its engine (engine.py), then
  one setting changed: a 64 MiB memory reservation (explicit bounds checks instead of guard pages), no
  signals-based traps, Cranelift optimisation off, Spectre mitigations for heap and table accesses off,
  Cranelift's `speed_and_size`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import quickjs
import wasmtime
import wasmtime_py

from evaluators.wasm.engine import REACTOR
from evaluators.wasm.reactor import build as reactor_build
from evaluators.wasm.stop_checks import add_stop_checks

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CACHE = harness.CACHE_DIR / "reactor-variants"
CALLS = ["fib(25)", "workload(1000)", "stringify()", "parse()", "concat()", "template()", "allocate()",
         "sorting()", "regexSplit()", "mapSet()", "csvRows()", "charCodes()"]
PARTS = CALLS[2:]
OPT = [flag for flag in reactor_build.CFLAGS if not flag.startswith("-O")]
BUILDS: dict[str, tuple[list[str], list[str]]] = {  # label: (compile flags, extra link flags)
    "-O3": (["-O3", *OPT], []),
    "-O2 -flto": (["-O2", "-flto", *OPT], ["-flto"]),
    "-O2 -mbulk-memory": (["-O2", "-mbulk-memory", *OPT], []),
    # sibling calls become wasm return_calls (wasmtime runs the tail-call proposal by default)
    "-O2 -mtail-call": (["-O2", "-mtail-call", *OPT], []),
    # signed overflow defined: fewer assumptions, so what it changes in the interpreter loop shows
    "-O2 -fwrapv": (["-O2", "-fwrapv", *OPT], []),
    # wasmtime compiles each function alone (its inliner is off by default and not reachable through
    # the C API), so the inlining has to happen in clang: ten times its default threshold
    "-O2 inline-threshold=2250": (["-O2", "-mllvm", "-inline-threshold=2250", *OPT], []),
}
MIB = 1 << 20
SETTINGS: dict[str, Callable[[wasmtime.Config], None]] = {
    "bounds checks (64 MiB reservation)": lambda c: (setattr(c, "memory_reservation", 64 * MIB),
                                                     setattr(c, "memory_guard_size", 64 << 10)),
    "no signals-based traps": lambda c: setattr(c, "signals_based_traps", False),
    "Cranelift opt none": lambda c: setattr(c, "cranelift_opt_level", "none"),
    "no Spectre mitigations": lambda c: (c.cranelift_flag_set("enable_heap_access_spectre_mitigation", "false"),
                                         c.cranelift_flag_set("enable_table_access_spectre_mitigation", "false")),
    "Cranelift opt speed_and_size": lambda c: setattr(c, "cranelift_opt_level", "speed_and_size"),
}


def _source() -> str:
    compute = (FIXTURES / "compute.js").read_text().replace("export function", "function")
    return compute + (FIXTURES / "workload_parts.js").read_text()


def _built(label: str, cflags: list[str], link: list[str]) -> Path | None:
    """The reactor built with these flags (cached by flags, shim and pins), or None without the toolchain."""
    lock = reactor_build.lock()
    if reactor_build.missing_toolchain(lock["toolchain"]) or shutil.which(reactor_build.CLANG) is None:  # type: ignore[arg-type]
        return None
    key = hashlib.sha256(json.dumps([cflags, link, reactor_build.SHIM.read_text(), lock]).encode()).hexdigest()[:16]
    out = CACHE / f"{key}.wasm"
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="modrun-reactor-variant-") as directory:
            upstream = reactor_build.fetch_sources(lock["quickjs-ng"], Path(directory))  # type: ignore[arg-type]
            started = time.perf_counter()
            reactor_build.build(upstream, Path(directory) / "out.wasm", cflags, link)
            shutil.copy(Path(directory) / "out.wasm", out)
        print(f"built {label}: {out.stat().st_size:,} bytes in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return out


def _wasm_opt() -> Path | None:
    """The shipped reactor through binaryen's wasm-opt -O3 (names kept: the stop checks need them)."""
    if shutil.which("wasm-opt") is None:
        return None
    out = CACHE / f"wasm-opt-{hashlib.sha256(REACTOR.read_bytes()).hexdigest()[:16]}.wasm"
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["wasm-opt", "-O3", "-g", "--enable-mutable-globals", "--enable-sign-ext", str(REACTOR),
                        "-o", str(out)], check=True)
    return out


class BareGuest:
    """The reactor with its stop checks, a runtime created, evaluating code with JS_Eval."""

    def __init__(self, wasm: bytes, setting: Callable[[wasmtime.Config], None] | None = None) -> None:
        config = wasmtime_py.config()
        if setting is not None:
            setting(config)
        engine = wasmtime.Engine(config)
        self.store = wasmtime.Store(engine)
        self.store.set_wasi(wasmtime.WasiConfig())
        module = wasmtime.Module(engine, add_stop_checks(wasm))
        self.exports = wasmtime_py.linker(engine).instantiate(self.store, module).exports(self.store)
        self.call("_initialize")
        if self.call("modrun_init") != 0:
            raise RuntimeError("the guest could not create its runtime")
        self.ctx = self.call("modrun_context")

    def call(self, name: str, *args: int) -> int:
        func = self.exports[name]
        assert isinstance(func, wasmtime.Func)
        return int(func(self.store, *args) or 0)

    def eval(self, code: str) -> None:
        raw = code.encode() + b"\0"
        memory = self.exports["memory"]
        assert isinstance(memory, wasmtime.Memory)
        pointer = self.call("malloc", len(raw))
        memory.write(self.store, raw, pointer)
        value = self.call("JS_Eval", self.ctx, pointer, len(raw) - 1, pointer, 0)
        if value >> 32 == 6:
            raise RuntimeError(f"the guest threw on {code[:40]!r}")
        self.call("JS_FreeValue", self.ctx, value)
        self.call("free", pointer)


class InProcess:
    def __init__(self) -> None:
        self.context = quickjs.Context()

    def eval(self, code: str) -> None:
        self.context.eval(code)


def _columns(build: bool) -> tuple[dict[str, Any], dict[str, str]]:
    shipped = REACTOR.read_bytes()
    columns: dict[str, Any] = {"in-process": InProcess(), "shipped -O2": BareGuest(shipped)}
    missing: dict[str, str] = {}
    for label, (cflags, link) in BUILDS.items():
        path = _built(label, cflags, link) if build else None
        if path is None:
            missing[label] = "not built (--no-build, or the pinned toolchain is not installed)"
        else:
            columns[label] = BareGuest(path.read_bytes())
    optimised = _wasm_opt()
    if optimised is None:
        missing["wasm-opt -O3"] = "binaryen's wasm-opt is not installed"
    else:
        columns["wasm-opt -O3"] = BareGuest(optimised.read_bytes())
    for label, setting in SETTINGS.items():
        columns[label] = BareGuest(shipped, setting)
    return columns, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-build", action="store_true", help="only the shipped build and the settings")
    ns = parser.parse_args(argv)
    columns, missing = _columns(not ns.no_build)
    source = _source()
    for column in columns.values():
        column.eval(source)
    samples: dict[str, dict[str, list[float]]] = {name: {call: [] for call in CALLS} for name in columns}
    for call in CALLS:
        for column in columns.values():  # warm-up
            column.eval(call)
        for _ in range(ns.rounds):
            for name, column in columns.items():
                started = time.thread_time()
                column.eval(call)
                samples[name][call].append((time.thread_time() - started) * 1000)
    medians = {name: {call: statistics.median(v) for call, v in per.items()} for name, per in samples.items()}
    ratios = {name: {call: medians[name][call] / medians["in-process"][call] for call in CALLS} for name in columns}
    names = list(columns)
    rows: list[list[Any]] = [[call, *(f"{medians[n][call]:.2f} ({ratios[n][call]:.2f}x)" for n in names)]
                             for call in CALLS]
    parts_mean = {n: math.exp(statistics.fmean(math.log(ratios[n][call]) for call in PARTS)) for n in names}
    rows.append(["parts, geometric mean", *(f"({parts_mean[n]:.2f}x)" for n in names)])
    print(harness.table(["median ms (x in-process)", *names], rows,
                        f"wasm_variants: bare guests vs in-process, thread CPU time, {ns.rounds} rounds"))
    for label, reason in missing.items():
        print(f"  {label}: {reason}")
    goals = [harness.goal("shipped build, workload(1000) vs in-process", ratios["shipped -O2"]["workload(1000)"], 1.2)]
    print()
    print(harness.goal_lines(goals))
    path = harness.write_results("wasm_variants", {"samples_ms": samples, "medians_ms": medians, "ratios": ratios,
                                                   "parts_geometric_mean": parts_mean, "missing": missing,
                                                   "goals": goals})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
