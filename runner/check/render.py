"""The human form of a check report: findings grouped by package (the project's own files first),
then by rule, each with its place, message, code frame and import chain; then a summary line.
Colours only where the output is a terminal and NO_COLOR is not set (rich decides both)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from typing import IO

from rich.console import Console
from rich.text import Text

from .findings import Finding, Report
from .run_phase import RunOutcome

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_ORDER = {"error": 0, "warning": 1, "info": 2}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(report: Report) -> str:
    counts = report.counts()
    verdict = "compatible" if report.compatible else "not compatible"
    return (f"{_plural(counts['error'], 'error')}, {_plural(counts['warning'], 'warning')}, {counts['info']} info · "
            f"{_plural(report.modules, 'module')} · {report.allowed} allowed · {report.duration_ms:.0f} ms — "
            f"{verdict} with the {report.profile} profile")


def _groups(findings: Iterable[Finding]) -> dict[str | None, dict[str, list[Finding]]]:
    groups: dict[str | None, dict[str, list[Finding]]] = {}
    ordered = sorted(findings, key=lambda f: (f.package is not None, f.package or "", _ORDER[f.severity], f.rule,
                                              f.location.file if f.location else "",
                                              f.location.line if f.location else 0))
    for finding in ordered:
        groups.setdefault(finding.package, {}).setdefault(finding.rule, []).append(finding)
    return groups


def _finding(finding: Finding) -> Text:
    text = Text("    ")
    text.append(finding.severity, style=_STYLE[finding.severity])
    where = (f"{finding.location.file}:{finding.location.line}:{finding.location.column}" if finding.location
             else finding.chain[-1] if finding.chain else "")
    text.append(f" {where}", style="bold")
    if finding.source == "run":
        text.append(" (at run time)", style="magenta")
    text.append(f"\n      {finding.message}")
    if finding.location is not None and finding.location.frame:
        frame = "\n".join("      " + line for line in finding.location.frame.splitlines())
        text.append(f"\n{frame}", style="dim")
    if len(finding.chain) > 1:
        text.append("\n      import chain: " + " -> ".join(finding.chain), style="dim")
    return text


def _run_line(run: RunOutcome) -> Text:
    did = "imported the entry" + (f" and called {run.called}" if run.called else "")
    text = Text(f"run: {did} in {run.duration_ms:.0f} ms — ")
    text.append("no error" if run.ok else "it failed",
                style="green" if run.ok else "red")
    return text


def render(report: Report, file: IO[str], run: RunOutcome | None = None) -> None:
    """Print `report` to `file`, with a line on the run phase when there was one."""
    # NO_COLOR: rich drops the colours but keeps bold and underline; no escape codes at all is what's asked
    plain = bool(os.environ.get("NO_COLOR"))
    console = Console(file=file, highlight=False, soft_wrap=True, color_system=None if plain else "auto")
    console.print(Text(f"modrun check {report.entry} (profile {report.profile})", style="bold"))
    for package, rules in _groups(report.findings).items():
        console.print()
        console.print(Text(f"package {package}" if package else "your project", style="bold underline"))
        for rule, findings in rules.items():
            console.print(Text(f"  {rule}", style="bold"))
            for finding in findings:
                console.print(_finding(finding))
    console.print()
    if run is not None:
        console.print(_run_line(run))
    console.print(Text(("✔ " if report.compatible else "✖ ") + summary(report),
                       style="bold green" if report.compatible else "bold red"))


def render_text(report: Report, run: RunOutcome | None = None) -> str:
    """The report as plain text (no colours), as an assertion message shows it."""
    buffer = io.StringIO()
    render(report, buffer, run)
    return buffer.getvalue()
