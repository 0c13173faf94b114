"""`--ray ADDRESS`: the jobs fanned out as Ray tasks, one per (benchmark × runtime), each asking for
one CPU and pinned to a core of its own, their answers gathered into the same report. Ray is the
`ray` extra, imported only here.

ADDRESS is a cluster's address (`HOST:PORT`, `ray://HOST:PORT`), `auto` (the cluster `ray start`
began on this machine) or `local` (a private cluster for this run, on loopback only, with
`--ray-cpus` CPUs, stopped at the end).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .plan import Job
from .progress import Progress
from .session import run_job_blocking

LOCK_DIR = Path(tempfile.gettempdir()) / "modrun-bench-cpus"


@contextlib.contextmanager
def pinned_cpu() -> Iterator[int | None]:
    """Claim a core no other task on this node holds (a lock file per core) and run on it alone; the
    runtimes this task starts (threads, child processes) inherit the affinity. None if all are taken."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    LOCK_DIR.mkdir(exist_ok=True)
    before = os.sched_getaffinity(0)
    for cpu in sorted(before):
        handle = open(LOCK_DIR / f"cpu{cpu}.lock", "w")  # noqa: SIM115 (held until the task ends)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        try:
            os.sched_setaffinity(0, {cpu})
            yield cpu
        finally:
            os.sched_setaffinity(0, before)
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        return
    yield None


def run_pinned(job: Job) -> dict[str, Any]:
    """The body of one Ray task."""
    with pinned_cpu() as cpu:
        result = run_job_blocking(job)
    result["cpu"] = cpu
    result["node"] = os.uname().nodename
    return result


def _reachable(address: str) -> None:
    """Ray retries a cluster address that answers nothing for minutes: try it first, briefly."""
    if address in ("local", "auto"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--ray {address}: expected HOST:PORT, ray://HOST:PORT, auto or local")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise UsageError(f"--ray {address}: no Ray cluster answers there ({error.strerror or error})") from None


def _connect(address: str, cpus: int | None) -> Any:
    _reachable(address)
    if address == "local" or address.startswith(("127.", "localhost")):
        # Ray advertises the machine's network address unless told this is a single-machine cluster:
        # keep every connection on loopback. Read when Ray is imported, so set first.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'modrun[ray]'") from None
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": "ERROR", "log_to_driver": False,
                              "ignore_reinit_error": True}
    if address == "local":
        kwargs["num_cpus"] = cpus or os.cpu_count() or 1
    else:
        if cpus is not None:
            raise UsageError("--ray-cpus applies to --ray local only (a running cluster has its own CPUs)")
        kwargs["address"] = address
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise UsageError(f"--ray {address}: could not connect to a Ray cluster: {error}") from None
    return ray


def _gather(address: str, cpus: int | None, jobs: list[Job], progress: Progress | None
            ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    started = time.perf_counter()
    ray = _connect(address, cpus)
    connected = time.perf_counter()
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(run_pinned)
        pending = {task.remote(job): i for i, job in enumerate(jobs)}
        if progress is not None:
            for job in jobs:
                progress.started(job)
        results: list[dict[str, Any] | None] = [None] * len(jobs)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(done[0])
            try:
                result = ray.get(done[0])
            except Exception as error:  # the task itself failed (a worker died): that run's crash
                from .execute import record

                result = record(jobs[index], error={"kind": "crash", "name": "CrashError",
                                                    "message": f"the Ray task failed: {type(error).__name__}: {error}"})
            results[index] = result
            if progress is not None:
                for line in result.get("output", []):
                    progress.output(jobs[index].label, line["level"], line["text"])
                progress.finished(jobs[index], result)
        info = {"address": address, "cpus": int(ray.cluster_resources().get("CPU", 0)),
                "connect_s": connected - started, "tasks_s": time.perf_counter() - connected}
        return [r for r in results if r is not None], info
    finally:
        ray.shutdown()


async def run_on_ray(address: str, jobs: list[Job], progress: Progress | None, cpus: int | None = None
                     ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every job as a Ray task: the answers in the jobs' order, and the cluster's CPUs and timings."""
    return await asyncio.to_thread(_gather, address, cpus, jobs, progress)
