"""What an evaluator is told when it creates a runtime."""

from __future__ import annotations

from typing import Any, NamedTuple

from runner.js.profiles import DEFAULT_PROFILE
from runner.limits import DEFAULT_STACK_KB, Limits


class RuntimeOptions(NamedTuple):  # not a dataclass: every run makes this class, and a dataclass costs a compile
    profile: str = DEFAULT_PROFILE
    limits: Limits = Limits()  # frozen: one instance serves as every default
    mode: str = "production"
    hmr: bool = False  # import.meta.hot and the `hmr` method (runner/js/hmr_client.js)
    #: the directory whose code store keeps compiled wrappers on disk (evaluators/code_store.py), the
    #: transform cache's; None keeps them in memory only
    code_cache: str | None = None

    def runtime_config(self) -> dict[str, Any]:
        """The config object handed to runner/js/runtime.js."""
        dev = self.mode == "development"
        return {
            "profile": self.profile,
            "outputLimit": self.limits.output_bytes,
            "heapLimited": self.limits.memory_mb is not None,
            "env": {"MODE": self.mode, "DEV": dev, "PROD": not dev, "SSR": True},
            "hmr": self.hmr,
        }

    @property
    def compiles_unbounded(self) -> bool:
        """Does no limit of the runtime's own bound its compiles (its CPU time, its heap, its stack)? Where one
        does, they stay on its thread, exact, as before: no wrapper is compiled ahead for it (compile_ahead.py)."""
        limits = self.limits
        return limits.cpu_ms is None and limits.memory_mb is None and limits.stack_kb == DEFAULT_STACK_KB

    @property
    def compiles_ahead_in_a_worker(self) -> bool:
        """May a worker process (process/worker.py) compile the runtime's wrappers ahead on a second thread?
        Where its compiles are unbounded and it has no wall-clock limit either: the worker's RLIMIT_CPU, which
        that limit's slices arm, counts the CPU time of every thread in it."""
        return self.compiles_unbounded and self.limits.wall_ms is None
