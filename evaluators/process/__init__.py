"""QuickJS-ng in a worker process per runtime: the evaluator and its transport (evaluator.py), the
child program (worker.py) and the framing of their channel (frames.py)."""

from .evaluator import ProcessEvaluator, ProcessTransport

__all__ = ["ProcessEvaluator", "ProcessTransport"]
