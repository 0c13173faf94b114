"""Comparing a run with a saved one (`--baseline FILE`): a change is a regression or an improvement
only where the two 95% confidence intervals of the median do not overlap; `--fail-on-regression PCT`
turns regressions slower by more than PCT percent into a failing exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .report import SCHEMA


def load(path: str) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text())
    except OSError as error:
        raise UsageError(f"--baseline {path}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"--baseline {path}: not JSON ({error})") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise UsageError(f"--baseline {path}: not a modrun bench report (schema {SCHEMA!r})")
    return document


def verdict(current: dict[str, Any], before: dict[str, Any]) -> str:
    lo, hi = current["ci95_ns"]
    base_lo, base_hi = before["ci95_ns"]
    if lo > base_hi:
        return "regression"
    if hi < base_lo:
        return "improvement"
    return "unchanged"


def compare(report: dict[str, Any], baseline: dict[str, Any], path: str,
            fail_pct: float | None = None) -> dict[str, Any]:
    """The comparison, added to the report as `comparison`: one entry per (benchmark, runtime) both
    runs measured, and those only one of them has."""
    before = {(r["benchmark"], r["runtime"]): r for r in baseline.get("results", []) if r.get("stats")}
    entries = []
    for result in report["results"]:
        old = before.pop((result["benchmark"], result["runtime"]), None)
        if old is None or not result["stats"]:
            continue
        change = result["stats"]["median_ns"] / old["stats"]["median_ns"] - 1
        kind = verdict(result["stats"], old["stats"])
        entries.append({"benchmark": result["benchmark"], "runtime": result["runtime"], "verdict": kind,
                        "change_pct": 100 * change, "median_ns": result["stats"]["median_ns"],
                        "baseline_median_ns": old["stats"]["median_ns"], "ci95_ns": result["stats"]["ci95_ns"],
                        "baseline_ci95_ns": old["stats"]["ci95_ns"],
                        "fails": kind == "regression" and fail_pct is not None and 100 * change > fail_pct})
    return {"baseline": path, "baseline_created": baseline.get("created"), "fail_on_regression_pct": fail_pct,
            "entries": entries, "only_in_baseline": [f"{b} · {r}" for b, r in before],
            "regressions": sum(e["verdict"] == "regression" for e in entries),
            "improvements": sum(e["verdict"] == "improvement" for e in entries),
            "failed": any(e["fails"] for e in entries)}
