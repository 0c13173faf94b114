"""`modrun check --run`: import ENTRY (and call an export) in a runtime of the checked profile, under
the check's limits, and turn what fails there into findings (`source="run"`): an uncaught error,
an unhandled rejection, a Node global or built-in reached at run time, a limit hit, a crash. Each is
located in the original source (the runtime's stacks are source-mapped) and carries the import chain
from ENTRY, so it reads like a static finding; the static check cannot see, for example, a global
read through a computed property (`globalThis['pro' + 'cess']`)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..code_frame import code_frame
from ..errors import CrashError, LimitError, LoadError, ModrunError, UsageError
from ..plugins.node_builtins import builtin_name
from .analyze import _package
from .config import CheckConfig
from .findings import Finding, Location, Report
from .globals import node_global_hints
from .rules import RULES

if TYPE_CHECKING:
    from ..environment import Environment

#: a stack frame, `at name (file:line:column)` or `at file:line:column`
_FRAME = re.compile(r"^\s*at (?:.*? \()?(?P<file>[^()]+?):(?P<line>\d+):(?P<column>\d+)\)?\s*$", re.M)
#: the edge profile's ReferenceError for one of Node's globals (runner/js/edge/lockdown.js)
_NODE_GLOBAL = re.compile(r"^(?P<name>[\w$]+) is not defined \((?P=name) is Node\.js's")
#: a require() the runner did not fetch ahead (runner/js/module_runner/commonjs.js), of a name the run computed
_UNFETCHED_REQUIRE = re.compile(r"^Cannot find module '(?P<name>[^']+)' required from ")
#: the resolver's message for a Node built-in (runner/plugins/node_builtins.py), as a rejected import() carries it
_BUILTIN_MESSAGE = re.compile(r"^'(?P<name>[^']+)' is a Node\.js built-in module")
_UNCAUGHT = re.compile(r"^Uncaught (?P<promise>\(in promise\) )?(?P<text>.*)", re.S)


@dataclass
class RunOutcome:
    """What the run phase did: the findings it adds and what the JSON report says of the run."""

    findings: list[Finding] = field(default_factory=list)
    allowed: int = 0
    ok: bool = True
    exports: list[str] = field(default_factory=list)
    called: str | None = None
    duration_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "exports": self.exports, "called": self.called,
                "duration_ms": round(self.duration_ms, 3)}


class _Collector:
    """Turns errors and console reports of one run into findings, with the chain from ENTRY."""

    def __init__(self, environment: Environment, entry_id: str, config: CheckConfig,
                 forward: Callable[[str, str], None] | None) -> None:
        self.environment = environment
        self.forward = forward
        self.root = Path(environment.root)
        self.entry_id = entry_id
        self.config = config
        self.outcome = RunOutcome()

    def name(self, file: str) -> str:
        try:
            return Path(file).relative_to(self.root).as_posix()
        except ValueError:
            return file

    def location(self, file: str, line: int, column: int) -> Location:
        try:
            frame = code_frame(Path(file).read_text(encoding="utf-8"), line, column)
        except (OSError, UnicodeDecodeError):
            frame = ""
        return Location(self.name(file), line, column, frame)

    def located(self, stack: str) -> tuple[Location | None, str]:
        """The first frame of `stack` in a file of the project (and the file's path), else the entry."""
        for match in _FRAME.finditer(stack):
            file = match["file"]
            if Path(file).is_file():
                return self.location(file, int(match["line"]), int(match["column"])), file
        return None, self.entry_id

    def chain(self, file: str) -> tuple[str, ...]:
        """Root-relative paths from ENTRY to `file`, as the static check gives them."""
        urls = self.environment.importer_chain(file)
        if not urls:
            return (self.name(self.entry_id),) if file == self.entry_id else (self.name(self.entry_id), self.name(file))
        return tuple(url[1:] if url.startswith("/") and not url.startswith("/@") else url for url in urls)

    def add(self, rule_id: str, location: Location | None, file: str, **fields: str) -> None:
        if not self.config.enabled(rule_id):
            return
        rule = RULES[rule_id]
        severity: Any = self.config.severity.get(rule_id, rule.severity)
        finding = Finding(rule=rule_id, severity=severity,
                          message=rule.message.format(profile=self.environment.profile, **fields),
                          location=location, chain=self.chain(file),
                          package=_package(location.file if location else self.name(file)), source="run")
        if self.config.allows(finding):
            self.outcome.allowed += 1
        else:
            self.outcome.findings.append(finding)

    def error(self, error: ModrunError) -> None:
        """An error that ended the import or the call."""
        self.outcome.ok = False
        first = error.message.splitlines()[0] if error.message else error.name
        if isinstance(error, LoadError):
            location = (self.location(error.loc.file, error.loc.line, error.loc.column)
                        if error.loc is not None else None)
            file = error.importer or self.entry_id
            if error.code == "ERR_NODE_BUILTIN":
                self.add("node-builtin-import", location, file, specifier=error.id or "", reason=first)
            elif error.code == "ERR_MODULE_NOT_FOUND":
                self.add("unresolved-import", location, file, specifier=error.id or "", reason=first)
            else:
                self.add("load-error", location, file, reason=f"{error.name}: {first}")
        elif isinstance(error, LimitError):
            location, file = self.located(error.stack)
            self.add("run-limit", location, file, limit=error.limit, reason=first)
        elif isinstance(error, CrashError):
            self.add("run-crash", None, self.entry_id, reason=first)
        else:
            self.thrown(error.name, error.message, error.stack, rejection=False, extra=error.extra)

    def thrown(self, name: str, message: str, stack: str, *, rejection: bool,
               extra: dict[str, Any] | None = None) -> None:
        location, file = self.located(stack)
        first = message.splitlines()[0] if message else ""
        node = _NODE_GLOBAL.match(message)
        if name == "ReferenceError" and node:
            hint = node_global_hints().get(node["name"])
            self.add("node-global", location, file, name=node["name"], hint=f": {hint}" if hint else "")
            return
        builtin = _builtin(message, extra or {})
        if builtin is not None:  # an import() or a require() whose specifier only the run computes
            importer = (extra or {}).get("importer")
            self.add("node-builtin-import", location, file if location or not importer else str(importer),
                     specifier=builtin, reason=first)
            return
        self.add("run-unhandled-rejection" if rejection else "run-error", location, file,
                 reason=f"{name}: {first}" if first else name)

    def console(self, level: str, text: str) -> None:
        """The event loop reports errors thrown by timers and unhandled rejections on the console."""
        if self.forward is not None:
            self.forward(level, text)
        match = _UNCAUGHT.match(text) if level == "error" else None
        if match is None:
            return
        self.outcome.ok = False
        head, _, _ = match["text"].partition("\n")
        name, sep, message = head.partition(": ")
        if not sep or not re.fullmatch(r"[\w$]+", name):
            name, message = "Error", head
        self.thrown(name, message, match["text"], rejection=bool(match["promise"]))


def _builtin(message: str, extra: dict[str, Any]) -> str | None:
    """The Node built-in an error says the run tried to load, or None."""
    if extra.get("code") == "ERR_NODE_BUILTIN" and extra.get("id"):
        return str(extra["id"])
    match = _UNFETCHED_REQUIRE.match(message) or _BUILTIN_MESSAGE.match(message)
    return match["name"] if match and builtin_name(match["name"]) is not None else None


async def run_phase(environment: Environment, entry: str, config: CheckConfig, *, call: str | None = None,
                    args: list[Any] | None = None, deadline: float | None = None,
                    on_console: Callable[[str, str], None] | None = None) -> RunOutcome:
    """Import `entry` in a fresh runtime of `environment` (and call its export `call` with `args`),
    and answer the findings of what failed; the module's console output goes to `on_console`. A `call`
    that names no exported function is a UsageError."""
    from ..rpc.exports import JSFunction, ModuleProxy

    started = time.perf_counter()
    entry_id = await environment.resolve(environment._entry_url(entry))
    collector = _Collector(environment, entry_id, config, on_console)
    runner = await environment.create_runner(on_console=collector.console)
    outcome = collector.outcome
    try:
        module = await ModuleProxy.load(runner, environment._entry_url(entry), deadline=deadline)
        outcome.exports = sorted(module.exports)
        if call is not None:
            if call not in module.exports:
                listed = ", ".join(outcome.exports) or "none"
                raise UsageError(f"--call {call}: {module.url} has no export named {call!r} (exports: {listed})")
            target = module[call]
            if not isinstance(target, JSFunction):
                raise UsageError(f"--call {call}: the export {call!r} is not a function")
            outcome.called = call
            await target(*(args or []), deadline=deadline)
        await runner.settle(deadline=deadline)  # timers already due, and rejections nothing handled
    except UsageError:
        raise
    except ModrunError as error:
        collector.error(error)
    finally:
        await runner.close()
        environment.server.transform_cache.flush()
    outcome.duration_ms = (time.perf_counter() - started) * 1000
    return outcome


def merge(report: Report, outcome: RunOutcome) -> Report:
    """`report` with the run's findings added, except those the static check already made at the
    same line (the run confirms them; it does not repeat them)."""
    seen = {(f.rule, f.location.file, f.location.line) for f in report.findings if f.location is not None}
    added = [f for f in outcome.findings
             if f.location is None or (f.rule, f.location.file, f.location.line) not in seen]
    report.findings.extend(added)
    report.allowed += outcome.allowed
    return report
