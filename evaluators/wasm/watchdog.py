"""The watchdog: one daemon thread per process that stops guests whose time is up.

A guest runs on the host's thread. Before a transport enters its guest with a budget, it arms
its `Arm` with a wall-clock deadline and/or a CPU-time allowance (measured on the running
thread's own CPU clock, so time the thread spends descheduled is not charged). When one runs out
the watchdog writes the guest's interrupt word: QuickJS's interrupt handler returns it and QuickJS
throws its uncatchable `interrupted` error, which unwinds the guest in good order. If the guest
is in C code that does not poll (a long string operation, say), the watchdog writes the stop
word `GRACE` seconds later, and the next loop head traps (stop_checks.py).

The thread sleeps until the earliest moment a limit could run out and is woken only when a
sooner deadline is armed, so a host making many short calls costs it about one wake-up per
limit period, and arming costs two uncontended lock acquisitions and two clock reads.
"""

from __future__ import annotations

import ctypes
import threading
import time

GRACE = 0.005  # seconds between the graceful interrupt and the hard stop
_NEVER = float("inf")


class Arm:
    """One guest's entry in the watchdog, reused for every entry into that guest."""

    __slots__ = ("interrupt_address", "stop_address", "active", "deadline", "cpu_clock", "cpu_start",
                 "cpu_deadline", "fired", "hard_at", "stopped")

    def __init__(self, interrupt_address: int, stop_address: int) -> None:
        self.interrupt_address = interrupt_address  # host addresses of the guest's control words
        self.stop_address = stop_address
        self.active = False
        self.deadline: float | None = None  # time.monotonic()
        self.cpu_clock: int | None = None  # the running thread's CPU clock id
        self.cpu_start = 0.0
        self.cpu_deadline: float | None = None
        self.fired: str | None = None  # "wall-time" or "cpu", once the interrupt word is written
        self.hard_at = 0.0
        self.stopped = False


_local = threading.local()


def _thread_cpu_clock() -> int:
    """This thread's CPU clock, readable from the watchdog's thread (the process's CPU clock
    where the platform has no per-thread clock ids, as the in-process evaluator uses)."""
    clock = getattr(_local, "clock", None)
    if clock is None:
        try:
            clock = time.pthread_getcpuclockid(threading.get_ident())
        except (AttributeError, OSError):
            clock = time.CLOCK_PROCESS_CPUTIME_ID
        _local.clock = clock
    return clock  # type: ignore[no-any-return]


class Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # taken directly on the hot path (a Condition's `with` is slower)
        self._condition = threading.Condition(self._lock)
        self._arms: set[Arm] = set()
        self._dropped: list[Arm] = []  # unregistered arms, leaving `_arms` at the next register or look
        self._wake_at = _NEVER  # when the thread will next look, as planned
        self._horizon = 0.0  # the latest moment a limit armed since the last look could run out
        self._thread: threading.Thread | None = None

    def register(self, interrupt_address: int, stop_address: int) -> Arm:
        arm = Arm(interrupt_address, stop_address)
        with self._condition:
            self._purge()
            self._arms.add(arm)
        return arm

    def unregister(self, arm: Arm) -> None:
        """Stop watching `arm` for good. It takes no lock: it also runs as a transport's finalizer,
        which the garbage collector may run inside a section that holds the lock (then it waited for
        itself forever)."""
        arm.active = False
        self._dropped.append(arm)

    def _purge(self) -> None:
        """Under the lock: drop the unregistered arms."""
        while self._dropped:
            self._arms.discard(self._dropped.pop())

    def arm(self, arm: Arm, deadline: float | None, cpu_seconds: float | None) -> None:
        """Watch the guest until `disarm`: stop it at `deadline` or after `cpu_seconds` of this
        thread's CPU time."""
        earliest = _NEVER if deadline is None else deadline
        if cpu_seconds is not None:
            clock = arm.cpu_clock = _thread_cpu_clock()
            arm.cpu_start = time.clock_gettime(clock)
            arm.cpu_deadline = arm.cpu_start + cpu_seconds
            earliest = min(earliest, time.monotonic() + cpu_seconds)
        else:
            arm.cpu_clock = arm.cpu_deadline = None
        with self._lock:
            arm.deadline = deadline
            arm.fired = None
            arm.stopped = False
            arm.active = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="modrun-wasm-watchdog", daemon=True)
                self._thread.start()
            if earliest > self._horizon:
                self._horizon = earliest
            if earliest < self._wake_at:
                self._wake_at = earliest
                self._condition.notify()

    def charge(self, arm: Arm, seconds: float) -> None:
        """Count `seconds` of CPU time that the guest's work took on another thread (its wrappers'
        compiles, wrappers.py) as spent on this one: its allowance shrinks by them, and `disarm`
        reports them as spent. Nothing when the guest is not metered."""
        if seconds <= 0:
            return
        with self._lock:
            if not arm.active or arm.cpu_clock is None or arm.cpu_deadline is None:
                return
            arm.cpu_start -= seconds
            arm.cpu_deadline -= seconds
            self._wake_at = time.monotonic()  # look now: the allowance may be spent
            self._condition.notify()

    def disarm(self, arm: Arm) -> float:
        """Stop watching; returns the CPU seconds spent since `arm` (0 when not metered). A limit
        that fired as the guest finished is forgotten: its words are cleared."""
        with self._lock:
            arm.active = False
            if arm.fired is not None:
                ctypes.c_uint32.from_address(arm.interrupt_address).value = 0
                ctypes.c_uint32.from_address(arm.stop_address).value = 0
        return time.clock_gettime(arm.cpu_clock) - arm.cpu_start if arm.cpu_clock is not None else 0.0

    def _run(self) -> None:
        with self._condition:
            while True:
                self._purge()
                now = time.monotonic()
                wake = _NEVER
                for arm in self._arms:
                    if arm.active:
                        wake = min(wake, self._check(arm, now))
                # Short calls arm and disarm between two looks: rather than sleep for good (and be
                # woken by the next call), look again when the latest of them would have run out.
                if wake == _NEVER and self._horizon > now:
                    wake = self._horizon
                self._horizon = 0.0
                self._wake_at = wake
                self._condition.wait(None if wake == _NEVER else max(0.0, wake - time.monotonic()))

    def _check(self, arm: Arm, now: float) -> float:
        """Fire what is due; return when this arm next needs a look."""
        if arm.fired is not None:
            if arm.stopped:
                return _NEVER
            if now >= arm.hard_at:
                ctypes.c_uint32.from_address(arm.stop_address).value = 1
                arm.stopped = True
                return _NEVER
            return arm.hard_at
        due = _NEVER
        if arm.deadline is not None:
            if now >= arm.deadline:
                return self._fire(arm, "wall-time", now)
            due = arm.deadline
        if arm.cpu_clock is not None and arm.cpu_deadline is not None:
            try:
                left = arm.cpu_deadline - time.clock_gettime(arm.cpu_clock)
            except OSError:  # the thread is gone
                return due
            if left <= 0:
                return self._fire(arm, "cpu", now)
            due = min(due, now + left)  # CPU time cannot pass faster than wall time
        return due

    @staticmethod
    def _fire(arm: Arm, which: str, now: float) -> float:
        arm.fired = which
        arm.hard_at = now + GRACE
        ctypes.c_uint32.from_address(arm.interrupt_address).value = 1
        return arm.hard_at


WATCHDOG = Watchdog()
