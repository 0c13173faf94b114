"""QuickJS compiled to WebAssembly under wasmtime: the sandbox evaluator (evaluator.py) and the
engine, guest driver, module rewrite, snapshots, watchdog and host-stack handling it is built from."""

from .evaluator import WasmEvaluator, WasmTransport

__all__ = ["WasmEvaluator", "WasmTransport"]
