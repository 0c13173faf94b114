"""Evaluators by name: the built-in three, those registered with `register_evaluator`, and those
installed packages declare under the `modrun.evaluators` entry-point group (`name = "pkg.mod:obj"`,
an evaluator instance or a class called without arguments). A name works the same everywhere: in an
environment's config and with `modrun run --evaluator NAME`.

Engine bindings are imported only when an evaluator is first used, so a host that never runs, say,
the wasm evaluator never needs wasmtime; entry points are looked up only for a name that is neither
built in nor registered.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

from runner.errors import UsageError

if TYPE_CHECKING:
    from runner.rpc.transport import RuntimeTransport

    from .options import RuntimeOptions

ENTRY_POINT_GROUP = "modrun.evaluators"


class Evaluator(Protocol):
    """What an evaluator must offer. One may also offer `start_early(options)`: a host that will
    need exactly one runtime (`modrun run`) calls it first thing, so that a runtime that is slow to
    start (a worker process) starts while the host loads the rest of itself. One may offer
    `release(options)` too: a server that closes calls it for the options its runtimes had, so that
    nothing kept ready for them (a pooled worker) outlives the server."""

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
    from importlib.metadata import entry_points  # ~20 ms to import: only when names are listed

    installed = {point.name for point in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(set(_BUILTIN) | set(_registered) | installed)


def get_evaluator(name: str) -> Evaluator:
    if name in _registered:
        return _registered[name]  # type: ignore[no-any-return]
    if name in _BUILTIN:
        module_name, class_name = _BUILTIN[name]
        evaluator = getattr(importlib.import_module(module_name), class_name)()
    else:
        evaluator = _installed(name)
    _registered[name] = evaluator
    return evaluator  # type: ignore[no-any-return]


def _installed(name: str) -> Any:
    from importlib.metadata import entry_points

    point = next((p for p in entry_points(group=ENTRY_POINT_GROUP) if p.name == name), None)
    if point is None:
        raise UsageError(f"unknown evaluator {name!r} (available: {', '.join(evaluator_names())})")
    try:
        target = point.load()
        return target() if isinstance(target, type) else target
    except Exception as error:  # a broken plugin package is a configuration problem, said plainly
        raise UsageError(f"evaluator {name!r} (entry point {point.value}) could not be loaded: "
                         f"{type(error).__name__}: {error}") from None
