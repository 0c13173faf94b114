"""Runtime backends. Each module here may import an engine binding; runner/ never does. Engine
modules are imported when an evaluator is first used (see registry.py), and so is the process
evaluator's class (its pipes, frames and worker pool): a run in another evaluator never loads it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .options import RuntimeOptions
from .registry import Evaluator, evaluator_names, get_evaluator, register_evaluator

if TYPE_CHECKING:
    from .process import ProcessEvaluator

__all__ = ["Evaluator", "ProcessEvaluator", "RuntimeOptions", "evaluator_names", "get_evaluator",
           "register_evaluator"]


def __getattr__(name: str) -> object:
    if name != "ProcessEvaluator":
        raise AttributeError(f"module 'evaluators' has no attribute {name!r}")
    value = importlib.import_module(".process", __name__).ProcessEvaluator
    globals()[name] = value
    return value
