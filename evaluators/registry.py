"""Evaluators by name. Engine bindings are imported only when an evaluator is first used, so a
host that never runs, say, the wasm evaluator never needs wasmtime."""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from runner.errors import UsageError
from runner.rpc.transport import RuntimeTransport

from .options import RuntimeOptions


class Evaluator(Protocol):
    name: str

    async def create_transport(self, options: RuntimeOptions) -> RuntimeTransport: ...


_BUILTIN = {"inprocess": ("evaluators.inprocess", "InProcessEvaluator"),
            "process": ("evaluators.process", "ProcessEvaluator"),
            "wasm": ("evaluators.wasm", "WasmEvaluator")}
_registered: dict[str, Any] = {}


def register_evaluator(name: str, evaluator: Evaluator) -> None:
    """Make a third-party evaluator available by name (config files, `--evaluator`)."""
    _registered[name] = evaluator


def evaluator_names() -> list[str]:
    return sorted(set(_BUILTIN) | set(_registered))


def get_evaluator(name: str) -> Evaluator:
    if name in _registered:
        return _registered[name]  # type: ignore[no-any-return]
    if name not in _BUILTIN:
        raise UsageError(f"unknown evaluator {name!r} (available: {', '.join(evaluator_names())})")
    module_name, class_name = _BUILTIN[name]
    evaluator = getattr(importlib.import_module(module_name), class_name)()
    _registered[name] = evaluator
    return evaluator  # type: ignore[no-any-return]
