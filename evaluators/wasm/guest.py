"""The driver: one QuickJS runtime inside one wasmtime instance of modrun's reactor
(reactor/modrun_reactor.c), driven through its entry points and a few QuickJS C API functions.

Values cross as NaN-boxed 64-bit JSValues (tag in the high 32 bits); plain values (numbers,
strings, booleans, null) cross as typed slots in the reactor's box, text as UTF-8 in linear
memory. Every export is called through wasmtime's unchecked call API with arguments packed
straight into one reusable buffer (about 1 µs a call, against 25 µs through `Func.__call__`).
Guest pointers read back are bounds-checked before the host touches memory.
"""

from __future__ import annotations

import ctypes
import functools
import os
import struct
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

from . import capi
from .stop_checks import EXPORT_CONTROL, INTERRUPT_WORD, STOP_WORD

# JSValue tags (high 32 bits of the NaN-boxed value)
TAG_EXCEPTION = 6
UNDEFINED = 3 << 32
_FIRST_REFCOUNTED_TAG = 0xFFFFFFF7  # tags -9..-1 (objects, strings, symbols…) carry a refcount

JS_EVAL_TYPE_GLOBAL = 0
JS_EVAL_FLAG_COMPILE_ONLY = 1 << 5

SLOTS = 8  # wasmtime_val_raw_t slots in the call buffer: enough for every export used
_I32 = struct.Struct("<i")

# The box (modrun_reactor.c `Box`): MAX_ARGS argument slots, the result and drained slots, the
# drain function, the argument values, then the inline text.
MAX_ARGS = 8
SLOT = 16
BOX_RESULT, BOX_INLINE, INLINE_SIZE = 128, 232, 16384
KIND_NONE, KIND_NULL, KIND_BOOL, KIND_INT, KIND_FLOAT, KIND_STRING, KIND_ENVELOPE, KIND_JSON = range(8)
STEP_OK, STEP_CALL_THREW, STEP_JOB_THREW, STEP_DRAIN_THREW, STEP_NO_MEMORY = range(5)
_INT32 = struct.Struct("<IIi4x")
_FLOAT = struct.Struct("<IId")
_TEXT = struct.Struct("<III4x")
_RESULTS = struct.Struct("<IIQIIQ")  # the result and drained slots
_STEP = struct.Struct("<Q8xI12x")  # modrun_step(i64, i32)
# An integral number comes back through JSON (runner/rpc/wire.py, orjson) as an int in this range
_INT_RANGE = (-(2.0**63), 2.0**64)

_CALL = capi.call_unchecked  # no argtypes: ctypes converts nothing per call

#: the exports the driver calls
FUNCTIONS = (
    "_initialize", "malloc", "free", "modrun_init", "modrun_context", "modrun_box", "modrun_set_limits",
    "modrun_defer_gc", "modrun_reseed", "modrun_set_drain", "modrun_set_rejection_tracker", "modrun_step",
    "modrun_compile_batch", "modrun_free_compiled", "modrun_answer_compiled", "modrun_string_chars",
    "JS_Eval", "JS_Call", "JS_FreeValue", "JS_ToCStringLen2", "JS_FreeCString",
    "JS_GetException", "JS_GetPropertyStr", "JS_GetVersion", "modrun_gc",
)


_MADV_POPULATE_WRITE = 23


@functools.cache
def _madvise() -> Any:
    """libc's madvise, on Linux; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    madvise = ctypes.CDLL(None, use_errno=True).madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    return madvise


class GuestTrap(Exception):
    """The instance trapped (a guard, a stop, a stack overflow, a bug): it must be discarded."""

    def __init__(self, message: str, code: int | None, stack_pointer: int) -> None:
        super().__init__(message)
        self.code = code  # a wasmtime_trap_code_t (capi.STACK_OVERFLOW…), None for none
        self.stack_pointer = stack_pointer  # where the shadow stack was when it trapped


class GuestException(Exception):
    """A JS exception reached the host: `text` is `Name: message`."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class GuestMemoryError(Exception):
    """The guest could not allocate what the host asked for."""


