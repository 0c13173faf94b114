"""The live display while a bench runs (rich, on stderr): a progress bar over the runs, the
suites' console output as it comes, and a line per finished run. Off a terminal only the lines
are printed, so logs of CI runs stay readable."""

from __future__ import annotations

import statistics
import threading
from typing import Any

from .plan import Job
from .tables import duration


class Progress:
    def __init__(self, total: int, *, console: Any = None, quiet: bool = False) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self.console = console or Console(stderr=True, highlight=False)
        self.quiet = quiet
        self.running: list[str] = []
        self.lock = threading.Lock()  # Node runs report from subprocess-tee's thread
        self.bar = RichProgress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=self.console, transient=True,
                                disable=not self.console.is_terminal)
        self.task = self.bar.add_task("starting", total=total)

    def __enter__(self) -> Progress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def _describe(self) -> None:
        shown = self.running[0] if len(self.running) == 1 else f"{len(self.running)} runs under way"
        self.bar.update(self.task, description=shown if self.running else "")

    def started(self, job: Job) -> None:
        with self.lock:
            self.running.append(job.label)
            self._describe()

    def output(self, label: str, level: str, text: str) -> None:
        if self.quiet:
            return
        from rich.text import Text

        with self.lock:
            line = Text(f"  {label} │ ", style="dim")
            line.append(text, style="red" if level in ("warn", "error") else "")
            self.console.print(line, soft_wrap=True)

    def finished(self, job: Job, result: dict[str, Any]) -> None:
        from rich.text import Text

        with self.lock:
            if job.label in self.running:
                self.running.remove(job.label)
            measurement = result.get("measurement")
            if result["ok"] and measurement:
                samples = measurement["samples_ms"]
                median = statistics.median(samples) * 1e6
                line = Text("✓ ", style="green")
                line.append(f"{job.label}  ")
                line.append(f"{duration(median)}/op", style="bold")
                line.append(f"  ({len(samples)} samples × {measurement['iterations_per_sample']})", style="dim")
            else:
                error = result.get("error") or {"kind": "js", "message": "the suite did not run this benchmark"}
                message = str(error.get("message", "")).splitlines()[0:1]
                line = Text("✗ ", style="red")
                line.append(f"{job.label}  {error.get('kind')} error: {(message or [''])[0]}", style="red")
            self.console.print(line, soft_wrap=True)
            self.bar.advance(self.task)
            self._describe()
