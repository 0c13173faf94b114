"""A wall-clock interrupt for a PyPI `quickjs-ng` context.

The binding's time limit counts this process's CPU time (`clock()`), so on a loaded machine a
wall-time limit enforced through it stops late (seven times late at 100 ms under load): the engine
gets less CPU than wall time. QuickJS polls an interrupt handler every few thousand operations;
this installs one through the binding's C API (as quickjs_tracker.py installs the rejection
tracker) that says stop once the monotonic clock passes a deadline. The binding installs its own
handler only while its own time limit is set, so a wall slice runs with that limit off.
"""

from __future__ import annotations

import ctypes
import time
from typing import Any

from .quickjs_tracker import _ContextData, _lib

HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)

_lib.JS_SetInterruptHandler.restype = None
_lib.JS_SetInterruptHandler.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]


class WallClockInterrupt:
    """Stops the engine of `context` once `time.monotonic()` reaches the armed deadline."""

    def __init__(self, context: Any) -> None:
        data = _ContextData.from_address(id(context))
        if not data.context or _lib.JS_GetRuntime(data.context) != data.runtime:
            raise RuntimeError("the quickjs-ng binding's layout is not the one modrun was written for "
                               "(see evaluators/quickjs_tracker.py)")
        self._runtime = data.runtime
        self._context = context
        self.deadline: float | None = None
        clock = time.monotonic

        def handler(runtime: int, opaque: int) -> int:
            deadline = self.deadline
            return 1 if deadline is not None and clock() >= deadline else 0

        self._callback = HANDLER(handler)
        self._pointer = ctypes.cast(self._callback, ctypes.c_void_p)

    def arm(self, deadline: float) -> None:
        """From now until `disarm`, stop at `deadline` (installed again each time: a CPU slice run
        since has the binding's handler in place)."""
        self.deadline = deadline
        _lib.JS_SetInterruptHandler(self._runtime, self._pointer, None)

    def disarm(self) -> None:
        self.deadline = None

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def remove(self) -> None:
        self.deadline = None
        _lib.JS_SetInterruptHandler(self._runtime, None, None)
