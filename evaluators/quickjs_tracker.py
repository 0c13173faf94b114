"""The engine's HostPromiseRejectionTracker for a PyPI `quickjs-ng` context.

Unhandled rejections can only be told by the engine: a promise rejected with no handler is not
observable from JS. The binding does not expose QuickJS's hook, but its library exports the C API
(`JS_SetHostPromiseRejectionTracker`, `JS_Call`…), so the hook is installed through ctypes: a C
callback that calls the runtime's `track` entry point (runner/js/event_loop.js) with the promise,
the reason and whether it is now handled.

This reads two of the binding's C structs (the Context object's JSRuntime and JSContext
pointers, and a JS object handle's JSValue), so it is tied to the pinned binding version; the
layout is checked against the library itself before anything is installed.
"""

from __future__ import annotations

import ctypes
from typing import Any

import _quickjs

# JSValue on 64-bit hosts (no NaN boxing): an 8-byte union and a 64-bit tag. The union holds an
# int32, a double or a pointer; as a whole it is passed in integer registers like an int64.
TAG_OBJECT, TAG_BOOL, TAG_UNDEFINED, TAG_EXCEPTION = -1, 1, 3, 6


class JSValue(ctypes.Structure):
    _fields_ = [("u", ctypes.c_int64), ("tag", ctypes.c_int64)]


class ContextData(ctypes.Structure):
    """The start of the binding's `RuntimeData` (a `quickjs.Context`) after PyObject_HEAD."""

    _fields_ = [("refcount", ctypes.c_ssize_t), ("type", ctypes.c_void_p), ("runtime", ctypes.c_void_p),
                ("context", ctypes.c_void_p)]


class ObjectData(ctypes.Structure):
    """The binding's `ObjectData` (a `quickjs.Object`, a handle on a JS value) after PyObject_HEAD."""

    _fields_ = [("refcount", ctypes.c_ssize_t), ("type", ctypes.c_void_p), ("runtime_data", ctypes.c_void_p),
                ("value", JSValue)]


TRACKER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, JSValue, JSValue, ctypes.c_bool, ctypes.c_void_p)

_lib = ctypes.CDLL(_quickjs.__file__)
_lib.JS_GetRuntime.restype = ctypes.c_void_p
_lib.JS_GetRuntime.argtypes = [ctypes.c_void_p]
_lib.JS_SetHostPromiseRejectionTracker.restype = None
_lib.JS_SetHostPromiseRejectionTracker.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
_lib.JS_Call.restype = JSValue
_lib.JS_Call.argtypes = [ctypes.c_void_p, JSValue, JSValue, ctypes.c_int, ctypes.POINTER(JSValue)]
_lib.JS_GetException.restype = JSValue
_lib.JS_GetException.argtypes = [ctypes.c_void_p]
_lib.JS_FreeValue.restype = None
_lib.JS_FreeValue.argtypes = [ctypes.c_void_p, JSValue]


def context_data(context: Any) -> ContextData:
    """The engine pointers behind a binding `Context`, checked against the library (the context's
    runtime must be the runtime it names); a RuntimeError where the binding's layout differs."""
    data = ContextData.from_address(id(context))
    if not data.context or _lib.JS_GetRuntime(data.context) != data.runtime:
        raise RuntimeError("the quickjs-ng binding's layout is not the one modrun was written for "
                           "(see evaluators/quickjs_tracker.py)")
    return data


class RejectionTracker:
    """Installed on `context` for as long as this object lives (the engine keeps it); `track` is
    the runtime's entry point, a function handle from that context."""

    def __init__(self, context: Any, track: Any) -> None:
        data = context_data(context)
        handle = ObjectData.from_address(id(track))
        if handle.runtime_data != id(context) or handle.value.tag != TAG_OBJECT:
            raise RuntimeError("the quickjs-ng binding's layout is not the one modrun was written for "
                               "(see evaluators/quickjs_tracker.py)")
        self._runtime = data.runtime
        self._keep = (context, track)  # the function's JSValue is alive while its handle is
        function = JSValue(handle.value.u, handle.value.tag)
        undefined = JSValue(0, TAG_UNDEFINED)
        argv = (JSValue * 3)()

        def tracker(ctx: int, promise: JSValue, reason: JSValue, handled: bool, opaque: int) -> None:
            try:
                argv[0], argv[1], argv[2] = promise, reason, JSValue(1 if handled else 0, TAG_BOOL)
                result = _lib.JS_Call(ctx, function, undefined, 3, argv)
                # `track` does not throw; an interrupt (a time limit) can still end it: the engine
                # raises it again at its next check.
                _lib.JS_FreeValue(ctx, _lib.JS_GetException(ctx) if result.tag == TAG_EXCEPTION else result)
            except BaseException:  # nothing may escape into the engine's C frames
                pass

        self._callback = TRACKER(tracker)
        _lib.JS_SetHostPromiseRejectionTracker(self._runtime, ctypes.cast(self._callback, ctypes.c_void_p), None)

    def remove(self) -> None:
        _lib.JS_SetHostPromiseRejectionTracker(self._runtime, None, None)
