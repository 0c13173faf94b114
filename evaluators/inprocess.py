"""QuickJS-ng inside the Python process (PyPI `quickjs-ng`).

The runtime never calls into Python: the binding refuses host callbacks while a time limit is
set, and a callback that raises leaves the interpreter in a bad state. The transport is pulled
instead: push the inbox, run the job queue, drain the outbox (runner/js/transport.js).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import quickjs

from runner.errors import CrashError, LimitError, RuntimeStopped
from runner.js.bundle import boot_expression
from runner.limits import Budget, Limits
from runner.rpc import wire
from runner.rpc.protocol import Message
from runner.rpc.transport import RuntimeTransport

from .options import RuntimeOptions
from .pulled import PulledTransport

T = TypeVar("T")


class InProcessTransport(PulledTransport):
    direct_calls = True

    def __init__(self, options: RuntimeOptions) -> None:
        self.limits: Limits = options.limits
        self.context = quickjs.Context()
        if self.limits.memory_mb is not None:
            self.context.set_memory_limit(int(self.limits.memory_mb * 1024 * 1024))
        self.context.set_max_stack_size(int(self.limits.stack_kb) * 1024)
        super().__init__()
        try:
            self.context.eval(f"globalThis.__modrun_boot = {boot_expression(options.runtime_config())}")
            self._receive = self.context.eval("__modrun_boot.receive")
            self._drain = self.context.eval("__modrun_boot.drain")
            self._call_now = self.context.eval("__modrun_boot.callNow")
            self.context.eval("delete globalThis.__modrun_boot")
        except quickjs.JSException as error:
            self.dead = True
            raise self._limit_or_crash(error, "") from None

    def call_now(self, budget: Budget, url: str, path: list[Any],
                 args: list[Any]) -> tuple[dict[str, Any], list[Message]]:
        """Call an export directly, without the message round trip; see RunnerClient.call."""
        request = self._call_request(path, args).decode()

        def work() -> tuple[str, str]:
            answer = self._call_now(url, request)
            return answer, self._turn()

        answer, out = self._enter(budget, work)
        return wire.loads(answer), (wire.loads(out) if out else [])

    def _turn(self) -> str:
        """Deliver the inbox, run every pending job, and collect the outbox."""
        if self._inbox:
            payload = wire.dumps(self._inbox)
            self._inbox.clear()
            self._receive(payload)
        while self.context.execute_pending_job():
            pass
        return str(self._drain())

    def _enter(self, budget: Budget, work: Callable[[], T]) -> T:
        """Run engine work under the budget's time limit; a limit or an engine failure discards
        the runtime."""
        if self.dead:
            raise CrashError("the runtime was discarded")
        seconds, which = budget.slice()
        if seconds is not None and seconds <= 0:
            raise LimitError(f"{which} limit exceeded", limit=which)
        self.context.set_time_limit(seconds if seconds is not None else -1)
        metered = budget.cpu_left is not None  # reading the CPU clock costs a microsecond: only when needed
        started = time.process_time() if metered else 0.0
        try:
            return work()
        except (quickjs.JSException, quickjs.StackOverflow) as error:
            raise self._fail(error, which) from None
        finally:
            if metered:
                budget.spend_cpu(time.process_time() - started)

    def _fail(self, error: Exception, which: str) -> RuntimeStopped:
        # Keep what the module printed before it was stopped: drain once more, then discard.
        leftover = self._salvage()
        self.dead = True
        failure = self._limit_or_crash(error, which)
        failure.output = leftover
        return failure

    def _salvage(self) -> list[Message]:
        try:
            if self.limits.memory_mb is not None:
                self.context.set_memory_limit(int(self.limits.memory_mb * 1024 * 1024) + 16 * 1024 * 1024)
            self.context.set_time_limit(0.5)
            out = self._drain()
            return wire.loads(out) if out else []
        except Exception:
            return []

    def _limit_or_crash(self, error: Exception, which: str) -> RuntimeStopped:
        text = str(error)
        if isinstance(error, quickjs.StackOverflow):
            return LimitError("stack limit exceeded", limit="stack")
        if "interrupted" in text:
            limit = which or "cpu"
            return LimitError(f"{limit} limit exceeded", limit=limit)
        if "out of memory" in text:
            return LimitError(f"memory limit exceeded ({self.limits.memory_mb:g} MB)"
                              if self.limits.memory_mb else "out of memory", limit="memory")
        if "stack overflow" in text.lower():
            return LimitError("stack limit exceeded", limit="stack")
        return CrashError(f"the runtime failed: {text.splitlines()[0] if text else type(error).__name__}")

    async def close(self) -> None:
        self.dead = True


class InProcessEvaluator:
    """QuickJS-ng in the host process: the fastest start and the fastest calls; limits are the
    engine's own (CPU time, heap, stack)."""

    name = "inprocess"

    async def create_transport(self, options: RuntimeOptions) -> RuntimeTransport:
        return InProcessTransport(options)
