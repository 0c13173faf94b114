"""One run of a benchmark in Node (`node`, `node --jitless`), the reference runtimes: a child process
runs the same suite with the same adapters (runner/bench/js/node_driver.mjs), its output streamed
live and kept (subprocess-tee), its answer written to a file of its own."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .adapters import JS_DIR, node_map
from .execute import OutputSink, record
from .plan import Job

DRIVER = JS_DIR / "node_driver.mjs"
TIMEOUT_EXIT = 124  # coreutils `timeout`


def node_executable() -> str:
    found = shutil.which("node")
    if found is None:
        raise UsageError("--node: no `node` on PATH (install Node.js 20 or later, or leave --node out)")
    return found


@cache
def node_version() -> str:
    done = subprocess.run([node_executable(), "--version"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


class _Lines:
    """A stream subprocess-tee prints each line of the child's output to: forwards whole lines."""

    def __init__(self, label: str, level: str, sink: OutputSink | None) -> None:
        self.label = label
        self.level = level
        self.sink = sink

    def write(self, text: str) -> int:
        if self.sink is not None and text != "\n":
            self.sink(self.label, self.level, text)
        return len(text)

    def flush(self) -> None:
        pass


def _run(job: Job, on_output: OutputSink | None) -> dict[str, Any]:
    import subprocess_tee  # the bench extra; asked for only where Node runs

    with tempfile.TemporaryDirectory(prefix="modrun-bench-") as tmp:
        answer_path = Path(tmp) / "answer.json"
        control = {"modules": node_map(), "control": job.control()}
        command = [node_executable(), *job.runtime.node_flags, str(DRIVER), str(job.benchmark.suite.path),
                   json.dumps(control), str(answer_path)]
        # subprocess-tee has no timeout: coreutils `timeout` bounds the child instead.
        bound = shutil.which("timeout")
        if bound is not None:
            command = [bound, "--kill-after=5", f"{job.options.timeout_s:g}", *command]
        started = time.perf_counter()
        done = subprocess_tee.run(command, cwd=str(job.benchmark.suite.root), quiet=on_output is None,
                                  stdout=_Lines(job.label, "log", on_output),
                                  stderr=_Lines(job.label, "error", on_output))
        wall = time.perf_counter() - started
        output = ([{"level": "log", "text": line} for line in (done.stdout or "").splitlines()] +
                  [{"level": "error", "text": line} for line in (done.stderr or "").splitlines()])
        if not answer_path.exists() and done.returncode in (TIMEOUT_EXIT, 137, -9):
            return record(job, error={"kind": "limit", "name": "LimitError", "limit": "wall-time",
                                      "message": f"the run took longer than {job.options.timeout_s:g} s"},
                          output=output, wall_s=wall)
        if not answer_path.exists():
            tail = (done.stderr or "").strip()[-2000:]
            return record(job, error={"kind": "crash", "name": "CrashError",
                                      "message": f"node exited with code {done.returncode} without an answer"
                                                 + (f": {tail}" if tail else "")},
                          output=output, wall_s=wall)
        answer = json.loads(answer_path.read_text())
    if not answer["ok"]:
        return record(job, error=answer["error"], output=output, wall_s=wall)
    return record(job, measurement=answer["result"], output=output, wall_s=wall)


async def run_in_node(job: Job, on_output: OutputSink | None = None) -> dict[str, Any]:
    """Measure `job` in a fresh Node process (subprocess-tee runs its own event loop: in a thread)."""
    return await asyncio.to_thread(_run, job, on_output)
