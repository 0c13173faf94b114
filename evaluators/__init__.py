"""Runtime backends. Each module here may import an engine binding; runner/ never does."""

from .options import RuntimeOptions
from .registry import Evaluator, evaluator_names, get_evaluator, register_evaluator

__all__ = ["Evaluator", "RuntimeOptions", "evaluator_names", "get_evaluator", "register_evaluator"]
