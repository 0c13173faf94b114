"""Compiled module code for the QuickJS-ng binding (PyPI quickjs-ng): the runner's wrappers kept as
QuickJS bytecode (see compiled_code.py for the interface).

The binding has no bytecode API in Python, but its extension module exports the QuickJS C API
(JS_Eval, JS_WriteObject, JS_ReadObject, JS_EvalFunction, JS_Call…), and its context and object
types are C structs whose first fields hold the engine's pointers (read as quickjs_tracker.py
reads them: a Context's JSRuntime and JSContext, an Object's JSValue; module.c of quickjs-ng
0.17.0.2, which pyproject.toml pins exactly, 80 and 40 bytes). That is
sound only for that layout, so it is checked when first used: the types' sizes, the context's
runtime against the engine's own answer, and a call through a read JSValue that must come back
right. Anything else (another binding, a struct that moved) disables compiled code with the
reason in `unavailable()`, and runtimes compile their wrappers themselves, as before.

A wrapper is compiled as the engine's Function constructor compiles it (its source, given by the
runner, is the very text that constructor evaluates) under the name "<input>", so that a
function from bytecode and one from `new AsyncFunction` are the same to stack traces and source
positions. JS_WriteObject keeps the source and the line tables (Function.prototype.toString and
stack traces need them).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _quickjs

from .compiled_code import CODE_CACHE, CodeCache, CompiledCode, batch_key, may_compile, split_request
from .quickjs_tracker import ContextData, JSValue, ObjectData

if TYPE_CHECKING:
    from .compile_ahead import CompileAhead
    from .keyed_wrapper import WrapperShapes

JS_TAG_FUNCTION_BYTECODE = -2
JS_TAG_INT = 0
JS_TAG_NULL = 2
JS_TAG_UNDEFINED = 3
JS_TAG_EXCEPTION = 6
JS_EVAL_TYPE_GLOBAL = 0
JS_EVAL_FLAG_COMPILE_ONLY = 1 << 5
JS_WRITE_OBJ_BYTECODE = 1 << 0
JS_READ_OBJ_BYTECODE = 1 << 0
JS_PROP_C_W_E = 7
FILENAME = b"<input>"
CONTEXT_SIZE = 80
OBJECT_SIZE = 40

UNDEFINED = JSValue(0, JS_TAG_UNDEFINED)
NULL = JSValue(0, JS_TAG_NULL)


class Api:
    """The C functions used, with their signatures."""

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        p, size_t = ctypes.c_void_p, ctypes.c_size_t

        def fn(name: str, restype: object, *argtypes: object) -> Any:
            function = getattr(lib, name)
            function.restype = restype
            function.argtypes = argtypes
            return function

        self.get_runtime = fn("JS_GetRuntime", p, p)
        self.update_stack_top = fn("JS_UpdateStackTop", None, p)
        self.version = fn("JS_GetVersion", ctypes.c_char_p)
        self.eval = fn("JS_Eval", JSValue, p, ctypes.c_char_p, size_t, ctypes.c_char_p, ctypes.c_int)
        self.write_object = fn("JS_WriteObject", p, p, ctypes.POINTER(size_t), JSValue, ctypes.c_int)
        self.read_object = fn("JS_ReadObject", JSValue, p, ctypes.c_char_p, size_t, ctypes.c_int)
        self.eval_function = fn("JS_EvalFunction", JSValue, p, JSValue)
        self.call = fn("JS_Call", JSValue, p, JSValue, JSValue, ctypes.c_int, ctypes.POINTER(JSValue))
        self.free_value = fn("JS_FreeValue", None, p, JSValue)
        self.dup_value = fn("JS_DupValue", JSValue, p, JSValue)
        self.new_object_proto = fn("JS_NewObjectProto", JSValue, p, JSValue)
        self.define_index = fn("JS_DefinePropertyValueUint32", ctypes.c_int, p, JSValue, ctypes.c_uint32, JSValue,
                               ctypes.c_int)
        self.get_index = fn("JS_GetPropertyUint32", JSValue, p, JSValue, ctypes.c_uint32)
        self.set_prototype = fn("JS_SetPrototype", ctypes.c_int, p, JSValue, JSValue)
        self.get_exception = fn("JS_GetException", JSValue, p)
        self.to_cstring = fn("JS_ToCStringLen2", p, p, ctypes.POINTER(size_t), JSValue, ctypes.c_bool)
        self.free_cstring = fn("JS_FreeCString", None, p, p)
        self.free = fn("js_free", None, p, p)
        self.get_global_object = fn("JS_GetGlobalObject", JSValue, p)
        self.set_property_str = fn("JS_SetPropertyStr", ctypes.c_int, p, JSValue, ctypes.c_char_p, JSValue)
        self.get_gc_threshold = fn("JS_GetGCThreshold", size_t, p)
        self.set_gc_threshold = fn("JS_SetGCThreshold", None, p, size_t)


class Unavailable(Exception):
    pass


@functools.cache
def _api() -> Api | str:
    """The C API, checked against the binding's layout; a string says why it cannot be used."""
    try:
        if _quickjs.Context.__basicsize__ != CONTEXT_SIZE or _quickjs.Object.__basicsize__ != OBJECT_SIZE:
            raise Unavailable(f"the binding's types have another layout ({_quickjs.Context.__basicsize__} and "
                              f"{_quickjs.Object.__basicsize__} bytes, not {CONTEXT_SIZE} and {OBJECT_SIZE})")
        if ctypes.sizeof(ctypes.c_void_p) != 8:
            raise Unavailable("not a 64-bit build (JSValue is NaN-boxed there)")
        api = Api(str(_quickjs.__file__))
        context = _quickjs.Context()
        runtime_ptr, context_ptr = _pointers(context)
        if not context_ptr or api.get_runtime(context_ptr) != runtime_ptr:
            raise Unavailable("the binding's context does not hold the engine's pointers where expected")
        identity = context.eval("(x) => x + 1")
        result = api.call(context_ptr, _value(identity), UNDEFINED, 1, (JSValue * 1)(JSValue(41, JS_TAG_INT)))
        if result.tag != JS_TAG_INT or ctypes.c_int32(result.u & 0xFFFFFFFF).value != 42:
            raise Unavailable("a call through the binding's object layout did not come back right")
        return api
    except (Unavailable, OSError, AttributeError) as error:
        return f"compiled code is off: {error}"


