"""The C-API driver: one QuickJS runtime inside one wasmtime instance, driven through the
QuickJS functions the 0.15.1.1 reactor exports (JS_Eval, JS_Call, JS_ExecutePendingJob…).

Values cross as NaN-boxed 64-bit JSValues (tag in the high 32 bits); text crosses as UTF-8 in
linear memory. Every export is called through wasmtime's unchecked call API with arguments
packed straight into one reusable buffer (about 1 µs a call, against 25 µs through
`Func.__call__`). Guest pointers read back are bounds-checked before the host touches memory.
"""

from __future__ import annotations

import ctypes
import os
import struct
from dataclasses import dataclass
from typing import Any

import wasmtime
from wasmtime import _bindings as bindings
from wasmtime import _ffi as ffi

from .layout import (
    BOX_ARGS,
    BOX_CONTEXT,
    BOX_DRAIN,
    BOX_HEADER,
    BOX_INLINE,
    BOX_RESULT,
    BOX_SIZE,
    EXPORT_CONTROL,
    EXPORT_STACK_POINTER,
    EXPORT_STEP,
    EXPORT_TRAP_CAUSE,
    EXPORT_USABLE_SIZE,
    INTERRUPT_WORD,
    STEP_NO_STRING,
    STEP_OK,
    STOP_WORD,
    Layout,
)

# JSValue tags (high 32 bits of the NaN-boxed value)
TAG_EXCEPTION = 6
UNDEFINED = 3 << 32
_FIRST_REFCOUNTED_TAG = 0xFFFFFFF7  # tags -9..-1 (objects, strings, symbols…) carry a refcount

JS_EVAL_TYPE_GLOBAL = 0

SLOTS = 8  # wasmtime_val_raw_t slots in the call buffer: enough for every export used
_FOUR = struct.Struct("<4I")
_ARGS = _FOUR  # two (pointer, length) pairs
_STEP = struct.Struct("<Q8xI12xI12x")  # modrun_step(i64, i32, i32)
_I32 = struct.Struct("<i")

# A private handle on the unchecked call: no argtypes, so ctypes converts nothing per call.
_CALL = ffi.dll["wasmtime_func_call_unchecked"]
_CALL.restype = ctypes.c_void_p
_CALL.argtypes = None  # type: ignore[assignment]

#: the exports the driver calls
FUNCTIONS = (
    "_initialize", "malloc", "free", "JS_NewRuntime", "JS_NewContext", "JS_SetMemoryLimit", "JS_SetInterruptHandler",
    "JS_Eval", "JS_Call", "JS_FreeValue", "JS_NewStringLen", "JS_ToCStringLen2", "JS_FreeCString",
    "JS_ExecutePendingJob", "JS_GetException", "JS_GetPropertyStr", "JS_RunGC", "JS_SetMaxStackSize",
    EXPORT_USABLE_SIZE, EXPORT_STEP,
)


class GuestTrap(Exception):
    """The instance trapped (a guard, a native stack overflow, a bug): it must be discarded."""

    def __init__(self, message: str, code: wasmtime.TrapCode | None, cause: int) -> None:
        super().__init__(message)
        self.code = code
        self.cause = cause


