"""The wasm evaluator's engine settings and linker in wasmtime-py's API, for the benchmarks that run
the reactor outside the evaluator and vary those settings (wasm_variants.py, wasm_compute.py). The
evaluator itself binds wasmtime's C API directly (evaluators/wasm/capi.py)."""

from __future__ import annotations

import wasmtime
from wasmtime import _ffi as ffi

from evaluators.wasm import capi
from evaluators.wasm.native_stack import MAX_WASM_STACK

STRATEGY_CRANELIFT = capi.STRATEGY_CRANELIFT


def config(strategy: int = STRATEGY_CRANELIFT) -> wasmtime.Config:
    """A configuration as capi.new_engine makes the evaluator's."""
    out = wasmtime.Config()
    ffi.wasmtime_config_strategy_set(out.ptr(), strategy)
    ffi.wasmtime_config_async_stack_size_set(out.ptr(), MAX_WASM_STACK + (1 << 20))
    out.max_wasm_stack = MAX_WASM_STACK
    out.memory_may_move = False
    out.cranelift_opt_level = "speed"
    return out


def linker(engine: wasmtime.Engine) -> wasmtime.Linker:
    """WASI, with `fd_write` answering that every byte was written (as capi.new_linker's)."""
    out = wasmtime.Linker(engine)
    out.define_wasi()
    out.allow_shadowing = True
    four = wasmtime.FuncType([wasmtime.ValType.i32()] * 4, [wasmtime.ValType.i32()])

    def discard(caller: wasmtime.Caller, fd: int, iovs: int, count: int, written: int) -> int:
        memory = caller.get("memory")
        if not isinstance(memory, wasmtime.Memory):
            return 8  # EBADF
        raw = memory.read(caller, iovs, iovs + 8 * count)
        total = sum(int.from_bytes(raw[8 * i + 4:8 * i + 8], "little") for i in range(count))
        memory.write(caller, (total & 0xFFFFFFFF).to_bytes(4, "little"), written)
        return 0

    out.define_func("wasi_snapshot_preview1", "fd_write", four, discard, access_caller=True)
    return out
