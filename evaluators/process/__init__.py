"""QuickJS-ng in a worker process per runtime: the evaluator (evaluator.py), the host's end of the
channel (transport.py), the workers and their pool (pool.py), the child program (worker.py) and
the framing of their channel (frames.py). The transport (with asyncio) loads when first used."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .evaluator import ProcessEvaluator

if TYPE_CHECKING:
    from .transport import ProcessTransport

__all__ = ["ProcessEvaluator", "ProcessTransport"]


def __getattr__(name: str) -> object:
    if name == "ProcessTransport":
        from .transport import ProcessTransport

        return ProcessTransport
    raise AttributeError(f"module 'evaluators.process' has no attribute {name!r}")
