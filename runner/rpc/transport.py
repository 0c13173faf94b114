"""The host's end of the RPC channel to one runtime: the one small base class every evaluator
implements (in the manner of httpx's transports); everything above it (runner/rpc/client.py) is
shared. Messages are the protocol's (runner/rpc/protocol.py)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from ..limits import Budget
from .protocol import Message


class RuntimeTransport(ABC):
    """The contract:

    - `send(messages)` queues messages for the runtime; `receive(budget)` lets the runtime work
      under the budget and returns what it sent — an empty list means it is idle and nothing more
      will come until it is sent something;
    - a limit stops the runtime with `LimitError`, a dead runtime or a broken channel raises
      `CrashError`; either way the transport is `dead` from then on and the error's `output`
      holds the console messages the runtime sent before it stopped;
    - runtimes the host enters synchronously may offer the direct call path (`direct_calls`):
      `call_now` runs an export and returns its answer without a message round trip; a runtime
      in another process offers it awaited (`awaited_calls`: `call_awaited`), when it is not
      `busy` with a turn.
    """

    #: set once the runtime is gone (a limit, a crash, close()); a dead transport is discarded
    dead: bool = False
    #: the engine running the runtime, as `name version` (`quickjs-ng 0.17.0`); "" when unknown
    engine: str = ""
    #: whether `call_now` (or, with `awaited_calls`, `call_awaited`) is available
    direct_calls: ClassVar[bool] = False
    awaited_calls: ClassVar[bool] = False

    @property
    def busy(self) -> bool:
        """A turn is under way (its answer not read yet): no direct call now."""
        return False

    @abstractmethod
    async def send(self, messages: list[Message]) -> None:
        """Queue messages for the runtime; they are delivered by the next `receive`."""

    @abstractmethod
    async def receive(self, budget: Budget) -> list[Message]:
        """Let the runtime work and return what it sent. An empty list means the runtime is idle:
        nothing more will come until it is sent something. Raises LimitError or CrashError."""

    @abstractmethod
    async def close(self) -> None:
        """Release the runtime."""

    async def call_awaited(self, budget: Budget, url: str, path: list[str | int],
                           args: list[Any]) -> tuple[dict[str, Any], list[Message]]:
        """`call_now` for a runtime the host waits for (in another process): the answer is awaited,
        and nothing else may use the transport meanwhile. Only where `awaited_calls`."""
        raise NotImplementedError(f"{type(self).__name__} has no awaited direct call path")

    def call_now(self, budget: Budget, url: str, path: list[str | int],
                 args: list[Any]) -> tuple[dict[str, Any], list[Message]]:
        """Call the export at `path` of module `url` with JSON `args`, synchronously, and return
        the runtime's answer (`{"result"}`, `{"error"}` or `{"pending": id}` for a promise, which
        `awaitCall` then waits for) with the messages the call sent. Only where `direct_calls`."""
        raise NotImplementedError(f"{type(self).__name__} has no direct call path")
