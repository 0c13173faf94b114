"""Limits of a runtime, and the budget one host operation may spend of them."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from .errors import UsageError, config_mapping

DEFAULT_STACK_KB = 4096
DEFAULT_OUTPUT_BYTES = 64 * 1024 * 1024


class Limits(NamedTuple):  # not a dataclass (nor Budget): every process makes them, and a dataclass costs a compile
    """`cpu_ms` and `wall_ms` apply to each host operation (an import, a call); `memory_mb` caps
    the engine's heap; `stack_kb` the engine's stack; `output_bytes` the console output."""

    cpu_ms: float | None = None
    wall_ms: float | None = None
    memory_mb: float | None = None
    stack_kb: int = DEFAULT_STACK_KB
    output_bytes: int = DEFAULT_OUTPUT_BYTES

    @classmethod
    def from_config(cls, value: Limits | dict[str, Any] | None) -> Limits:
        if value is None:
            return cls()
        if isinstance(value, Limits):
            return value
        value = config_mapping(value, {"cpu_ms", "wall_ms", "memory_mb", "stack_kb", "output_bytes"}, "limits")
        for key, item in value.items():
            if item is not None and (isinstance(item, bool) or not isinstance(item, int | float) or item <= 0):
                raise UsageError(f"limit {key} must be a positive number, not {item!r}")
        return cls(**value)


class Budget:
    """What one host operation may still spend: a wall-clock deadline and CPU seconds."""

    __slots__ = ("cpu_left", "deadline")

    def __init__(self, deadline: float | None = None, cpu_left: float | None = None) -> None:
        self.deadline = deadline  # time.monotonic() value
        self.cpu_left = cpu_left  # seconds

    def __repr__(self) -> str:
        return f"Budget(deadline={self.deadline!r}, cpu_left={self.cpu_left!r})"

    @classmethod
    def start(cls, limits: Limits, deadline: float | None = None, cpu_ms: float | None = None) -> Budget:
        """The budget of one operation: the runtime's limits, tightened by the operation's own
        deadline and CPU budget (`cpu_ms`: a per-call budget, as Workers give each request)."""
        if deadline is None and limits.wall_ms is None and limits.cpu_ms is None and cpu_ms is None:
            return _UNLIMITED  # nothing to count down: one shared instance, never mutated
        if limits.wall_ms is not None:
            own = time.monotonic() + limits.wall_ms / 1000
            deadline = own if deadline is None else min(deadline, own)
        if cpu_ms is not None and (isinstance(cpu_ms, bool) or not isinstance(cpu_ms, int | float) or cpu_ms <= 0):
            raise UsageError(f"cpu_ms must be a positive number of milliseconds, not {cpu_ms!r}")
        if limits.cpu_ms is not None:
            cpu_ms = limits.cpu_ms if cpu_ms is None else min(cpu_ms, limits.cpu_ms)
        return cls(deadline=deadline, cpu_left=cpu_ms / 1000 if cpu_ms is not None else None)

    def wall_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def slice(self) -> tuple[float | None, str]:
        """The time the engine may run now, and which limit that is."""
        wall = self.wall_left()
        if wall is None and self.cpu_left is None:
            return None, ""
        if self.cpu_left is None or (wall is not None and wall <= self.cpu_left):
            return wall, "wall-time"
        return self.cpu_left, "cpu"

    def spend_cpu(self, seconds: float) -> None:
        if self.cpu_left is not None:
            self.cpu_left -= seconds


_UNLIMITED = Budget()