class Envelope(str):
    """A call's answer as the runtime's JSON text, when the result is not a plain value."""


class JsonText:
    """An argument of UTF-8 JSON text that the callee only hands to JSON.parse: it crosses as a
    string of ASCII only, its other characters as \\u escapes (reactor/modrun_reactor.c
    `json_string`), which JSON.parse reads as the same value, and faster in the guest."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw


class Signature(NamedTuple):  # not a dataclass: every wasm run makes this class, and a dataclass costs a compile
    pack: struct.Struct | None  # the arguments, one 16-byte slot each
    result: struct.Struct | None


def function_types(wasm: bytes) -> dict[str, list[list[str]]]:
    """The parameter and result types of each function the driver calls, as JSON-able lists, read
    from the module's binary (snapshots keep these beside the compiled module)."""
    from . import binary  # only where a snapshot is built: a warm run never loads the format

    sections = {section.id: section.payload for section in binary.read_sections(wasm)}
    types = binary.read_types(sections.get(binary.TYPE, b"\0"))
    functions = binary.read_imported_function_types(sections.get(binary.IMPORT, b"\0"))
    functions += binary.read_function_section(sections.get(binary.FUNCTION, b"\0"))
    out: dict[str, list[list[str]]] = {}
    for export in binary.read_exports(sections.get(binary.EXPORT, b"\0")):
        if export.kind == 0 and export.name in FUNCTIONS:
            params, results = types[functions[export.index]]
            out[export.name] = [params, results]
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


def is_plain(value: Any) -> bool:
    """Whether `value` crosses into the guest as it is, without JSON: a string, a boolean, None, a
    float, or an integer a float64 holds exactly."""
    kind = type(value)
    return (kind is str or kind is bool or value is None or kind is float or
            (kind is int and -(1 << 53) <= value <= 1 << 53))


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8", "surrogatepass")  # lone surrogates come out as QuickJS wrote them
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")


