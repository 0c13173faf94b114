"""What one HMR payload did in one runtime: the report a hot channel (channel.py) hands its
subscribers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..rpc.protocol import HotPayload


@dataclass
class HotReport:
    """What one payload did in one runtime."""

    environment: str
    payload: HotPayload
    updated: list[str] = field(default_factory=list)  # "url" or "accepted via boundary"
    reloaded: list[str] = field(default_factory=list)  # entries imported again by a full reload
    pruned: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)  # error payloads (kind, message, frame…)
    modules: int = 0  # modules in the runtime's store after it (a leak shows as growth)
    sent_at: float = 0.0  # time.perf_counter() when the payload was sent
    applied_at: float = 0.0  # … and when the runtime answered

    @property
    def type(self) -> str:
        return str(self.payload.get("type"))