class GuestException(Exception):
    """A JS exception reached the host: `text` is `Name: message`."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class GuestMemoryError(Exception):
    """The guest could not allocate what the host asked for."""


@dataclass(frozen=True)
class Signature:
    pack: struct.Struct | None  # the arguments, one 16-byte slot each
    result: struct.Struct | None


def function_types(module: wasmtime.Module) -> dict[str, list[list[str]]]:
    """The parameter and result types of each function the driver calls, as JSON-able lists
    (reading a module's exports costs milliseconds: snapshots keep these beside the module)."""
    out: dict[str, list[list[str]]] = {}
    for export in module.exports:
        if export.name in FUNCTIONS:
            ty = export.type
            assert isinstance(ty, wasmtime.FuncType)
            out[export.name] = [[str(p) for p in ty.params], [str(r) for r in ty.results]]
    missing = set(FUNCTIONS) - set(out)
    if missing:
        raise RuntimeError(f"the QuickJS reactor does not export {', '.join(sorted(missing))}")
    return out


def signatures(types: dict[str, list[list[str]]]) -> dict[str, Signature]:
    """How to pack and unpack each function's arguments and result."""
    out: dict[str, Signature] = {}
    for name, (params, results) in types.items():
        codes = "".join("Q8x" if p == "i64" else "I12x" for p in params)
        result = struct.Struct("<Q" if results == ["i64"] else "<i") if results else None
        out[name] = Signature(struct.Struct("<" + codes) if codes else None, result)
    return out


def tag(value: int) -> int:
    return value >> 32


class Guest:
    """One instance. Not thread-safe; every method runs wasm on the calling thread."""

    def __init__(self, store: wasmtime.Store, instance: wasmtime.Instance, signatures: dict[str, Signature],
                 layout: Layout) -> None:
        self.store = store
        self.layout = layout
        self._context = store._context()
        self._ctx_arg = ctypes.c_void_p(ctypes.cast(self._context, ctypes.c_void_p).value)
        self._buffer = (ffi.wasmtime_val_raw_t * SLOTS)()
        self._buffer_view = memoryview(self._buffer).cast("B")
        self._buffer_arg = ctypes.c_void_p(ctypes.addressof(self._buffer))
        self._slots = ctypes.c_size_t(SLOTS)
        self._trap = ctypes.c_void_p()
        self._trap_arg = ctypes.c_void_p(ctypes.addressof(self._trap))
        self._instance = instance
        self._signatures = signatures
        self._funcs: dict[str, tuple[ctypes.c_void_p, Signature, Any]] = {}  # resolved on first use
        item = ffi.wasmtime_extern_t()
        self._export(instance, "memory", item)
        self._memory = ffi.wasmtime_memory_t()
        ctypes.pointer(self._memory)[0] = item.of.memory
        # Memories never move in this engine (Config.memory_may_move = False): the base is fixed.
        self.base = ctypes.cast(ffi.wasmtime_memory_data(self._context, ctypes.byref(self._memory)),
                                ctypes.c_void_p).value or 0
        self._size = 0
        self._export(instance, EXPORT_CONTROL, item)
        control = ffi.wasmtime_memory_t()
        ctypes.pointer(control)[0] = item.of.memory
        control_base = ctypes.cast(ffi.wasmtime_memory_data(self._context, ctypes.byref(control)),
                                   ctypes.c_void_p).value or 0
        #: host addresses of the control words (layout.py), for the watchdog
        self.interrupt_word = control_base + INTERRUPT_WORD
        self.stop_word = control_base + STOP_WORD
        self._export(instance, EXPORT_TRAP_CAUSE, item)
        self._cause = ffi.wasmtime_global_t()
        ctypes.pointer(self._cause)[0] = item.of.global_
        self._export(instance, EXPORT_STACK_POINTER, item)
        self._stack_pointer = ffi.wasmtime_global_t()
        ctypes.pointer(self._stack_pointer)[0] = item.of.global_
        self.rt = 0
        self.ctx = 0
        self._scratch = 0  # a guest buffer for strings going in, grown on demand
        self._scratch_size = 0
        self._out = 0  # 8 bytes for out-parameters
        self._box = 0  # modrun_step's StepBox
        self._names: dict[str, int] = {}  # C strings kept in the guest (filenames, property names)

    def _export(self, instance: wasmtime.Instance, name: str, item: Any) -> None:
        raw = name.encode()
        if not bindings._wasmtime_instance_export_get(self._context, ctypes.byref(instance._instance), raw,
                                                       len(raw), ctypes.byref(item)):
            raise RuntimeError(f"the module does not export {name}")

    # ---- calling exports ----

    def _resolve(self, name: str) -> tuple[ctypes.c_void_p, Signature, Any]:
        item = ffi.wasmtime_extern_t()
        self._export(self._instance, name, item)
        func = ffi.wasmtime_func_t()
        ctypes.pointer(func)[0] = item.of.func
        entry = self._funcs[name] = (ctypes.c_void_p(ctypes.addressof(func)), self._signatures[name], func)
        return entry

    def call(self, name: str, *args: int) -> int:
        entry = self._funcs.get(name)
        func, signature, _ = entry if entry is not None else self._resolve(name)
        if signature.pack is not None:
            signature.pack.pack_into(self._buffer_view, 0, *args)
        error = _CALL(self._ctx_arg, func, self._buffer_arg, self._slots, self._trap_arg)
        if error or self._trap.value:
            self._raise_trap(error)
        if signature.result is None:
            return 0
        return signature.result.unpack_from(self._buffer_view, 0)[0]  # type: ignore[no-any-return]

    def _raise_trap(self, error: int | None) -> None:
        if self._trap.value:
            trap = wasmtime.Trap._from_ptr(ctypes.cast(self._trap.value, ctypes.POINTER(ffi.wasm_trap_t)))
            self._trap.value = None
            message, code = trap.message, trap.trap_code
        else:
            failure = wasmtime.WasmtimeError._from_ptr(ctypes.cast(error or 0, ctypes.POINTER(ffi.wasmtime_error_t)))
            message, code = str(failure), None
        raise GuestTrap(message, code, self.trap_cause())

    def trap_cause(self) -> int:
        return self._global(self._cause)

    def _global(self, handle: Any) -> int:
        value = ffi.wasmtime_val_t()
        ffi.wasmtime_global_get(self._context, ctypes.byref(handle), ctypes.byref(value))
        return int(value.of.i32) & 0xFFFFFFFF

    # ---- linear memory ----

    def _check(self, pointer: int, length: int) -> None:
        if pointer + length > self._size:
            self._size = ffi.wasmtime_memory_data_size(self._context, ctypes.byref(self._memory))
            if pointer < 0 or length < 0 or pointer + length > self._size:
                raise GuestTrap(f"guest pointer {pointer}+{length} is outside its memory", None, 0)

    def read(self, pointer: int, length: int) -> bytes:
        self._check(pointer, length)
        return ctypes.string_at(self.base + pointer, length)

    def write(self, pointer: int, data: bytes) -> None:
        self._check(pointer, len(data))
        ctypes.memmove(self.base + pointer, data, len(data))

    def read_u32(self, pointer: int) -> int:
        return int.from_bytes(self.read(pointer, 4), "little")

    def write_u32(self, pointer: int, value: int) -> None:
        self.write(pointer, value.to_bytes(4, "little"))

    def malloc(self, size: int) -> int:
        pointer = self.call("malloc", size)
        if pointer == 0:
            raise GuestMemoryError(f"the guest cannot allocate {size} bytes")
        return pointer & 0xFFFFFFFF

    def _put(self, data: bytes) -> int:
        """Copy bytes (NUL-terminated) into the scratch buffer; valid until the next _put."""
        needed = len(data) + 1
        if needed > self._scratch_size:
            size = max(needed, 2 * self._scratch_size, 4096)
            pointer = self.malloc(size)
            if self._scratch:
                self.call("free", self._scratch)
            self._scratch, self._scratch_size = pointer, size
        self.write(self._scratch, data + b"\0")
        return self._scratch

    def release_scratch(self) -> None:
        """Give the scratch buffer back (before a snapshot: it holds the boot source)."""
        if self._scratch:
            self.call("free", self._scratch)
            self._scratch = self._scratch_size = 0

    def c_string(self, text: str) -> int:
        """A NUL-terminated copy of `text` kept in the guest for the guest's lifetime."""
        pointer = self._names.get(text)
        if pointer is None:
            raw = text.encode() + b"\0"
            pointer = self.malloc(len(raw))
            self.write(pointer, raw)
            self._names[text] = pointer
        return pointer

    # ---- the engine ----

    def create_runtime(self) -> None:
        """A fresh JSRuntime and JSContext (standard intrinsics only: no qjs:std, qjs:os, no module
        loader, no console: the runner's JS provides what the profile needs). libc must have
        been initialised (`_initialize`)."""
        self.rt = self.call("JS_NewRuntime") & 0xFFFFFFFF
        if not self.rt:
            raise GuestMemoryError("JS_NewRuntime failed")
        self.ctx = self.call("JS_NewContext", self.rt) & 0xFFFFFFFF
        if not self.ctx:
            raise GuestMemoryError("JS_NewContext failed")
        self.call("JS_SetInterruptHandler", self.rt, self.layout.interrupt_handler, 0)
        self._out = self.malloc(8)
        self._box = self.malloc(BOX_SIZE)
        box = bytearray(BOX_HEADER)
        struct.pack_into("<II", box, BOX_CONTEXT, self.ctx, self.rt)
        self.write(self._box, bytes(box))

    def state(self) -> dict[str, Any]:
        """What the driver knows about its guest, to carry over to instances of a snapshot."""
        return {"rt": self.rt, "ctx": self.ctx, "out": self._out, "box": self._box, "scratch": self._scratch,
                "scratch_size": self._scratch_size, "names": dict(self._names)}

    def restore(self, state: dict[str, Any]) -> None:
        """Take over the runtime of the snapshot this instance was made from."""
        self.rt, self.ctx, self._out, self._box = state["rt"], state["ctx"], state["out"], state["box"]
        self._scratch, self._scratch_size = state["scratch"], state["scratch_size"]
        self._names = dict(state["names"])

    def memory_size(self) -> int:
        self._size = ffi.wasmtime_memory_data_size(self._context, ctypes.byref(self._memory))
        return self._size

    def stack_pointer(self) -> int:
        return self._global(self._stack_pointer)

    def set_stack_budget(self, size: int) -> None:
        """Let QuickJS's own check fail (a catchable RangeError) once the shadow stack holds `size`
        bytes; the hard guard below it stays in place."""
        size = min(size, self.layout.top - self.layout.floor)
        self.call("JS_SetMaxStackSize", self.rt, size)  # stack_size; the WASI build zeroes stack_limit
        self.write_u32(self.rt + self.layout.limit_offset, self.layout.top - size)

    def set_memory_limit(self, limit: int | None) -> None:
        self.call("JS_SetMemoryLimit", self.rt, 0xFFFFFFFF if limit is None else min(limit, 0xFFFFFFFF))

    def reseed(self) -> None:
        """A fresh Math.random state and performance.now() zero, for a sandbox made from a snapshot
        (the store's monotonic clock starts when the store is created)."""
        seed = int.from_bytes(os.urandom(8), "little") or 1
        self.write(self.ctx + self.layout.random_offset, seed.to_bytes(8, "little"))
        self.write(self.ctx + self.layout.time_origin_offset, struct.pack("<d", 0.0))

    # ---- values ----

    def free_value(self, value: int) -> None:
        if tag(value) >= _FIRST_REFCOUNTED_TAG:
            self.call("JS_FreeValue", self.ctx, value)

    def text(self, value: int) -> str:
        """The value converted to a string (String(value)); the value is not freed."""
        pointer = self.call("JS_ToCStringLen2", self.ctx, self._out, value, 0) & 0xFFFFFFFF
        if not pointer:
            raise self.pending_exception()
        try:
            return self.read(pointer, self.read_u32(self._out)).decode("utf-8", "replace")
        finally:
            self.call("JS_FreeCString", self.ctx, pointer)

    def take_text(self, value: int) -> str:
        try:
            return self.text(value)
        finally:
            self.free_value(value)

    def get(self, obj: int, name: str) -> int:
        value = self.call("JS_GetPropertyStr", self.ctx, obj, self.c_string(name))
        if tag(value) == TAG_EXCEPTION:
            raise self.pending_exception()
        return value

    def pending_exception(self) -> GuestException:
        """The engine's pending exception as a host exception (and cleared from the engine)."""
        exception = self.call("JS_GetException", self.ctx)
        try:
            text = self.text(exception)
        except GuestException:
            text = "InternalError: an exception that cannot be converted to a string"
        finally:
            self.free_value(exception)
        return GuestException(text)

    def eval(self, code: str, filename: str) -> int:
        raw = code.encode("utf-8", "surrogatepass")
        value = self.call("JS_Eval", self.ctx, self._put(raw), len(raw), self.c_string(filename),
                          JS_EVAL_TYPE_GLOBAL)
        if tag(value) == TAG_EXCEPTION:
            raise self.pending_exception()
        return value

    def call_function(self, function: int, *args: int) -> int:
        argv = 0
        if args:
            argv = self._put(struct.pack(f"<{len(args)}Q", *args))
        value = self.call("JS_Call", self.ctx, function, UNDEFINED, len(args), argv)
        if tag(value) == TAG_EXCEPTION:
            raise self.pending_exception()
        return value

    def set_drain(self, function: int) -> None:
        """The function `step` calls last (the runner's drain), 0 for none."""
        self.write(self._box + BOX_DRAIN, struct.pack("<Q", function))

    def step(self, function: int, *texts: bytes) -> tuple[str | None, str | None]:
        """One round trip in one call into the guest (step.py): `function(*texts)` (UTF-8)
        unless `function` is 0, then every pending job, then drain. Returns the call's result and
        the drained text (None where there is no string). The transport's hot path: kept lean."""
        box = self._box
        if texts:
            first = texts[0]
            second = texts[1] if len(texts) > 1 else b""
            if len(first) + len(second) <= BOX_INLINE:  # the text follows ARGS in the box
                at = box + BOX_HEADER
                packed = _ARGS.pack(at, len(first), at + len(first), len(second)) + first + second
            else:  # too long for the box: through the scratch buffer
                at = self._put(first + second)
                packed = _ARGS.pack(at, len(first), at + len(first), len(second))
            ctypes.memmove(self.base + box + BOX_ARGS, packed, len(packed))  # inside the box: no check
        step = self._funcs.get(EXPORT_STEP) or self._resolve(EXPORT_STEP)
        _STEP.pack_into(self._buffer_view, 0, function, len(texts), box)
        error = _CALL(self._ctx_arg, step[0], self._buffer_arg, self._slots, self._trap_arg)
        if error or self._trap.value:
            self._raise_trap(error)
        status = _I32.unpack_from(self._buffer_view, 0)[0]
        if status != STEP_OK:
            if status == STEP_NO_STRING:
                raise GuestException("InternalError: out of memory")
            raise self.pending_exception()
        result, result_length, drained, drained_length = _FOUR.unpack(
            ctypes.string_at(self.base + box + BOX_RESULT, 16))
        return (self._text_at(result, result_length) if result else None,
                self._text_at(drained, drained_length) if drained else None)

    def _text_at(self, pointer: int, length: int) -> str:
        if not length:
            return ""
        self._check(pointer, length)
        return ctypes.string_at(self.base + pointer, length).decode("utf-8", "replace")

    def run_jobs(self) -> None:
        """Run promise jobs until none is left."""
        while True:
            done = self.call("JS_ExecutePendingJob", self.rt, self._out)
            if done <= 0:
                if done < 0:
                    raise self.pending_exception()
                return

    def close(self) -> None:
        self.store.close()
