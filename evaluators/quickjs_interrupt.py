"""The time limits of a PyPI `quickjs-ng` context: an interrupt handler of our own.

The binding's time limit counts this process's CPU time (`clock()`) from each entry into the
engine. That clock is wrong for both of our limits: a wall-time limit enforced through it stops
late on a loaded machine (seven times late at 100 ms under load: the engine gets less CPU than wall
time), and a CPU limit in a process with RLIMIT_CPU set (the process worker) stops up to a
scheduler tick late, because the kernel then reads the process's CPU clock from a total it updates
at ticks (2 ms late on 10 ms here). QuickJS polls an interrupt handler every ten thousand or so
operations; this installs one through the binding's C API (as quickjs_tracker.py installs the
rejection tracker) that says stop once a clock passes a deadline: the monotonic clock for a wall
limit, the engine thread's own CPU clock (exact, and blind to the host's other threads) for a CPU
limit. The handler is installed only while a deadline is armed (the binding installs its own only
while its own limit is set, which the engine never sets).
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from typing import Any

from .quickjs_tracker import _lib, context_data

HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)

_lib.JS_SetInterruptHandler.restype = None
_lib.JS_SetInterruptHandler.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]

#: the clocks of the deadlines: wall time, and the CPU time of the thread that runs the engine
WALL: Callable[[], float] = time.monotonic
CPU: Callable[[], float] = time.thread_time


class EngineInterrupt:
    """Stops the engine of `context` once the wall clock reaches the armed wall deadline or the
    engine thread's CPU clock reaches the armed CPU deadline."""

    def __init__(self, context: Any) -> None:
        self._runtime = context_data(context).runtime
        # The deadlines live in a cell the handler reads: a handler that held `self` would make a
        # reference cycle, and the engine would wait for the garbage collector to be freed.
        self._armed: list[float | None] = [None, None]  # wall, CPU
        armed = self._armed
        wall_clock, cpu_clock = WALL, CPU

        def handler(runtime: int, opaque: int) -> int:
            wall, cpu = armed
            return 1 if (wall is not None and wall_clock() >= wall) or (cpu is not None and cpu_clock() >= cpu) else 0

        self._callback = HANDLER(handler)
        self._pointer = ctypes.cast(self._callback, ctypes.c_void_p)
        self._installed = False

    def arm(self, wall: float | None, cpu: float | None = None) -> None:
        """From now until `disarm`, stop once `WALL()` reaches `wall` or `CPU()` reaches `cpu` (read
        on the thread that runs the engine: arm it there)."""
        self._armed[0], self._armed[1] = wall, cpu
        if not self._installed:
            _lib.JS_SetInterruptHandler(self._runtime, self._pointer, None)
            self._installed = True

    def disarm(self) -> None:
        """No handler at all until armed again: code without a limit runs without the callback."""
        self._armed[0] = self._armed[1] = None
        if self._installed:
            _lib.JS_SetInterruptHandler(self._runtime, None, None)
            self._installed = False

    def expired(self) -> str | None:
        """The limit whose deadline has passed ("wall-time" or "cpu"), if one has."""
        wall, cpu = self._armed
        if wall is not None and WALL() >= wall:
            return "wall-time"
        if cpu is not None and CPU() >= cpu:
            return "cpu"
        return None