class Guest:
    """One instance. Not thread-safe; every method runs wasm on the calling thread."""

    def __init__(self, store: capi.Store, instance: capi.Instance, signatures: dict[str, Signature]) -> None:
        self.store = store
        self._context = store.context
        self._ctx_arg = ctypes.c_void_p(store.context)
        self._buffer = (capi.ValRaw * SLOTS)()
        self._buffer_view = memoryview(self._buffer).cast("B")
        self._buffer_arg = ctypes.c_void_p(ctypes.addressof(self._buffer))
        self._slots = ctypes.c_size_t(SLOTS)
        self._trap = ctypes.c_void_p()
        self._trap_arg = ctypes.c_void_p(ctypes.addressof(self._trap))
        self._instance = instance
        self._signatures = signatures
        self._funcs: dict[str, tuple[ctypes.c_void_p, Signature, Any]] = {}  # resolved on first use
        self._memory = self._export(instance, "memory").of.memory
        # Memories never move in this engine (the engine's memory_may_move is off): the base is fixed.
        self.base = capi.memory_data(self._context, ctypes.byref(self._memory)) or 0
        self._size = 0
        control = self._export(instance, EXPORT_CONTROL).of.memory
        control_base = capi.memory_data(self._context, ctypes.byref(control)) or 0
        #: host addresses of the control words (stop_checks.py), for the watchdog
        self.interrupt_word = control_base + INTERRUPT_WORD
        self.stop_word = control_base + STOP_WORD
        self._stack_pointer = self._export(instance, "__stack_pointer").of.global_
        self.ctx = 0
        self._box = 0
        self._out = 0  # 8 bytes for out-parameters
        self._scratch = 0  # a guest buffer for text going in, grown on demand
        self._scratch_size = 0
        self._names: dict[str, int] = {}  # C strings kept in the guest (filenames, property names)

    def _export(self, instance: capi.Instance, name: str) -> capi.Extern:
        raw = name.encode()
        item = capi.Extern()
        if not capi.export_get(self._context, ctypes.byref(instance), raw, len(raw), ctypes.byref(item)):
            raise RuntimeError(f"the module does not export {name}")
        return item

    # ---- calling exports ----

    def _resolve(self, name: str) -> tuple[ctypes.c_void_p, Signature, Any]:
        func = self._export(self._instance, name).of.func
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
            trap, self._trap.value = self._trap.value, None
            message, code = capi.trap_info(trap)
        else:
            message, code = capi.error_message(error or 0), None
        raise GuestTrap(message, code, self.stack_pointer())

    def stack_pointer(self) -> int:
        value = capi.Val()
        capi.global_get(self._context, ctypes.byref(self._stack_pointer), ctypes.byref(value))
        return int(value.of.i32) & 0xFFFFFFFF

    # ---- linear memory ----

    def _check(self, pointer: int, length: int) -> None:
        if pointer + length > self._size:
            self._size = capi.memory_data_size(self._context, ctypes.byref(self._memory))
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
        """A fresh JSRuntime and JSContext (reactor/modrun_reactor.c `modrun_init`). libc must have
        been initialised (`_initialize`)."""
        if self.call("modrun_init") != 0:
            raise GuestMemoryError("the guest could not create its runtime")
        self.ctx = self.call("modrun_context") & 0xFFFFFFFF
        self._box = self.call("modrun_box") & 0xFFFFFFFF
        self._out = self.malloc(8)

    def state(self) -> dict[str, Any]:
        """What the driver knows about its guest, to carry over to instances of a snapshot."""
        return {"ctx": self.ctx, "box": self._box, "out": self._out, "scratch": self._scratch,
                "scratch_size": self._scratch_size, "names": dict(self._names)}

    def restore(self, state: dict[str, Any]) -> None:
        """Take over the runtime of the snapshot this instance was made from."""
        self.ctx, self._box, self._out = state["ctx"], state["box"], state["out"]
        self._scratch, self._scratch_size = state["scratch"], state["scratch_size"]
        self._names = dict(state["names"])

    def memory_size(self) -> int:
        self._size = capi.memory_data_size(self._context, ctypes.byref(self._memory))
        return self._size

    def prefault(self) -> None:
        """Fault every page of the instance's memory in now, written (its copy of the snapshot's made), in
        one call into the kernel: Linux's MADV_POPULATE_WRITE (5.14); elsewhere, or where it fails, the
        pages fault in one by one as they are first written, as without this."""
        madvise = _madvise()
        if madvise is not None:
            madvise(self.base, self.memory_size(), _MADV_POPULATE_WRITE)

    def set_limits(self, heap: int | None, stack: int) -> None:
        """The heap limit (bytes; None for none) and the stack QuickJS may use before it throws a
        RangeError."""
        self.call("modrun_set_limits", 0 if heap is None else min(heap, 0xFFFFFFFF), stack)

    def defer_gc(self, first: int) -> int:
        """The first cycle collection once the heap holds `first` bytes (evaluators/first_gc.py), whatever
        threshold the snapshot's boot left; returns the threshold now in effect (0 only reads it)."""
        return self.call("modrun_defer_gc", min(first, 0xFFFFFFFF)) & 0xFFFFFFFF

    def reseed(self) -> None:
        """A fresh Math.random state and performance.now() zero, for a sandbox made from a snapshot."""
        self.call("modrun_reseed", int.from_bytes(os.urandom(8), "little"))

    def version(self) -> str:
        """QuickJS's version string (JS_GetVersion)."""
        pointer = self.call("JS_GetVersion") & 0xFFFFFFFF
        end = ctypes.string_at(self.base + pointer, 64).split(b"\0", 1)[0]
        return end.decode()

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
            return _decode(self.read(pointer, self.read_u32(self._out)))
        finally:
            self.call("JS_FreeCString", self.ctx, pointer)

    def take_chars(self, value: int) -> tuple[bytes, bool]:
        """A string's characters as they lie in the guest (reactor `modrun_string_chars`), and
        whether they are UTF-16 code units (else Latin-1); the value is freed. A value that is not
        a flat string comes as String(value) would, in UTF-16."""
        try:
            pointer = self.call("modrun_string_chars", value, self._out) & 0xFFFFFFFF
            if not pointer:
                return self.text(value).encode("utf-16-le", "surrogatepass"), True
            length, wide = struct.unpack("<II", self.read(self._out, 8))
            return self.read(pointer, length << wide), bool(wide)
        finally:
            self.free_value(value)

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

    def eval(self, code: str, filename: str, flags: int = JS_EVAL_TYPE_GLOBAL) -> int:
        raw = code.encode("utf-8", "surrogatepass")
        value = self.call("JS_Eval", self.ctx, self._put(raw), len(raw), self.c_string(filename), flags)
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

    def set_rejection_tracker(self, track: int) -> None:
        """Have the engine's promise rejection tracker call `track` (the runtime's)."""
        self.call("modrun_set_rejection_tracker", track)

    def set_drain(self, function: int) -> None:
        """The function `step` calls last (the runner's drain), 0 for none."""
        self.call("modrun_set_drain", function or UNDEFINED)

    # ---- bytecode (the warm-import cache) ----

    def compile(self, sources: Sequence[str], filename: str) -> list[bytes | None]:
        """Each source (global code) compiled, not run, as QuickJS bytecode (JS_WriteObject), None where
        it is not (a syntax error, out of memory), in one call into the guest (reactor/modrun_reactor.c
        `modrun_compile_batch`). The batch gets an allocation of its own, freed at once."""
        if not sources:
            return []
        raws = [source.encode("utf-8", "surrogatepass") for source in sources]
        count = len(raws)
        lengths = struct.pack(f"<{count}I", *map(len, raws))
        text = b"\0".join(raws) + b"\0"
        size = 8 * count + len(lengths) + len(text)
        batch = self.malloc(size)
        try:
            self.write(batch + 8 * count, lengths + text)
            self.call("modrun_compile_batch", batch, count, self.c_string(filename))
            pairs = struct.unpack(f"<{2 * count}I", self.read(batch, 8 * count))
            try:
                return [self.read(pairs[i], pairs[i + 1]) if pairs[i] else None for i in range(0, 2 * count, 2)]
            finally:
                self.call("modrun_free_compiled", batch, count)
        finally:
            self.call("free", batch)

    def answer_compiled(self, compiled: int, bytecodes: Sequence[bytes | None]) -> None:
        """Run each bytecode (None: no wrapper) and call `compiled` with the wrappers, in one call
        into the guest (reactor/modrun_reactor.c `modrun_answer_compiled`). A wrapper that fails
        to load is undefined; when the batch finds no room in the guest, every one is. The
        batch gets an allocation of its own, freed at once, so the guest keeps no buffer the size
        of a whole graph's bytecode."""
        lengths = [0 if code is None else len(code) for code in bytecodes]
        header = struct.pack(f"<{len(lengths)}I", *lengths)
        size = len(header) + sum(lengths)
        batch = self.call("malloc", size) & 0xFFFFFFFF if lengths else 0
        count = len(lengths) if batch else 0
        if count:
            self._check(batch, size)
            at = self.base + batch
            ctypes.memmove(at, header, len(header))
            at += len(header)
            for code in bytecodes:
                if code:
                    ctypes.memmove(at, code, len(code))
                    at += len(code)
        try:
            if not self.call("modrun_answer_compiled", compiled, batch, count):
                raise self.pending_exception()
        finally:
            if batch:
                self.call("free", batch)

    # ---- the round trip ----

    def step(self, function: int, args: Sequence[Any] = ()) -> tuple[Any, str | None]:
        """One round trip in one call into the guest (`modrun_step`): `function(*args)` unless
        `function` is 0, then every pending job, then drain. Arguments are plain values (is_plain)
        or UTF-8 bytes (or JsonText). Returns the call's plain result (an `Envelope` when the runtime answered
        JSON text for a value that is not plain, None when it returned nothing) and the drained
        text (None when there is none). The transport's hot path: kept lean."""
        box = self._box
        if args:
            self._pack(box, args)
        step = self._funcs.get("modrun_step") or self._resolve("modrun_step")
        _STEP.pack_into(self._buffer_view, 0, function, len(args))
        error = _CALL(self._ctx_arg, step[0], self._buffer_arg, self._slots, self._trap_arg)
        if error or self._trap.value:
            self._raise_trap(error)
        status = _I32.unpack_from(self._buffer_view, 0)[0]
        if status != STEP_OK:
            if status == STEP_NO_MEMORY:
                raise GuestException("InternalError: out of memory")
            raise self.pending_exception()
        kind, length, value, drained_kind, drained_length, drained = _RESULTS.unpack(
            ctypes.string_at(self.base + box + BOX_RESULT, _RESULTS.size))
        return (self._value(kind, length, value) if kind else None,
                self._text_at(drained & 0xFFFFFFFF, drained_length) if drained_kind else None)

    def _pack(self, box: int, args: Sequence[Any]) -> None:
        if len(args) > MAX_ARGS:
            raise ValueError(f"at most {MAX_ARGS} arguments cross without JSON")
        slots = bytearray()
        texts: list[bytes] = []
        at = box + BOX_INLINE
        raws = [a if isinstance(a, bytes) else a.raw if isinstance(a, JsonText) else a.encode("utf-8", "surrogatepass")
                for a in args if isinstance(a, bytes | str | JsonText)]
        inline = sum(len(raw) for raw in raws) <= INLINE_SIZE
        if not inline:  # too long for the box: through the scratch buffer
            at = self._put(b"".join(raws))
        for arg in args:
            kind = type(arg)
            if kind is bytes or kind is str or kind is JsonText:
                raw = raws[len(texts)]
                slots += _TEXT.pack(KIND_JSON if kind is JsonText else KIND_STRING, len(raw), at)
                texts.append(raw)
                at += len(raw)
            elif kind is bool:
                slots += _INT32.pack(KIND_BOOL, 0, arg)
            elif arg is None:
                slots += _INT32.pack(KIND_NULL, 0, 0)
            elif kind is int and -(1 << 31) <= arg < 1 << 31:
                slots += _INT32.pack(KIND_INT, 0, arg)
            else:
                slots += _FLOAT.pack(KIND_FLOAT, 0, arg)
        ctypes.memmove(self.base + box, bytes(slots), len(slots))  # inside the box: no check
        if texts and inline:
            joined = b"".join(texts)
            ctypes.memmove(self.base + box + BOX_INLINE, joined, len(joined))

    def _value(self, kind: int, length: int, value: int) -> Any:
        if kind == KIND_INT:
            return _I32.unpack(struct.pack("<I", value & 0xFFFFFFFF))[0]
        if kind == KIND_FLOAT:
            number: float = struct.unpack("<d", struct.pack("<Q", value))[0]
            # as the JSON path gives it back
            return int(number) if number.is_integer() and _INT_RANGE[0] <= number < _INT_RANGE[1] else number
        if kind == KIND_STRING:
            return self._text_at(value & 0xFFFFFFFF, length)
        if kind == KIND_ENVELOPE:
            return Envelope(self._text_at(value & 0xFFFFFFFF, length))
        if kind == KIND_BOOL:
            return bool(value & 0xFFFFFFFF)
        return None  # null

    def _text_at(self, pointer: int, length: int) -> str:
        if not length:
            return ""
        self._check(pointer, length)
        return _decode(ctypes.string_at(self.base + pointer, length))

    def run_jobs(self) -> None:
        """Run promise jobs until none is left (and drain, when a drain function is set)."""
        self.step(0)

    def close(self) -> None:
        self.store.close()
