"""How a runtime's end is told, the same way by every evaluator: which limit stopped it or that it
crashed (one set of messages), and what it printed before.

Engines add what only they know (a wasm trap's cause, the watchdog having fired, the process's
exit status) and route the rest through `classify`, which reads QuickJS's own messages — the same
in-process, in the process worker and in wasm.
"""

from __future__ import annotations

from collections.abc import Callable

from runner.errors import CrashError, LimitError, RuntimeStopped
from runner.rpc.protocol import Message

#: a stopped runtime gets this long, and this much heap beyond its limit, to hand over its output
SALVAGE_SECONDS = 0.5
SALVAGE_HEAP = 16 * 1024 * 1024


class Interrupted(Exception):
    """The engine's interrupt fired during a step, yet the runtime answered: JavaScript that runs
    while the interrupted error is being built (the stack trace's) is interrupted in turn, and
    QuickJS may then hand the runtime's catch `null` for the error. The step is that limit,
    whatever the answer said; `messages` are its output."""

    def __init__(self, messages: list[Message]) -> None:
        super().__init__("interrupted")
        self.messages = messages


def limit_exceeded(limit: str, detail: str = "") -> LimitError:
    return LimitError(f"{limit} limit exceeded" + (f" ({detail})" if detail else ""), limit=limit)


def memory_exceeded(memory_mb: float | None) -> LimitError:
    return limit_exceeded("memory", f"{memory_mb:g} MB") if memory_mb else LimitError("out of memory", limit="memory")


def discarded() -> CrashError:
    return CrashError("the runtime was discarded")


def classify(error: Exception, *, memory_mb: float | None, running: str = "", fired: str | None = None,
             trapped: bool = False) -> RuntimeStopped:
    """What an engine failure means, read from its message. `running` is the time limit the engine
    ran under; `fired` the limit the host knows interrupted it (then whatever the engine
    reports on its way out is that limit); `trapped`: the engine itself broke (a wasm trap), so
    what is not a limit is a crash rather than an error it reported."""
    text = str(error)
    if fired or "interrupted" in text:  # QuickJS's uncatchable error once its interrupt handler says stop
        return limit_exceeded(fired or running or "cpu")
    first = text.splitlines()[0] if text else type(error).__name__
    # Under a heap limit, a null out of the runner's own entry points is QuickJS out of memory with no
    # room left to make the error (as the runtime's nullMeansOutOfMemory reads it within).
    if "out of memory" in text or (memory_mb and first == "null"):
        return memory_exceeded(memory_mb)
    if trapped:
        return CrashError(f"the runtime crashed: {first}")
    if "stack overflow" in text.lower() or "Maximum call stack size exceeded" in text:
        return limit_exceeded("stack")
    return CrashError(f"the runtime failed: {first}")


def salvage(drain: Callable[[], str]) -> list[Message]:
    """The console messages a stopped runtime still holds: `drain` readies the engine (more time,
    more heap) and drains it. Nothing when that fails too."""
    from runner.rpc import wire  # (orjson: not loaded by a process-evaluator worker that never stops)

    try:
        out = drain()
        return wire.loads(out) if out else []
    except Exception:
        return []
