"""Runtime backends. Each module here may import an engine binding; runner/ never does. Engine
modules are imported when an evaluator is first used (see registry.py)."""

from .options import RuntimeOptions
from .process import ProcessEvaluator
from .registry import Evaluator, evaluator_names, get_evaluator, register_evaluator

__all__ = ["Evaluator", "ProcessEvaluator", "RuntimeOptions", "evaluator_names", "get_evaluator",
           "register_evaluator"]
