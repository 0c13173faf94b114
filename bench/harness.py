"""Shared benchmark plumbing: timing statistics, a plain-text table, goal verdicts and the JSON
written to bench/results/<name>.json. Nothing here knows about modrun or Vite."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
CACHE_DIR = BENCH_DIR / ".cache"


def stats(samples: Sequence[float]) -> dict[str, float]:
    """Summary of samples (any unit): mean, median, min, max, p90 and the count."""
    ordered = sorted(samples)
    return {
        "mean": statistics.fmean(ordered),
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p90": ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))],
        "n": len(ordered),
    }


def time_ms(fn: Callable[[], Any], repeat: int, warmup: int = 0) -> list[float]:
    """Wall time of `fn()` in milliseconds, `repeat` times after `warmup` unmeasured calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def timed(fn: Callable[..., Any], totals: dict[str, float], part: str, scale: float = 1.0) -> Callable[..., Any]:
    """`fn`, adding the seconds (times `scale`) each call takes to `totals[part]`: for timing one internal
    of modrun inside a whole import."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[part] += (time.perf_counter() - started) * scale
    return wrapper


def percentiles_us(samples_ns: Sequence[int]) -> dict[str, float]:
    """p50 / p90 / p99 / mean of per-call samples in nanoseconds, as microseconds."""
    ordered = sorted(samples_ns)
    n = len(ordered)

    def pick(q: float) -> float:
        return ordered[min(n - 1, int(q * n))] / 1000

    return {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "mean": sum(ordered) / n / 1000, "n": n}


async def time_calls_async(fn: Callable[[], Awaitable[Any]], calls: int, warmup: int) -> list[int]:
    """Nanoseconds of each of `calls` awaited calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        await fn()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(calls):
        t0 = clock()
        await fn()
        samples.append(clock() - t0)
    return samples


def time_calls_sync(fn: Callable[[], Any], calls: int, warmup: int) -> list[int]:
    """Nanoseconds of each of `calls` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(calls):
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    return samples


def ratio(value: float, reference: float) -> float:
    return value / reference if reference else float("inf")


def goal(name: str, achieved: float, target: float, unit: str = "x") -> dict[str, Any]:
    """A goal of the form `achieved <= target`."""
    return {"goal": name, "achieved": achieved, "target": target, "unit": unit, "met": achieved <= target}


def fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.1f}"
        return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:.{digits - 1}f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = []
    if title:
        lines.append(title)
    lines.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                           for i, (h, w) in enumerate(zip(headers, widths, strict=True))))
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(lines)


def goal_lines(goals: Sequence[dict[str, Any]]) -> str:
    out = []
    for g in goals:
        verdict = "MET" if g["met"] else "MISSED"
        unit = g["unit"]
        out.append(f"goal {g['goal']}: achieved {fmt(g['achieved'])}{unit} (target <= {fmt(g['target'])}{unit}) "
                   f"-> {verdict}" + ("" if g["met"] else f" by {fmt(g['achieved'] / g['target'])}x"))
    return "\n".join(out)


def environment() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S")}


def write_results(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "environment": environment(), **payload}, indent=2) + "\n")
    return path
