"""The report as a table: benchmark × runtime with time per operation, its 95% confidence interval,
operations per second, the ratio to the fastest (or the reference) and the change against a
baseline — for the terminal (rich) and as Markdown for pull-request comments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

HEADERS = ("benchmark", "runtime", "time/op", "± CI95", "ops/s", "ratio")


def duration(ns: float) -> str:
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= size:
            return f"{ns / size:.3g} {unit}" if ns / size < 100 else f"{ns / size:.0f} {unit}"
    return f"{ns:.3g} ns"


def rate(ops: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if ops >= size:
            return f"{ops / size:.3g}{unit}"
    return f"{ops:.3g}"


def interval(stats: dict[str, Any]) -> str:
    """The 95% CI of the median relative to it: ±x% when about symmetric, else −x/+y%."""
    lo, hi = stats["ci95_ns"]
    median = stats["median_ns"]
    below, above = 100 * (median - lo) / median, 100 * (hi - median) / median
    if abs(below - above) <= 0.25 * max(below, above, 0.1):
        return f"±{(below + above) / 2:.1f}%"
    return f"−{below:.1f}/+{above:.1f}%"


def _verdicts(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    comparison = report.get("comparison") or {}
    return {(e["benchmark"], e["runtime"]): e for e in comparison.get("entries", [])}


def _change(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return ""
    mark = {"regression": "slower", "improvement": "faster", "unchanged": "~"}[entry["verdict"]]
    return f"{entry['change_pct']:+.1f}% {mark}"


def rows(report: dict[str, Any]) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """Cells of each row (the benchmark named on its first row only) and the result behind it."""
    verdicts = _verdicts(report)
    with_baseline = bool(verdicts)
    previous = None
    for result in report["results"]:
        shown = result["benchmark"] if result["benchmark"] != previous else ""
        previous = result["benchmark"]
        stats = result["stats"]
        if stats is None:
            error = result.get("error") or {}
            message = str(error.get("message", "")).splitlines()[0:1]
            cells = [shown, result["runtime"], f"{error.get('kind', 'error')} error", (message or [""])[0][:60], "", ""]
        else:
            ratio = result.get("ratio")
            cells = [shown, result["runtime"], duration(stats["median_ns"]), interval(stats),
                     rate(stats["ops_per_s"]), f"{ratio:.2f}×" if ratio else ""]
        if with_baseline:
            cells.append(_change(verdicts.get((result["benchmark"], result["runtime"]))))
        yield cells, result


def headers(report: dict[str, Any]) -> list[str]:
    return [*HEADERS, "vs baseline"] if _verdicts(report) else list(HEADERS)


def reference_note(report: dict[str, Any]) -> str:
    reference = report["options"].get("reference")
    return f"ratio: to {reference}" if reference else "ratio: to the fastest runtime of each benchmark"


def markdown(report: dict[str, Any]) -> str:
    head = headers(report)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i < 2 else "---:" for i in range(len(head))) + "|"]
    for cells, _ in rows(report):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    versions = report["versions"]
    engines = ", ".join(f"{k} {v}" for k, v in versions.items() if v)
    machine = report["machine"]
    lines += ["", f"Median time per operation, 95% confidence interval of the median; {reference_note(report)}. "
              f"{machine['cpus']} CPUs, {machine['cpu'] or machine['machine']}; {engines}."]
    comparison = report.get("comparison")
    if comparison:
        lines.append(f"Against {comparison['baseline']}: {comparison['regressions']} regression(s), "
                     f"{comparison['improvements']} improvement(s) where the confidence intervals do not overlap.")
    return "\n".join(lines) + "\n"


def render(report: dict[str, Any], console: Any) -> None:
    """Print the table on a rich console."""
    from rich.table import Table

    table = Table(title="modrun bench", caption=f"median time per operation · {reference_note(report)}",
                  show_lines=False)
    for i, name in enumerate(headers(report)):
        table.add_column(name, justify="left" if i < 2 else "right", no_wrap=i > 0)
    previous_key = None
    for cells, result in rows(report):
        if cells[0] and previous_key is not None:
            table.add_section()
        previous_key = result["benchmark"]
        style = None
        if result["stats"] is None:
            style = "red"
        elif result.get("ratio") == 1.0:
            style = "bold"
        table.add_row(*cells, style=style)
    console.print(table)
