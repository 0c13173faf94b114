"""QuickJS-ng in a worker process per runtime: the evaluator (evaluator.py), the host's end of the
channel (transport.py), the workers and their pool (pool.py), the child program (worker.py) and
the framing of their channel (frames.py)."""

from .evaluator import ProcessEvaluator
from .transport import ProcessTransport

__all__ = ["ProcessEvaluator", "ProcessTransport"]
