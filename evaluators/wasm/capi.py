"""wasmtime's C API, the part the wasm evaluator uses, bound directly with ctypes.

wasmtime-py (the `wasmtime` package, which ships the library) binds the whole C API when it is
imported: some 770 functions and 140 structures, about 25 ms of every process that starts a
sandbox (bench/import_costs.py), where the evaluator needs some 40 of them. This module loads the
same shared library from the installed package, without importing the package, and declares only
those. The structures are the C API's of the pinned wasmtime (pyproject.toml);
tests/test_wasm_evaluator.py checks them against wasmtime-py's own.

Pointers cross as plain integers (`c_void_p`). Functions that can fail raise WasmError with
wasmtime's message; traps are read by `trap_info`.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

P = ctypes.c_void_p
_U8, _I64, _SIZE = ctypes.c_uint8, ctypes.c_int64, ctypes.c_size_t

# wasmtime_trap_code_t values the evaluator tells apart
STACK_OVERFLOW, MEMORY_OUT_OF_BOUNDS = 0, 1
EXTERN_MEMORY = 3
STRATEGY_CRANELIFT, STRATEGY_WINCH = 1, 2
_OPT_SPEED = 1
_WASM_I32 = 0
_ERRNO_BADF, _ERRNO_FAULT = 8, 21


def _library_path() -> Path:
    """The shared library inside the installed wasmtime package (where wasmtime-py loads it from)."""
    spec = importlib.util.find_spec("wasmtime")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the wasmtime package is not installed")
    machine = (os.uname().machine if hasattr(os, "uname") else os.environ.get("PROCESSOR_ARCHITECTURE", "")).lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    name = {"win32": "_wasmtime.dll", "darwin": "_libwasmtime.dylib"}.get(sys.platform, "_libwasmtime.so")
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    return Path(spec.submodule_search_locations[0]) / f"{platform}-{machine}" / name


LIBRARY = _library_path()
_lib = ctypes.CDLL(str(LIBRARY))


class WasmError(Exception):
    """An error wasmtime reported: a module that does not load or link, a configuration refused."""


# ---- structures (wasmtime 51's C API) ----

class ByteVec(ctypes.Structure):
    _fields_ = [("size", _SIZE), ("data", ctypes.POINTER(ctypes.c_char))]


class Func(ctypes.Structure):
    _fields_ = [("store_id", ctypes.c_uint64), ("private", ctypes.c_void_p)]


class Memory(ctypes.Structure):
    # {{store_id, private1}, private2}: the inner struct is padded to 16 bytes
    _fields_ = [("store_id", ctypes.c_uint64), ("private1", ctypes.c_uint32), ("padding", ctypes.c_uint32),
                ("private2", ctypes.c_uint32)]


class Global(ctypes.Structure):
    _fields_ = [("store_id", ctypes.c_uint64), ("private1", ctypes.c_uint32), ("private2", ctypes.c_uint32),
                ("private3", ctypes.c_uint32)]


class ExternUnion(ctypes.Union):
    _fields_ = [("func", Func), ("memory", Memory), ("global_", Global), ("size", ctypes.c_uint8 * 24)]


class Extern(ctypes.Structure):
    _fields_ = [("kind", _U8), ("of", ExternUnion)]


class Instance(ctypes.Structure):
    _fields_ = [("store_id", ctypes.c_uint64), ("private", _SIZE)]


class ValUnion(ctypes.Union):
    _fields_ = [("i32", ctypes.c_int32), ("i64", ctypes.c_int64), ("size", _U8 * 24)]


class Val(ctypes.Structure):
    """wasmtime_val_t, used only for an i32 (a global's value)."""

    _fields_ = [("kind", _U8), ("of", ValUnion)]


class ValRaw(ctypes.Union):
    """wasmtime_val_raw_t: a value in the unchecked call's buffer."""

    _fields_ = [("i32", ctypes.c_int32), ("i64", ctypes.c_int64), ("size", _U8 * 16)]


def _fn(name: str, restype: Any, *argtypes: Any) -> Any:
    function = getattr(_lib, name)
    function.restype = restype
    function.argtypes = argtypes
    return function


_config_new = _fn("wasm_config_new", P)
_strategy_set = _fn("wasmtime_config_strategy_set", None, P, _U8)
_async_stack_set = _fn("wasmtime_config_async_stack_size_set", None, P, _SIZE)
_max_stack_set = _fn("wasmtime_config_max_wasm_stack_set", None, P, _SIZE)
_may_move_set = _fn("wasmtime_config_memory_may_move_set", None, P, ctypes.c_bool)
_opt_level_set = _fn("wasmtime_config_cranelift_opt_level_set", None, P, _U8)
_engine_new = _fn("wasm_engine_new_with_config", P, P)
_engine_delete = _fn("wasm_engine_delete", None, P)
_module_delete = _fn("wasmtime_module_delete", None, P)
_linker_delete = _fn("wasmtime_linker_delete", None, P)
_module_new = _fn("wasmtime_module_new", P, P, ctypes.c_char_p, _SIZE, ctypes.POINTER(P))
_module_deserialize = _fn("wasmtime_module_deserialize", P, P, ctypes.c_char_p, _SIZE, ctypes.POINTER(P))
_module_deserialize_file = _fn("wasmtime_module_deserialize_file", P, P, ctypes.c_char_p, ctypes.POINTER(P))
_module_serialize = _fn("wasmtime_module_serialize", P, P, ctypes.POINTER(ByteVec))
_linker_new = _fn("wasmtime_linker_new", P, P)
_linker_define_wasi = _fn("wasmtime_linker_define_wasi", P, P)
_linker_allow_shadowing = _fn("wasmtime_linker_allow_shadowing", None, P, ctypes.c_bool)
_UNCHECKED_CALLBACK = ctypes.CFUNCTYPE(P, P, P, ctypes.POINTER(ValRaw), _SIZE)
_FINALIZER = ctypes.CFUNCTYPE(None, P)
_linker_define_func = _fn("wasmtime_linker_define_func_unchecked", P, P, ctypes.c_char_p, _SIZE, ctypes.c_char_p,
                          _SIZE, P, _UNCHECKED_CALLBACK, P, _FINALIZER)
_linker_instantiate = _fn("wasmtime_linker_instantiate", P, P, P, P, ctypes.POINTER(Instance), ctypes.POINTER(P))
_linker_instantiate_pre = _fn("wasmtime_linker_instantiate_pre", P, P, P, ctypes.POINTER(P))
_pre_instantiate = _fn("wasmtime_instance_pre_instantiate", P, P, P, ctypes.POINTER(Instance), ctypes.POINTER(P))
_valtype_new = _fn("wasm_valtype_new", P, _U8)
_valtype_vec_new = _fn("wasm_valtype_vec_new", None, ctypes.POINTER(ByteVec), _SIZE, ctypes.POINTER(P))
_functype_new = _fn("wasm_functype_new", P, ctypes.POINTER(ByteVec), ctypes.POINTER(ByteVec))
_functype_delete = _fn("wasm_functype_delete", None, P)
_store_new = _fn("wasmtime_store_new", P, P, P, P)
_store_context = _fn("wasmtime_store_context", P, P)
_store_limiter = _fn("wasmtime_store_limiter", None, P, _I64, _I64, _I64, _I64, _I64)
_store_delete = _fn("wasmtime_store_delete", None, P)
_wasi_config_new = _fn("wasi_config_new", P)
_set_wasi = _fn("wasmtime_context_set_wasi", P, P, P)
export_get = _fn("wasmtime_instance_export_get", ctypes.c_bool, P, ctypes.POINTER(Instance), ctypes.c_char_p, _SIZE,
                 ctypes.POINTER(Extern))
memory_data = _fn("wasmtime_memory_data", P, P, ctypes.POINTER(Memory))
memory_data_size = _fn("wasmtime_memory_data_size", _SIZE, P, ctypes.POINTER(Memory))
global_get = _fn("wasmtime_global_get", None, P, ctypes.POINTER(Global), ctypes.POINTER(Val))
_caller_export_get = _fn("wasmtime_caller_export_get", ctypes.c_bool, P, ctypes.c_char_p, _SIZE,
                         ctypes.POINTER(Extern))
_caller_context = _fn("wasmtime_caller_context", P, P)
_error_message = _fn("wasmtime_error_message", None, P, ctypes.POINTER(ByteVec))
_error_delete = _fn("wasmtime_error_delete", None, P)
_trap_message = _fn("wasm_trap_message", None, P, ctypes.POINTER(ByteVec))
_trap_code = _fn("wasmtime_trap_code", ctypes.c_bool, P, ctypes.POINTER(_U8))
_trap_delete = _fn("wasm_trap_delete", None, P)
_byte_vec_delete = _fn("wasm_byte_vec_delete", None, ctypes.POINTER(ByteVec))
# The unchecked call, without argtypes: the driver packs its own arguments (guest.py).
call_unchecked = _lib["wasmtime_func_call_unchecked"]
call_unchecked.restype = P
call_unchecked.argtypes = None  # type: ignore[assignment]


# ---- errors and traps ----

def _take_bytes(vec: ByteVec) -> bytes:
    try:
        return ctypes.string_at(vec.data, vec.size) if vec.size else b""
    finally:
        _byte_vec_delete(ctypes.byref(vec))


def error_message(error: int) -> str:
    """The message of a wasmtime_error_t, which is deleted."""
    vec = ByteVec()
    _error_message(error, ctypes.byref(vec))
    _error_delete(error)
    return _take_bytes(vec).decode("utf-8", "replace")


def _check(error: int | None) -> None:
    if error:
        raise WasmError(error_message(error))


def trap_info(trap: int) -> tuple[str, int | None]:
    """A trap's message and code (None when it has none, e.g. a host error), the trap deleted."""
    vec = ByteVec()
    _trap_message(trap, ctypes.byref(vec))
    code = _U8()
    has_code = _trap_code(trap, ctypes.byref(code))
    _trap_delete(trap)
    return _take_bytes(vec).rstrip(b"\0").decode("utf-8", "replace"), code.value if has_code else None


def _trapped(trap: P) -> None:
    if trap.value:
        raise WasmError(trap_info(trap.value)[0])


# ---- engine, modules, linker ----

def new_engine(strategy: int, async_stack: int, max_wasm_stack: int) -> int:
    """An engine with the evaluator's configuration: memory that never moves (the driver and the
    watchdog keep raw pointers into it), Cranelift at opt level "speed"."""
    config = _config_new()
    _strategy_set(config, strategy)
    _async_stack_set(config, async_stack)
    _max_stack_set(config, max_wasm_stack)
    _may_move_set(config, False)
    _opt_level_set(config, _OPT_SPEED)
    engine = _engine_new(config)  # takes the configuration
    if not engine:
        raise WasmError("wasmtime refused the engine configuration")
    return int(engine)


def compile_module(engine: int, wasm: bytes) -> int:
    module = P()
    _check(_module_new(engine, wasm, len(wasm), ctypes.byref(module)))
    return int(module.value or 0)


def deserialize(engine: int, data: bytes) -> int:
    """A module from `serialize`'s bytes (native code: only ever bytes this user's modrun wrote)."""
    module = P()
    _check(_module_deserialize(engine, data, len(data), ctypes.byref(module)))
    return int(module.value or 0)


def deserialize_file(engine: int, path: str) -> int:
    """A module from a file `serialize` wrote, memory-mapped."""
    module = P()
    _check(_module_deserialize_file(engine, os.fsencode(path), ctypes.byref(module)))
    return int(module.value or 0)


def serialize(module: int) -> bytes:
    vec = ByteVec()
    _check(_module_serialize(module, ctypes.byref(vec)))
    return _take_bytes(vec)


def _discard_writes(env: int | None, caller: int | None, raw: Any, count: int) -> int | None:
    """`fd_write` of a guest: says every byte was written and writes none."""
    try:
        item = Extern()
        if not _caller_export_get(caller, b"memory", 6, ctypes.byref(item)) or item.kind != EXTERN_MEMORY:
            errno = _ERRNO_BADF
        else:
            context = _caller_context(caller)
            base = memory_data(context, ctypes.byref(item.of.memory)) or 0
            size = memory_data_size(context, ctypes.byref(item.of.memory))
            _fd, iovs, iov_count, written = (raw[i].i32 & 0xFFFFFFFF for i in range(4))
            if iovs + 8 * iov_count > size or written + 4 > size:
                errno = _ERRNO_FAULT
            else:
                data = ctypes.string_at(base + iovs, 8 * iov_count)
                total = sum(int.from_bytes(data[8 * i + 4:8 * i + 8], "little") for i in range(iov_count))
                ctypes.c_uint32.from_address(base + written).value = total & 0xFFFFFFFF
                errno = 0
        raw[0].i32 = errno
    except Exception:  # never an exception through C: the guest sees a failed write
        raw[0].i32 = _ERRNO_FAULT
    return None


_DISCARD = _UNCHECKED_CALLBACK(_discard_writes)  # kept alive as long as the process: linkers hold it
_NO_FINALIZER = _FINALIZER()


def new_linker(engine: int) -> int:
    """A linker with WASI, its `fd_write` shadowed by one that discards what the guest writes."""
    linker = int(_linker_new(engine))
    _check(_linker_define_wasi(linker))
    _linker_allow_shadowing(linker, True)
    params, results = ByteVec(), ByteVec()
    _valtype_vec_new(ctypes.byref(params), 4, (P * 4)(*[_valtype_new(_WASM_I32) for _ in range(4)]))
    _valtype_vec_new(ctypes.byref(results), 1, (P * 1)(_valtype_new(_WASM_I32)))
    functype = _functype_new(ctypes.byref(params), ctypes.byref(results))  # takes both vectors
    try:
        _check(_linker_define_func(linker, b"wasi_snapshot_preview1", 22, b"fd_write", 8, functype, _DISCARD,
                                   None, _NO_FINALIZER))
    finally:
        _functype_delete(functype)
    return linker


def delete(*, engine: int = 0, module: int = 0, linker: int = 0) -> None:
    """Free what a caller made and no longer needs (an instance keeps what it uses alive)."""
    if linker:
        _linker_delete(linker)
    if module:
        _module_delete(module)
    if engine:
        _engine_delete(engine)


def instantiate_pre(linker: int, module: int) -> int:
    pre = P()
    _check(_linker_instantiate_pre(linker, module, ctypes.byref(pre)))
    return int(pre.value or 0)


# ---- stores and instances ----

class Store:
    """A store with an empty WASI configuration (no files, no environment, no streams)."""

    def __init__(self, engine: int, memory_size: int | None = None) -> None:
        self.ptr = int(_store_new(engine, None, None))
        self.context = int(_store_context(self.ptr))
        if memory_size is not None:
            _store_limiter(self.ptr, memory_size, -1, -1, -1, -1)
        _check(_set_wasi(self.context, _wasi_config_new()))  # takes the configuration

    def instantiate_pre(self, pre: int) -> Instance:
        instance, trap = Instance(), P()
        _check(_pre_instantiate(pre, self.context, ctypes.byref(instance), ctypes.byref(trap)))
        _trapped(trap)
        return instance

    def instantiate(self, linker: int, module: int) -> Instance:
        instance, trap = Instance(), P()
        _check(_linker_instantiate(linker, self.context, module, ctypes.byref(instance), ctypes.byref(trap)))
        _trapped(trap)
        return instance

    def close(self) -> None:
        if self.ptr:
            ptr, self.ptr = self.ptr, 0
            _store_delete(ptr)
