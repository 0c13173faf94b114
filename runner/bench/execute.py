"""One run of a benchmark in one of modrun's evaluators, in a fresh runtime: the harness is
configured, the suite imported, the chosen benchmark measured inside the runtime; and the collect
pass that lists a suite's benchmarks. A run's answer is plain data (it crosses Ray as it is)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from ..errors import CrashError, LimitError, ModrunError
from ..server import Server
from .adapters import HARNESS, adapter_plugin
from .plan import Benchmark, Job, Suite

#: (job label, console level, text) for output streamed while a run goes on
OutputSink = Callable[[str, str, str], None]
# The process evaluator without its pool: a pooled worker booting in the background would compete
# with the measurement for a core.
UNPOOLED_PROCESS = "modrun-bench:process"


def record(job: Job, *, measurement: dict[str, Any] | None = None, error: dict[str, Any] | None = None,
           output: list[dict[str, str]] | None = None, wall_s: float = 0.0) -> dict[str, Any]:
    """A run's answer, the same for every runtime and backend."""
    return {"benchmark": job.benchmark.key, "suite": job.benchmark.suite.shown, "id": job.benchmark.id,
            "runtime": job.runtime.name, "replicate": job.replicate, "ok": error is None, "measurement": measurement,
            "error": error, "output": output or [], "wall_s": wall_s}


def error_data(error: ModrunError) -> dict[str, Any]:
    return {k: v for k, v in error.to_payload().items() if v is not None}


_unpooled: list[str] = []


def _evaluator(name: str) -> str:
    if name != "process":
        return name
    if not _unpooled:
        from evaluators import ProcessEvaluator, register_evaluator

        register_evaluator(UNPOOLED_PROCESS, ProcessEvaluator(pool_size=0))
        _unpooled.append(UNPOOLED_PROCESS)
    return UNPOOLED_PROCESS


async def _answer(suite: Suite, evaluator: str, control: dict[str, Any], limits: dict[str, Any],
                  on_console: Callable[[str, str], None], deadline: float) -> dict[str, Any]:
    environments = {"bench": {"evaluator": _evaluator(evaluator), "limits": limits}}
    async with Server(root=suite.root, environments=environments, plugins=[adapter_plugin()],
                      on_console=on_console) as server:
        environment = server.environments["bench"]
        harness = await environment.import_module(HARNESS, deadline=deadline)
        await harness.configure(control, deadline=deadline)
        await environment.import_module(suite.url, deadline=deadline)
        answer: dict[str, Any] = await harness.finish(suite.url, deadline=deadline)
        return answer


async def _bounded(work: Any, timeout_s: float) -> Any:
    # The runtime's own deadline comes first; this only guards the host side.
    try:
        return await asyncio.wait_for(work, timeout_s + 5)
    except TimeoutError:
        raise LimitError(f"the run took longer than {timeout_s:g} s", limit="wall-time") from None


async def collect(suite: Suite, timeout_s: float) -> list[Benchmark]:
    """The benchmarks a suite declares, in order, from one import in a fresh in-process runtime
    (nothing is measured; the suite's console output is dropped)."""
    deadline = time.monotonic() + timeout_s
    answer = await _bounded(_answer(suite, "inprocess", {"mode": "collect"}, {}, lambda level, text: None, deadline),
                            timeout_s)
    return [Benchmark(suite, int(b["index"]), str(b["id"]), str(b["name"]), tuple(b["group"]), str(b["adapter"]))
            for b in answer["benchmarks"]]


async def run_in_evaluator(job: Job, on_output: OutputSink | None = None) -> dict[str, Any]:
    """Measure `job` in a fresh runtime of its evaluator. Errors are part of the answer, not raised."""
    output: list[dict[str, str]] = []

    def on_console(level: str, text: str) -> None:
        output.append({"level": level, "text": text})
        if on_output is not None:
            on_output(job.label, level, text)

    limits: dict[str, Any] = {}
    if job.options.memory_mb is not None:
        limits["memory_mb"] = job.options.memory_mb
    started = time.perf_counter()
    deadline = time.monotonic() + job.options.timeout_s
    assert job.runtime.evaluator is not None
    try:
        answer = await _bounded(_answer(job.benchmark.suite, job.runtime.evaluator, job.control(), limits,
                                        on_console, deadline), job.options.timeout_s)
    except ModrunError as error:
        return record(job, error=error_data(error), output=output, wall_s=time.perf_counter() - started)
    except Exception as error:  # an internal failure is this run's crash, not the whole session's
        crash = CrashError(f"internal error: {type(error).__name__}: {error}")
        return record(job, error=error_data(crash), output=output, wall_s=time.perf_counter() - started)
    return record(job, measurement=answer["result"], output=output, wall_s=time.perf_counter() - started)
