"""`modrun dev ENTRY …` — import ENTRY in a runtime that stays up, watch the root, and apply each
change as Vite's dev server does: a hot update where a module accepts it, else a full reload of
the runtime (the entry imported again). With `--call` the export is called again after each
applied change. One status line per update goes to stderr; errors (with code frames) are shown
and the session goes on; Ctrl-C (or SIGTERM) ends it cleanly with exit code 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from ..errors import LoadError, ModrunError, UsageError
from ..hmr.channel import HotReport
from ..hmr.hot_update import HotUpdateResult
from ..rpc import wire
from ..rpc.exports import JSFunction, ModuleProxy
from ..server import Server
from .run import PROFILES, _check_args, _choose_root, _entry_url


def command(ns: argparse.Namespace) -> int:
    args = _check_args(ns)  # the same checks as `run`
    entry = Path(ns.entry).resolve()
    root = _choose_root(entry, ns.root)
    return asyncio.run(dev(ns, args, root, _entry_url(entry, root)))


def add_parser(commands: Any) -> None:
    dev = commands.add_parser("dev", help="run ENTRY and apply every change to the sources with HMR")
    dev.add_argument("entry", metavar="ENTRY", help="the module to import (a file path)")
    dev.add_argument("--root", help="project root (default as for `run`)")
    dev.add_argument("--evaluator", default="inprocess", metavar="NAME",
                     help="the runtime: inprocess (default), wasm, process, or a registered evaluator")
    dev.add_argument("--profile", default="bare", choices=PROFILES)
    dev.add_argument("--call", metavar="EXPORT", help="call this export after the import and after each change")
    dev.add_argument("--args", metavar="JSON_ARRAY", default="[]", help="arguments for --call, as a JSON array")
    dev.add_argument("--memory", type=float, metavar="MB", help="cap on the runtime's heap, in MiB")
    dev.add_argument("--timeout", type=float, metavar="S", help="wall-clock limit of each import or call")


class DevSession:
    def __init__(self, server: Server, url: str, call: str | None, args: list[Any], timeout: float | None,
                 out: Any, status: Console) -> None:
        self.server = server
        self.environment = server.environments["dev"]
        self.url = url
        self.call = call
        self.args = args
        self.timeout = timeout
        self.out = out
        self.status = status
        self.module: ModuleProxy | None = None
        self._busy = asyncio.Lock()

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
                await self._call()
                self._line("ready", f"{self.url}", started)
            except ModrunError as error:
                self.module = None
                self._error(error.to_payload())

    async def _call(self) -> None:
        if self.call is None or self.module is None:
            return
        if self.call not in self.module.exports:
            listed = ", ".join(self.module.exports) or "none"
            raise UsageError(f"--call {self.call}: {self.url} has no export named {self.call!r} (exports: {listed})")
        target = self.module[self.call]
        if not isinstance(target, JSFunction):
            raise UsageError(f"--call {self.call}: the export {self.call!r} is not a function")
        result = await target(*self.args, deadline=self._deadline())
        self.out.write(wire.dumps(result) + "\n")
        self.out.flush()

    async def on_changes(self, results: list[HotUpdateResult]) -> None:
        """After a burst of changes: a runtime that never loaded the entry tries again."""
        if self.module is None:
            await self.run()
            return
        for result in results:
            if result.payload is None and result.modules == [] and result.type != "update":
                self._line(result.type, Path(result.file).name, None)

    async def on_report(self, report: HotReport) -> None:
        if self.module is None:
            return
        async with self._busy:
            if report.errors:
                for error in report.errors:
                    self._error(error)
                if report.type == "full-reload" and not report.reloaded:
                    self.module = None  # the entry itself failed: import it again on the next change
                return
            if report.type == "update":
                what = ", ".join(report.updated) or "nothing accepted it"
            elif report.type == "full-reload":
                what = ", ".join(report.reloaded)
            else:
                return
            try:
                await self._call()
            except ModrunError as error:
                self._error(error.to_payload())
            self._line("reload" if report.type == "full-reload" else "hmr", what, report.sent_at, report.applied_at)

    def _line(self, kind: str, what: str, started: float | None, ended: float | None = None) -> None:
        took = f" [dim]{((ended or time.perf_counter()) - started) * 1000:.0f} ms[/dim]" if started else ""
        clock = time.strftime("%H:%M:%S")
        self.status.print(f"[dim]{clock}[/dim] [bold cyan]{kind}[/bold cyan] {escape(what)}{took}", highlight=False)

    def _error(self, payload: dict[str, Any]) -> None:
        text = str(payload.get("stack") or f"{payload.get('name', 'Error')}: {payload.get('message', '')}")
        frame = payload.get("frame")
        if frame and frame not in text:
            text += "\n\n" + str(frame)
        self.status.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] [bold red]error[/bold red]", highlight=False)
        self.status.print(escape(text.rstrip()), highlight=False)


async def dev(ns: argparse.Namespace, args: list[Any], root: Path, url: str) -> int:
    entry = Path(ns.entry).resolve()
    if not entry.is_file():
        raise LoadError(f"Cannot find module {entry}", code="ERR_MODULE_NOT_FOUND", id=str(entry))
    status = Console(stderr=True, highlight=False, soft_wrap=True)

    def on_console(level: str, text: str) -> None:
        stream = sys.stderr if level in ("warn", "error") else sys.stdout
        stream.write(text + "\n")
        stream.flush()

    limits = {"memory_mb": ns.memory} if ns.memory else {}
    environments = {"dev": {"evaluator": ns.evaluator, "profile": ns.profile, "limits": limits}}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Server(root=root, environments=environments, mode="development", hmr=True,
                      on_console=on_console) as server:
        session = DevSession(server, url, ns.call, args, ns.timeout, sys.stdout, status)
        server.environments["dev"].hot.subscribe(session.on_report)
        server.on_hot_update(lambda results: asyncio.ensure_future(session.on_changes(results)))
        await server.watch()  # before the first run: no change made while it runs is missed
        await session.run()
        status.print(f"[dim]watching {escape(str(root))} (Ctrl-C to stop)[/dim]", highlight=False)
        await stop.wait()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signum)
    status.print("[dim]stopped[/dim]", highlight=False)
    return 0
