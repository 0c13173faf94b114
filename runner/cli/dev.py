"""`modrun dev ENTRY …` — import ENTRY in runtimes that stay up, watch the root, and apply each
change as Vite's dev server does: a hot update where a module accepts it, else a full reload of
the runtime (the entry imported again). With `--call` the export is called again after each
applied change. `--evaluator a,b` runs one environment per evaluator, side by side, each with its
own module graph and runtime. One status line per update goes to stderr (with `--json`, one JSON
object per line on stdout instead); errors (with code frames) are shown and the session goes on;
Ctrl-C (or SIGTERM) ends it cleanly with exit code 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from ..entry_file import real_path
from ..errors import LoadError, ModrunError, UsageError
from ..hmr.hot_update import HotUpdateResult
from ..hmr.report import HotReport
from ..js.profiles import PROFILES
from ..rpc import wire
from ..rpc.exports import JSFunction, ModuleProxy
from ..server import Server
from .common import check_args, choose_root, entry_url

# A stack frame's place: "at f (/app/x.js:3:7)" or "at /app/x.js:3:7".
FRAME = re.compile(r"^\s*at (?:.*?\()?(?P<file>[^()\s][^()]*?):(?P<line>\d+):(?P<column>\d+)\)?\s*$", re.M)
NOTHING = object()  # no --call: no result


def command(ns: argparse.Namespace) -> int:
    evaluators = [name.strip() for name in ns.evaluator.split(",")]
    if any(not name for name in evaluators) or len(set(evaluators)) != len(evaluators):
        raise UsageError(f"--evaluator {ns.evaluator!r}: give evaluator names separated by commas, each once")
    for name in evaluators:
        args = check_args(argparse.Namespace(**{**vars(ns), "evaluator": name}))  # the same checks as `run`
    entry = real_path(ns.entry)
    root = choose_root(entry, ns.root)
    return asyncio.run(dev(ns, evaluators, args, root, entry_url(entry, root)))


def add_parser(commands: Any) -> None:
    dev = commands.add_parser("dev", help="run ENTRY and apply every change to the sources with HMR")
    dev.add_argument("entry", metavar="ENTRY", help="the module to import (a file path)")
    dev.add_argument("--root", help="project root (default as for `run`)")
    dev.add_argument("--evaluator", default="inprocess", metavar="NAME[,NAME…]",
                     help="the runtime: inprocess (default), wasm, process, or a registered evaluator; several, "
                          "separated by commas, run side by side (one environment each, named after it)")
    dev.add_argument("--profile", default="bare", choices=PROFILES)
    dev.add_argument("--call", metavar="EXPORT", help="call this export after the import and after each change")
    dev.add_argument("--args", metavar="JSON_ARRAY", default="[]", help="arguments for --call, as a JSON array")
    dev.add_argument("--json", action="store_true",
                     help="one JSON object per line on stdout for each event (ready, update, full-reload, error)")
    dev.add_argument("--memory", type=float, metavar="MB", help="cap on the runtime's heap, in MiB")
    dev.add_argument("--timeout", type=float, metavar="S", help="wall-clock limit of each import or call")


def error_entry(payload: dict[str, Any]) -> dict[str, Any]:
    """An error for a JSON line: kind, name, message, stack, code frame, and where it is (`file`,
    `line`, `column`: the error's own location, else the first frame of its stack)."""
    entry = {k: payload[k] for k in ("kind", "name", "message", "stack", "code", "frame", "hmrPath", "hmrFallback")
             if payload.get(k) is not None}
    loc = payload.get("loc")
    if isinstance(loc, dict) and loc.get("file"):
        entry.update(file=loc["file"], line=loc.get("line"), column=loc.get("column"))
    else:
        frame = FRAME.search(str(payload.get("stack") or ""))
        if frame is not None:
            entry.update(file=frame["file"], line=int(frame["line"]), column=int(frame["column"]))
    return entry


class Output:
    """Where a session's events go: status lines on stderr (rich) and --call results as JSON lines
    on stdout, or, with --json, one JSON object per event on stdout."""

    def __init__(self, as_json: bool, several: bool) -> None:
        self.as_json = as_json
        self.several = several  # more than one environment: lines name theirs
        self.status = Console(stderr=True, highlight=False, soft_wrap=True)

    def event(self, event: str, environment: str, what: str, ms: float | None, result: Any = NOTHING,
              errors: list[dict[str, Any]] | None = None, **fields: Any) -> None:
        if self.as_json:
            line: dict[str, Any] = {"event": event, "environment": environment, **fields}
            if ms is not None:
                line["ms"] = round(ms, 3)
            line["errors"] = [error_entry(e) for e in errors or []]
            if result is not NOTHING:
                line["result"] = result
            self._stdout(wire.dumps(line))
            return
        for error in errors or []:
            self._error(environment, error)
        if result is not NOTHING:
            self._stdout(wire.dumps({"environment": environment, "result": result} if self.several else result))
        if event != "error":
            took = f" [dim]{ms:.0f} ms[/dim]" if ms is not None else ""
            where = f"[dim]{escape(environment)}[/dim] " if self.several else ""
            self.status.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {where}[bold cyan]{event}[/bold cyan] "
                              f"{escape(what)}{took}", highlight=False)

    def note(self, text: str) -> None:
        if not self.as_json:
            self.status.print(f"[dim]{escape(text)}[/dim]", highlight=False)

    def _stdout(self, text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def _error(self, environment: str, payload: dict[str, Any]) -> None:
        text = str(payload.get("stack") or f"{payload.get('name', 'Error')}: {payload.get('message', '')}")
        frame = payload.get("frame")
        if frame and frame not in text:
            text += "\n\n" + str(frame)
        if payload.get("hmrFallback"):
            text += f"\n({payload['hmrFallback']})"
        where = f" [dim]{escape(environment)}[/dim]" if self.several else ""
        self.status.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim]{where} [bold red]error[/bold red]", highlight=False)
        self.status.print(escape(text.rstrip()), highlight=False)


