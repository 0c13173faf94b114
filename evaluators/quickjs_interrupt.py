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

from .quickjs_tracker import _lib, context_data

HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)

_lib.JS_SetInterruptHandler.restype = None
_lib.JS_SetInterruptHandler.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]


class WallClockInterrupt:
    """Stops the engine of `context` once `time.monotonic()` reaches the armed deadline."""

    def __init__(self, context: Any) -> None:
        self._runtime = context_data(context).runtime
        # The deadline lives in a cell the handler reads: a handler that held `self` would make a
        # reference cycle, and the engine would wait for the garbage collector to be freed.
        self._deadline: list[float | None] = [None]
        deadline = self._deadline
        clock = time.monotonic

        def handler(runtime: int, opaque: int) -> int:
            at = deadline[0]
            return 1 if at is not None and clock() >= at else 0

        self._callback = HANDLER(handler)
        self._pointer = ctypes.cast(self._callback, ctypes.c_void_p)

    def arm(self, deadline: float) -> None:
        """From now until `disarm`, stop at `deadline` (installed again each time: a CPU slice run
        since has the binding's handler in place)."""
        self._deadline[0] = deadline
        _lib.JS_SetInterruptHandler(self._runtime, self._pointer, None)

    def disarm(self) -> None:
        self._deadline[0] = None

    def expired(self) -> bool:
        at = self._deadline[0]
        return at is not None and time.monotonic() >= at

    def remove(self) -> None:
        self._deadline[0] = None
        _lib.JS_SetInterruptHandler(self._runtime, None, None)