def unavailable() -> str | None:
    """Why compiled code cannot be used with this binding, or None when it can."""
    api = _api()
    return api if isinstance(api, str) else None


@functools.cache
def engine_build() -> str:
    """What a cache entry is keyed by: the engine binary's digest and the engine's version."""
    api = _api()
    version = api.version().decode() if isinstance(api, Api) else "?"
    digest = hashlib.sha256(Path(_quickjs.__file__).read_bytes()).hexdigest()[:32]
    return f"quickjs-ng {version} {digest}"


def _binary_identity() -> str:
    path = Path(_quickjs.__file__)
    info = path.stat()
    return f"{path}:{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"


def _pointers(context: _quickjs.Context) -> tuple[int, int]:
    data = ContextData.from_address(id(context))
    return data.runtime or 0, data.context or 0


def _value(obj: _quickjs.Object) -> JSValue:
    """The JSValue a binding object holds (borrowed: valid while the object lives)."""
    return ObjectData.from_address(id(obj)).value


class QuickJSCompiler:
    """Serves one runtime's compile requests from the code cache (compiled_code.py)."""

    @staticmethod
    def attach(context: _quickjs.Context, directory: str | None = None,
               cache: CodeCache = CODE_CACHE) -> QuickJSCompiler | None:
        """A compiler for this context, or None where compiled code is off (a cache of no size), or
        cannot be used with this binding (warned about once). `directory` holds the disk store."""
        if cache.max_bytes <= 0:
            return None
        api = _api()
        if isinstance(api, str):
            _warn_once(api)
            return None
        return QuickJSCompiler(api, context, CompiledCode(cache, directory))

    def __init__(self, api: Api, context: _quickjs.Context, code: CompiledCode) -> None:
        self.api = api
        self.context = context
        self.runtime_ptr, self.context_ptr = _pointers(context)
        self.code = code
        self.next_request: _quickjs.Object | None = None
        self.deliver: _quickjs.Object | None = None
        self.build = ""
        #: wrappers compiled ahead from the host's transforms (compile_ahead.py), for a runtime sending code
        self.ahead: CompileAhead | None = None
        #: a batch that lacked only wrappers asked for by key alone and not held, which the runner asks for
        #: again next, with their code (host_compiler.js fetchCode): its key, its keys, and where those are
        self._partial: tuple[str, list[str], list[int]] | None = None

    def connect(self, next_request: _quickjs.Object, deliver: _quickjs.Object) -> None:
        """The runtime's entry points (runtime.js: nextCompile, compiled)."""
        self.next_request = next_request
        self.deliver = deliver

    def close(self) -> None:
        """Let go of the runtime's context (its engine is being freed)."""
        self.next_request = self.deliver = None
        self.__dict__.pop("context", None)

    def serve(self) -> None:
        """Answer the runtime's compile requests (runner/js/module_runner/host_compiler.js)."""
        assert self.next_request is not None and self.deliver is not None
        api, ctx = self.api, self.context_ptr
        api.update_stack_top(self.runtime_ptr)
        wrappers: list[JSValue] = []
        try:
            requests: list[tuple[str, str | None]] = []
            while (request := self.next_request()) is not None:
                requests.append(split_request(str(request)))
            # In memory only: a process with a disk store (a command-line run) would pay the batch's write
            # (the tree: ~25 ms, +12 % on its next warm run) to read it only from the run after.
            batch = None if self.code.store is not None else batch_key([key for key, _ in requests])
            found = None if batch is None else self._from_batch(batch, len(requests))
            wrappers = self._wrappers(requests, batch) if found is None else found
            self.code.flush()
        finally:
            # Always answered (undefined for what is not compiled): the runner waits for it.
            args = (JSValue * max(len(wrappers), 1))(*wrappers)
            result = api.call(ctx, _value(self.deliver), UNDEFINED, len(wrappers), args)
            for wrapper in wrappers:
                api.free_value(ctx, wrapper)
        if result.tag == JS_TAG_EXCEPTION:
            # The runner would wait for ever: the runtime stops with what stopped it (out of
            # memory, its time limit), as for any engine failure.
            raise _quickjs.JSException(exception_text(api, ctx))
        api.free_value(ctx, result)

    def _wrappers(self, requests: list[tuple[str, str | None]], batch: str | None) -> list[JSValue]:
        """The wrapper of each request, one by one (undefined where there is none); kept as one `batch`
        too where every one has bytecode (compiled_code.batch_key)."""
        api, ctx = self.api, self.context_ptr
        keys = [key for key, _ in requests]
        # Looked up together: the disk store answers a batch in one query.
        codes = self.code.find(self._build, keys)
        wrappers = [UNDEFINED] * len(requests)
        partial, self._partial = self._partial, None
        completes = partial is not None and keys == [partial[1][at] for at in partial[2]]
        # Batched where every wrapper is found or compiled now (the second time a graph is seen, as a
        # wrapper is compiled: the third runtime reads it whole).
        scripts = [UNDEFINED] * len(requests) if batch is not None or completes else None
        # From the last, where wrappers are compiled ahead from the first (compile_ahead.py): they meet.
        order = range(len(requests)) if self.ahead is None else range(len(requests) - 1, -1, -1)
        for at in order:
            (key, source), code = requests[at], codes[at]
            if code is None and self.ahead is not None and source is not None and key.startswith("K"):
                code = self._ahead(key, source)
            if code is not None or source is not None:  # else a key not held: the runner brings the code
                script = self._script(key, code, source)
                if scripts is not None:
                    scripts[at] = api.dup_value(ctx, script)  # before running it, which takes it
                wrappers[at] = self._run(script)
        if scripts is None:
            return wrappers
        holes = {at for at, ((_, source), code) in enumerate(zip(requests, codes, strict=True))
                 if source is None and code is None}
        if completes:
            assert partial is not None
            self._complete(partial, scripts)
        elif holes and batch is not None and all(
                script.tag == JS_TAG_FUNCTION_BYTECODE or at in holes for at, script in enumerate(scripts)):
            self._partial = batch, keys, sorted(holes)
            self._free(scripts)
        elif batch is not None:
            self._keep_batch(batch, scripts)
        else:
            self._free(scripts)
        return wrappers

    def _complete(self, partial: tuple[str, list[str], list[int]], scripts: list[JSValue]) -> None:
        """Keep the batch `partial` lacked these scripts (taken) for, its others read again."""
        batch, keys, holes = partial
        if any(script.tag != JS_TAG_FUNCTION_BYTECODE for script in scripts):
            self._free(scripts)
            return
        filled = dict(zip(holes, scripts, strict=True))
        found = iter(self.code.find(self._build, [key for at, key in enumerate(keys) if at not in filled]))
        self._keep_batch(batch, [filled[at] if at in filled else UNDEFINED if (code := next(found)) is None
                                 else self._script(key, code) for at, key in enumerate(keys)])

    def _free(self, values: list[JSValue]) -> None:
        for value in values:
            self.api.free_value(self.context_ptr, value)

    def _keep_batch(self, batch: str, scripts: list[JSValue]) -> None:
        """Keep these scripts (taken) as one object's bytecode under `batch`, where all are scripts."""
        from .quickjs_batch import write_batch  # (only a batch of wrappers needs it)

        code = write_batch(self.api, self.context_ptr, scripts)
        if code is not None:
            self.code.keep(self._build(), batch, code)

    def _from_batch(self, batch: str, count: int) -> list[JSValue] | None:
        """The `count` wrappers kept as one `batch`, or None where the cache has none or it does not hold
        `count` scripts (the wrappers are then read one by one)."""
        code = self.code.find(self._build, [batch])[0]
        if code is None:
            return None
        from .quickjs_batch import read_batch

        scripts = read_batch(self.api, self.context_ptr, code, count)
        return None if scripts is None else [self._run(script) for script in scripts]

    def define(self, name: str, key: str, source: Callable[[], str | None]) -> bool:
        """Set the global `name` to the function that `source()` (a script whose value is a function:
        the runner bundle, runner/js/bundle.py) evaluates to, from the code cache where it holds it
        or its disk store, or the user's (compiled into them when a wrapper would be); False where the cache has
        none, or `source()` is None: the caller evaluates the source itself. `key` is the source's
        text, or what identifies it without reading it (bundle.runtime_identity): `source()` is then
        called only when the code is compiled."""
        api, ctx = self.api, self.context_ptr
        api.update_stack_top(self.runtime_ptr)
        function = self._run(self._script(key, self.code.find_shared(self._build, key), source))
        self.code.flush()
        if function.tag == JS_TAG_UNDEFINED:
            return False
        global_object = api.get_global_object(ctx)
        try:
            # Takes the function, whatever the outcome.
            return api.set_property_str(ctx, global_object, name.encode(), function) >= 0
        finally:
            api.free_value(ctx, global_object)

    def _script(self, source: str, code: bytes | None,
                text_of: str | Callable[[], str | None] | None = None) -> JSValue:
        """The compiled script whose value is the wrapper function for this source (a new reference), or
        undefined. `text_of`: the text to compile where `source` only names it (a wrapper key, or define's),
        or what gives it."""
        api, ctx = self.api, self.context_ptr
        if code is not None:
            script = api.read_object(ctx, code, len(code), JS_READ_OBJ_BYTECODE)
        elif self.code.wanted(source):
            compiled = source if text_of is None else text_of if isinstance(text_of, str) else text_of()
            # A source that is not the wrapper its key names is not compiled, so never kept (keyed_wrapper.py):
            # the runner compiles it itself.
            if compiled is None or not may_compile(source, compiled, _shapes):
                return UNDEFINED
            script = compile_script(api, ctx, compiled)
            if script.tag != JS_TAG_EXCEPTION and (bytecode := write_bytecode(api, ctx, script)) is not None:
                self.code.keep(self._build(), source, bytecode)
        else:
            return UNDEFINED
        if script.tag == JS_TAG_EXCEPTION:  # a syntax error, out of memory: the runner compiles it and reports
            api.free_value(ctx, api.get_exception(ctx))
            return UNDEFINED
        return script

    def _run(self, script: JSValue) -> JSValue:
        """The wrapper function a script (taken) evaluates to, or undefined."""
        if script.tag == JS_TAG_UNDEFINED:
            return UNDEFINED
        api, ctx = self.api, self.context_ptr
        wrapper = api.eval_function(ctx, script)  # runs the script (takes it): its value is the function
        if wrapper.tag == JS_TAG_EXCEPTION:
            api.free_value(ctx, api.get_exception(ctx))
            return UNDEFINED
        return wrapper

    def _ahead(self, key: str, source: str) -> bytes | None:
        """The bytecode compiled ahead as this very request, kept as a compile of it would be."""
        assert self.ahead is not None
        code = self.ahead.take(key, source)
        if code is not None:
            self.code.keep(self._build(), key, code)
        return code

    def holds_keys(self) -> bool:
        """Does the cache hold this engine's wrappers by key (compiled_code.py)?"""
        return self.code.holds_keys(self._build())

    def _build(self) -> str:
        if not self.build:
            self.build = self.code.build(_binary_identity(), engine_build)
        return self.build