class DevSession:
    """One environment of the session: its runtime, the entry, the call after each change."""

    def __init__(self, server: Server, name: str, url: str, call: str | None, args: list[Any],
                 timeout: float | None, output: Output) -> None:
        self.environment = server.environments[name]
        self.name = name
        self.url = url
        self.call = call
        self.args = args
        self.timeout = timeout
        self.output = output
        self.module: ModuleProxy | None = None
        self._busy = asyncio.Lock()
        self._tasks: set[asyncio.Future[None]] = set()  # held until done (the loop keeps weak references)

    def _deadline(self) -> float | None:
        return time.monotonic() + self.timeout if self.timeout else None

    async def run(self) -> None:
        """Import the entry (again, after a failure) and call the export."""
        async with self._busy:
            started = time.perf_counter()
            try:
                # Nothing half-loaded by a failed attempt may stay in the runtime's store.
                await (await self.environment.get_runner()).invoke("clearCache", [])
                self.module = await self.environment.import_module(self.url, deadline=self._deadline())
                result = await self._call()
                self.output.event("ready", self.name, self.url, (time.perf_counter() - started) * 1000, result,
                                  entry=self.url, exports=sorted(self.module.exports))
            except ModrunError as error:
                self.module = None
                self.output.event("error", self.name, self.url, None, errors=[error.to_payload()], entry=self.url)

    async def _call(self) -> Any:
        if self.call is None or self.module is None:
            return NOTHING
        if self.call not in self.module.exports:
            listed = ", ".join(self.module.exports) or "none"
            raise UsageError(f"--call {self.call}: {self.url} has no export named {self.call!r} (exports: {listed})")
        target = self.module[self.call]
        if not isinstance(target, JSFunction):
            raise UsageError(f"--call {self.call}: the export {self.call!r} is not a function")
        return await target(*self.args, deadline=self._deadline())

    def after_changes(self, results: list[HotUpdateResult]) -> None:
        task = asyncio.ensure_future(self.on_changes(results))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def on_changes(self, results: list[HotUpdateResult]) -> None:
        """After a burst of changes: a runtime that never loaded the entry tries again."""
        if self.module is None:
            await self.run()
            return
        for result in results:
            if result.environment == self.name and result.payload is None and result.modules == [] \
                    and result.type != "update":
                self.output.event(result.type, self.name, Path(result.file).name, None, file=result.file)

    async def on_report(self, report: HotReport) -> None:
        if self.module is None or report.type not in ("update", "full-reload", "error"):
            return
        async with self._busy:
            errors = list(report.errors)
            ms = (report.applied_at - report.sent_at) * 1000
            fields: dict[str, Any] = {"modules": report.updated, "reloaded": report.reloaded,
                                      "accepted": report.type == "update" and not report.reloaded}
            trigger = report.payload.get("triggeredBy") or report.payload.get("err", {}).get("id")
            if trigger:
                fields["file"] = trigger
            if report.type == "error" or (report.type == "full-reload" and not report.reloaded and errors):
                if report.type == "full-reload":
                    self.module = None  # the entry itself failed: import it again on the next change
                self.output.event("error", self.name, "", ms, errors=errors, **fields)
                return
            result: Any = NOTHING
            if not errors:
                try:
                    result = await self._call()
                except ModrunError as error:
                    errors.append(error.to_payload())
            event = "full-reload" if report.type == "full-reload" or report.reloaded else "update"
            what = ", ".join(report.reloaded if event == "full-reload" else report.updated) or "nothing accepted it"
            self.output.event(event, self.name, what, ms, result, errors=errors, **fields)


async def dev(ns: argparse.Namespace, evaluators: list[str], args: list[Any], root: Path, url: str) -> int:
    entry = real_path(ns.entry)
    if not entry.is_file():
        raise LoadError(f"Cannot find module {entry}", code="ERR_MODULE_NOT_FOUND", id=str(entry))
    output = Output(ns.json, len(evaluators) > 1)

    def on_console(level: str, text: str) -> None:
        stream = sys.stderr if ns.json or level in ("warn", "error") else sys.stdout
        stream.write(text + "\n")
        stream.flush()

    limits = {"memory_mb": ns.memory} if ns.memory else {}
    # One environment: "dev", as before; several: each named after its evaluator.
    names = ["dev"] if len(evaluators) == 1 else evaluators
    environments = {name: {"evaluator": evaluator, "profile": ns.profile, "limits": limits}
                    for name, evaluator in zip(names, evaluators, strict=True)}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Server(root=root, environments=environments, mode="development", hmr=True,
                      on_console=on_console) as server:
        sessions = [DevSession(server, name, url, ns.call, args, ns.timeout, output) for name in names]
        for session in sessions:
            server.environments[session.name].hot.subscribe(session.on_report)
            server.on_hot_update(session.after_changes)
        await server.watch()  # before the first run: no change made while it runs is missed
        await asyncio.gather(*(session.run() for session in sessions))
        output.note(f"watching {root} (Ctrl-C to stop)")
        await stop.wait()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signum)
    output.note("stopped")
    return 0
