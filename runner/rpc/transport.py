"""The RPC transport between an environment and a module runner inside a runtime.

Messages use Vite's shapes. A request is
`{"type": "custom", "event": "vite:invoke", "data": {"name", "id": "send:N", "data": [args]}}`
and its answer carries `"id": "response:N"` and `"data": {"result": ...}` or `{"error": {...}}`.
Either side may invoke the other. Evaluators implement `RuntimeTransport`, one small base class
in the manner of httpx's transports; everything above it is shared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..limits import Budget

Message = dict[str, Any]


def invoke_message(name: str, call_id: int, args: list[Any]) -> Message:
    return {"type": "custom", "event": "vite:invoke", "data": {"name": name, "id": f"send:{call_id}", "data": args}}


def response_message(name: str, request_id: str, body: dict[str, Any]) -> Message:
    return {"type": "custom", "event": "vite:invoke",
            "data": {"name": name, "id": "response:" + request_id.removeprefix("send:"), "data": body}}


class RuntimeTransport(ABC):
    """The host's end of the channel to one runtime."""

    #: set once the runtime is gone (a limit, a crash, close()); a dead transport is discarded
    dead: bool = False

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