def compile_script(api: Api, ctx: int, source: str) -> JSValue:
    """`source` compiled as a script, not run (a new reference; an exception where it does not compile)."""
    text = source.encode("utf-8", "surrogatepass")
    return api.eval(ctx, text, len(text), FILENAME, JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY)


def exception_text(api: Api, ctx: int) -> str:
    """The pending exception, taken, as text (what the binding's JSException says of one)."""
    error = api.get_exception(ctx)
    text = api.to_cstring(ctx, None, error, False)
    try:
        return ctypes.string_at(text).decode("utf-8", "replace") if text else "an error in the runtime"
    finally:
        if text:
            api.free_cstring(ctx, text)
        api.free_value(ctx, error)


def write_bytecode(api: Api, ctx: int, script: JSValue, flags: int = JS_WRITE_OBJ_BYTECODE) -> bytes | None:
    """A compiled script's bytecode (or, with flags 0, a value that is data only), or None where it cannot be
    written (out of memory: not cached)."""
    size = ctypes.c_size_t()
    buffer = api.write_object(ctx, ctypes.byref(size), script, flags)
    if not buffer:
        api.free_value(ctx, api.get_exception(ctx))
        return None
    try:
        return ctypes.string_at(buffer, size.value)
    finally:
        api.free(ctx, buffer)


@functools.cache
def _shapes() -> WrapperShapes:
    """The runner's wrappers as this engine writes them, asked of a context of the host's own."""
    from .keyed_wrapper import PROBE, WrapperShapes  # (only a run that compiles by key needs it)

    return WrapperShapes(str(_quickjs.Context().eval(PROBE)))


@functools.cache
def _warn_once(reason: str) -> None:
    warnings.warn(f"{reason}; every runtime compiles its modules", RuntimeWarning, stacklevel=3)
