"""A bench session: list the suites' benchmarks, run every (benchmark × runtime) job — here one after
the other, or fanned out on Ray — and gather the answers into one report."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import UsageError
from .execute import OutputSink, collect, run_in_evaluator
from .plan import Benchmark, BenchOptions, Job, Runtime, Suite, plan_jobs, select
from .progress import Progress
from .report import build


async def run_job(job: Job, on_output: OutputSink | None = None) -> dict[str, Any]:
    """One job in a fresh runtime of its kind; the answer is plain data, errors included."""
    if job.runtime.kind == "node":
        from .node import run_in_node

        return await run_in_node(job, on_output)
    return await run_in_evaluator(job, on_output)


def run_job_blocking(job: Job) -> dict[str, Any]:
    """run_job for a worker that has no event loop of its own (a Ray task)."""
    return asyncio.run(run_job(job))


async def discover(suites: Sequence[Suite], pattern: str | None, timeout_s: float) -> list[Benchmark]:
    benchmarks: list[Benchmark] = []
    for suite in suites:
        found = await collect(suite, timeout_s)
        if not found:
            raise UsageError(f"{suite.shown} declares no benchmarks (a tinybench or mitata suite declares them when "
                             "it calls run(); the native form exports `benchmarks`)")
        benchmarks += found
    chosen = select(benchmarks, pattern)
    if not chosen:
        raise UsageError(f"--filter {pattern!r} matches none of the {len(benchmarks)} benchmarks: "
                         + ", ".join(b.key for b in benchmarks[:10]) + (" …" if len(benchmarks) > 10 else ""))
    return chosen


async def run_session(suites: Sequence[Suite], runtimes: Sequence[Runtime], options: BenchOptions, *,
                      pattern: str | None = None, reference: str | None = None, ray_address: str | None = None,
                      ray_cpus: int | None = None, progress: Callable[[int], Progress] | None = None
                      ) -> dict[str, Any]:
    """Run the suites' benchmarks on every runtime and answer the report (report.py). `progress`
    makes the live display, given the number of runs."""
    if reference is not None and reference not in [r.name for r in runtimes]:
        raise UsageError(f"--reference {reference}: not one of the runtimes ({', '.join(r.name for r in runtimes)})")
    benchmarks = await discover(suites, pattern, options.timeout_s)
    jobs = plan_jobs(benchmarks, list(runtimes), options)
    display = progress(len(jobs)) if progress is not None else None
    started = time.perf_counter()
    ray_info = None
    with display if display is not None else contextlib.nullcontext():
        if ray_address is not None:
            from .ray_backend import run_on_ray

            results, ray_info = await run_on_ray(ray_address, jobs, display, ray_cpus)
        else:
            results = []
            for job in jobs:
                if display is not None:
                    display.started(job)
                result = await run_job(job, display.output if display is not None else None)
                if display is not None:
                    display.finished(job, result)
                results.append(result)
    report = build(results, benchmarks, runtimes, options, reference=reference,
                   backend=f"ray ({ray_address})" if ray_address is not None else "local",
                   wall_s=time.perf_counter() - started)
    if ray_info is not None:
        report["ray"] = ray_info
    return report
