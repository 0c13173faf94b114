"""QuickJS-ng inside the Python process: the transport over one QuickJSEngine
(quickjs_engine.py), entered directly by the host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from runner.errors import RuntimeStopped
from runner.limits import Budget
from runner.rpc import wire
from runner.rpc.protocol import Message
from runner.rpc.transport import RuntimeTransport

from .ascii_json import ascii_json
from .options import RuntimeOptions
from .pulled import PulledTransport
from .quickjs_engine import QuickJSEngine, engine_version

T = TypeVar("T")


class InProcessTransport(PulledTransport):
    direct_calls = True

    def __init__(self, options: RuntimeOptions) -> None:
        super().__init__()
        self.quickjs = QuickJSEngine(options, ahead=True)
        self.engine = engine_version()
        # the environment's hook (runner/environment.py): each module's code to compile ahead
        self.on_code = None if self.quickjs.ahead is None else self.quickjs.ahead.submit

    def call_now(self, budget: Budget, url: str, path: list[Any],
                 args: list[Any]) -> tuple[dict[str, Any], list[Message]]:
        """Call an export directly, without the message round trip; see RunnerClient.call."""
        request = self._call_request(path, args).decode()
        engine = self.quickjs
        answer, out = self._enter(budget, lambda: engine.call(url, request))
        return wire.loads(answer), (wire.loads(out) if out else [])

    def _turn(self) -> str:
        if not self._inbox:
            return self.quickjs.turn("")
        if self.quickjs.ahead is not None:
            self.quickjs.ahead.start()  # the graph's answer may be in it: its wrappers are wanted next
        payload = ascii_json(wire.dumps_bytes(self._inbox))  # (JSON.parse is faster on 8-bit strings)
        self._inbox.clear()
        return self.quickjs.turn(payload)

    def _enter(self, budget: Budget, work: Callable[[], T]) -> T:
        try:
            return self.quickjs.enter(budget, work)
        except RuntimeStopped:
            self.dead = True  # the engine discarded the runtime
            raise

    async def close(self) -> None:
        self.dead = True
        self.quickjs.close()


class InProcessEvaluator:
    """QuickJS-ng in the host process: the fastest start and the fastest calls; limits are the
    engine's own (CPU time, heap, stack)."""

    name = "inprocess"

    async def create_transport(self, options: RuntimeOptions) -> RuntimeTransport:
        return InProcessTransport(options)
