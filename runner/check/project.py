"""One check of a project's entry, as the command and the pytest plugin run it: a server for the
root, its config, the static analysis, then (with `run`) the run phase, merged into one Report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..entry_file import check_entry, real_path
from .analyze import analyze
from .config import load_check_config
from .findings import Report
from .run_phase import RunOutcome, merge, run_phase

#: what `--run` runs under unless told otherwise: the memory edge platforms give an isolate (128 MB on
#: Cloudflare Workers and Vercel's edge runtime), a CPU budget per operation, and a wall-clock bound
RUN_LIMITS: dict[str, float] = {"memory_mb": 128, "cpu_ms": 1000}
RUN_TIMEOUT_S = 30.0


@dataclass
class CheckResult:
    report: Report
    run: RunOutcome | None

    def to_json(self) -> dict[str, Any]:
        """The command's one JSON object: `ok` (compatible), the report, and the run phase."""
        data = {"ok": self.report.compatible, **self.report.to_json()}
        if self.run is not None:
            data["run"] = self.run.to_json()
        return data


async def check_project(path: Path, root: Path, *, profile: str = "edge",
                        evaluator: str = "inprocess", run: bool = False, call: str | None = None,
                        args: list[Any] | None = None, limits: dict[str, float] | None = None,
                        timeout: float | None = RUN_TIMEOUT_S,
                        on_console: Callable[[str, str], None] | None = None) -> CheckResult:
    """Check the module at `path` (absolute) of the project at `root`. Raises LoadError when the
    entry is missing or does not parse, UsageError for bad config or a bad `call`."""
    from ..server import Server

    check_entry(path)
    config = load_check_config(root)
    environment_config = {"evaluator": evaluator, "profile": profile,
                          "limits": RUN_LIMITS if limits is None else limits}
    server = Server(root=root, environments={"check": environment_config},
                    on_console=on_console or (lambda level, text: None))
    try:
        environment = server.environments["check"]
        entry_url = environment._entry_url(str(path))
        await environment.transform_request(entry_url)  # an ENTRY that does not parse is a load error
        report = await analyze(environment, str(path), config)
        outcome = None
        if run:
            started = time.perf_counter()
            deadline = time.monotonic() + timeout if timeout else None
            outcome = await run_phase(environment, str(path), config, call=call, args=args, deadline=deadline,
                                      on_console=on_console)
            merge(report, outcome)
            report.duration_ms += (time.perf_counter() - started) * 1000
        return CheckResult(report, outcome)
    finally:
        await server.close()


def check_sync(path: Path, root: Path, **options: Any) -> CheckResult:
    """check_project for synchronous callers (a test), also inside a running event loop: on a thread
    of its own, with a stack as large as SyncServer's, since the in-process engine recurses on it."""
    import asyncio
    import threading

    outcome: list[CheckResult] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(asyncio.run(check_project(path, root, **options)))
        except BaseException as error:  # re-raised on the caller's thread
            failure.append(error)

    previous = threading.stack_size()
    threading.stack_size(64 * 1024 * 1024)
    try:
        thread = threading.Thread(target=work, name="modrun-check")
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def assert_edge_compatible(entry: str | Path, *, root: str | Path | None = None, profile: str = "edge",
                           run: bool = False, call: str | None = None, args: list[Any] | None = None,
                           evaluator: str = "inprocess", allow_warnings: bool = True) -> Report:
    """Assert that `entry` (relative to `root`, by default the current directory) is compatible with
    `profile`: no error finding (nor a warning, unless `allow_warnings`), statically and, with `run`,
    when imported (and `call`ed with `args`). Fails with the report as plain text; answers the Report."""
    from .render import render_text

    __tracebackhide__ = True  # pytest shows the failure at the test's line, with the report
    base = real_path(root if root is not None else Path.cwd())
    result = check_sync(real_path(base / entry), base, profile=profile, evaluator=evaluator, run=run, call=call,
                        args=args)
    report = result.report
    failed = not report.compatible or (not allow_warnings and report.counts()["warning"] > 0)
    if failed:
        raise AssertionError(render_text(report, result.run))
    return report
