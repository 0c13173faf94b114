"""QuickJS compiled to WebAssembly under wasmtime: the sandbox evaluator (evaluator.py) and the
engine, guest driver, stop checks, snapshots, watchdog and host-stack handling it is built from; the
QuickJS reactor it runs is built in reactor/."""

from .evaluator import WasmEvaluator, WasmTransport

__all__ = ["WasmEvaluator", "WasmTransport"]
