"""What the transports of engines the host enters directly (in-process, wasm) share: an inbox
delivered on the next turn, and `receive` as one turn under the budget. Each engine supplies
`_turn` (deliver the inbox, run every pending job, drain the outbox) and `_enter` (run engine
work under the budget's limits; a limit or a failure leaves the transport dead)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from runner.limits import Budget
from runner.rpc import wire
from runner.rpc.protocol import Message, check_json
from runner.rpc.transport import RuntimeTransport

T = TypeVar("T")


class PulledTransport(RuntimeTransport):
    def __init__(self) -> None:
        self._inbox: list[Message] = []

    async def send(self, messages: list[Message]) -> None:
        self._inbox.extend(messages)

    async def receive(self, budget: Budget) -> list[Message]:
        out = self._enter(budget, self._turn)
        return wire.loads(out) if out else []

    @staticmethod
    def _call_request(path: list[Any], args: list[Any]) -> bytes:
        """The JSON of a direct call's path and arguments."""
        try:
            return wire.dumps_bytes([path, args])
        except TypeError:
            check_json(args)  # raises the TypeError that names the problem
            raise

    @abstractmethod
    def _turn(self) -> str: ...

    @abstractmethod
    def _enter(self, budget: Budget, work: Callable[[], T]) -> T: ...
