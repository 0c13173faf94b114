"""`modrun bench SUITE… [options]`: benchmark suites across runtimes (README, "Benchmarks").

The table goes to stdout (to stderr when `--json -` or `--markdown -` takes stdout); the live
display and the suites' console output go to stderr. Exit code: that of the first run that failed
(1 JS error, 3 load error, 4 limit, 5 crash), else 1 when `--fail-on-regression` finds a
regression beyond its threshold, else 0; usage errors are 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .common import EXIT_CODES


def add_parser(commands: Any) -> None:
    bench = commands.add_parser("bench", help="run benchmark suites across runtimes, each benchmark in a fresh runtime")
    bench.add_argument("suites", nargs="+", metavar="SUITE",
                       help="suite files (modrun's form, tinybench, mitata, Vitest bench files, benchmark.js), "
                            "or directories of *.bench.js files")
    bench.add_argument("--root", help="project root (default: the current directory when a suite is inside it, "
                                      "else the suite's directory)")
    bench.add_argument("--evaluator", metavar="LIST",
                       help="comma-separated runtimes: inprocess, wasm, process, registered evaluators, node, "
                            "node-jitless (default: inprocess,wasm,process)")
    bench.add_argument("--node", action="store_true", help="also run in Node and `node --jitless` (references)")
    bench.add_argument("--filter", metavar="RE", help="only benchmarks whose 'file › group › name' matches")
    budget = bench.add_mutually_exclusive_group()
    budget.add_argument("--time", type=float, metavar="S", help="measuring time per benchmark and runtime "
                                                                "(default: the suite's, else 0.5 s)")
    budget.add_argument("--iterations", type=int, metavar="N",
                        help="exactly N iterations per sample, no calibration (with --samples, default 20)")
    bench.add_argument("--samples", type=int, metavar="N", help="the minimum number of samples (default 10)")
    bench.add_argument("--warmup", type=float, metavar="S", help="warm-up time (default 0.1 s)")
    bench.add_argument("--runs", type=int, default=1, metavar="N",
                       help="fresh runtimes per benchmark and runtime, spread over the session (default 1); "
                            "with 2 or more the confidence interval covers run-to-run differences too")
    bench.add_argument("--timeout", type=float, default=120.0, metavar="S",
                       help="wall-clock limit of one run, in seconds (default 120)")
    bench.add_argument("--memory", type=float, metavar="MB", help="cap on each modrun runtime's heap, in MiB")
    bench.add_argument("--reference", metavar="RUNTIME", help="ratios against this runtime (default: the fastest)")
    bench.add_argument("--json", metavar="OUT", help="write the report as JSON (`-` for stdout)")
    bench.add_argument("--markdown", metavar="OUT", help="write the table as Markdown (`-` for stdout)")
    bench.add_argument("--chart", metavar="OUT",
                       help="write a chart: OUT.png (matplotlib) or OUT.html (self-contained)")
    bench.add_argument("--baseline", metavar="FILE", help="compare with a saved --json report")
    bench.add_argument("--fail-on-regression", type=float, metavar="PCT",
                       help="exit 1 when a benchmark is slower than the baseline by more than PCT percent and the "
                            "confidence intervals do not overlap")
    bench.add_argument("--ray", metavar="ADDRESS", help="run on Ray: a cluster address, `auto`, or `local`")
    bench.add_argument("--ray-cpus", type=int, metavar="N", help="CPUs of the `--ray local` cluster (tasks at once)")
    bench.add_argument("--quiet", action="store_true", help="do not show the suites' console output while running")


def _options(ns: argparse.Namespace) -> Any:
    from ..bench.plan import BenchOptions

    for name in ("time", "warmup", "timeout", "memory"):
        value = getattr(ns, name)
        if value is not None and value <= 0 and not (name == "warmup" and value == 0):
            raise UsageError(f"--{name} must be a positive number")
    for name in ("iterations", "samples", "ray_cpus", "runs"):
        value = getattr(ns, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    return BenchOptions(time_s=ns.time, iterations=ns.iterations, samples=ns.samples, warmup_s=ns.warmup,
                        timeout_s=ns.timeout, memory_mb=ns.memory, runs=ns.runs)


def _check_outputs(ns: argparse.Namespace) -> None:
    if ns.chart is not None and Path(ns.chart).suffix.lower() not in (".png", ".html", ".htm"):
        raise UsageError(f"--chart {ns.chart}: the file must end in .png or .html")
    if ns.json == "-" and ns.markdown == "-":
        raise UsageError("--json - and --markdown - cannot both take stdout")
    if ns.fail_on_regression is not None and ns.baseline is None:
        raise UsageError("--fail-on-regression needs --baseline FILE")
    if ns.ray_cpus is not None and ns.ray is None:
        raise UsageError("--ray-cpus needs --ray local")
    try:
        import rich  # noqa: F401
        import subprocess_tee  # noqa: F401
    except ImportError as error:
        raise UsageError(f"modrun bench needs the bench extra ({error.name} is missing): "
                         "pip install 'modrun[bench]'") from None
    if ns.chart is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError("--chart needs matplotlib: pip install 'modrun[bench]'") from None


def _write(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        Path(target).write_text(text)


def _exit_code(report: dict[str, Any]) -> int:
    for result in report["results"]:
        if not result["ok"]:
            return EXIT_CODES.get((result.get("error") or {}).get("kind", "js"), 1)
    comparison = report.get("comparison")
    return 1 if comparison and comparison["failed"] else 0


def _console(stream: Any) -> Any:
    from rich.console import Console

    # Off a terminal (a CI log, a file) rows are not wrapped at rich's default of 80 columns.
    return Console(file=stream, highlight=False, width=None if stream.isatty() else 160)


def command(ns: argparse.Namespace) -> int:
    import asyncio  # here, not at the top: `modrun run` loads this file and starts before asyncio

    from ..bench import baseline as baselines
    from ..bench.plan import find_suites, parse_runtimes
    from ..bench.progress import Progress
    from ..bench.session import run_session

    _check_outputs(ns)
    options = _options(ns)
    runtimes = parse_runtimes(ns.evaluator, ns.node)
    if any(r.kind == "node" for r in runtimes):
        from ..bench.node import node_executable

        node_executable()  # no node is a usage error before anything runs
    suites = find_suites(ns.suites, ns.root)
    before = baselines.load(ns.baseline) if ns.baseline is not None else None
    stderr = _console(sys.stderr)
    report = asyncio.run(run_session(
        suites, runtimes, options, pattern=ns.filter, reference=ns.reference, ray_address=ns.ray,
        ray_cpus=ns.ray_cpus, progress=lambda total: Progress(total, console=stderr, quiet=ns.quiet)))
    if before is not None:
        report["comparison"] = baselines.compare(report, before, ns.baseline, ns.fail_on_regression)
    from ..bench import tables

    stdout_taken = "-" in (ns.json, ns.markdown)
    tables.render(report, stderr if stdout_taken else _console(sys.stdout))
    if ns.json is not None:
        _write(ns.json, json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    if ns.markdown is not None:
        _write(ns.markdown, tables.markdown(report))
    if ns.chart is not None:
        from ..bench.charts import write_chart

        write_chart(report, ns.chart)
    comparison = report.get("comparison")
    if comparison:
        stderr.print(f"against {comparison['baseline']}: {comparison['regressions']} regression(s), "
                     f"{comparison['improvements']} improvement(s)"
                     + (f"; failing: slower by more than {comparison['fail_on_regression_pct']:g}%"
                        if comparison["failed"] else ""))
    return _exit_code(report)
