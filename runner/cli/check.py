"""`modrun check ENTRY …`: the edge-compatibility report of ENTRY's module graph (README, "`modrun
check`"): static findings, and with --run what fails when ENTRY is imported (and an export called).
Exit 0 compatible, 1 not, 2 usage or config error, 3 ENTRY cannot be loaded. With --json, stdout
carries exactly one JSON object and the module's console output goes to stderr."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..entry_file import real_path
from ..errors import ModrunError, UsageError
from ..js.profiles import DEFAULT_PROFILE, PROFILES
from .common import check_args, choose_root, report_error


def add_parser(commands: Any) -> None:
    check = commands.add_parser("check", help="report what in a module graph an edge runtime would refuse")
    check.add_argument("entry", metavar="ENTRY", help="the module whose graph is checked (a file path)")
    check.add_argument("--root", help="project root (default: the current directory when ENTRY is inside it, "
                       "else ENTRY's directory); its pyproject.toml [tool.modrun.check] is the config")
    check.add_argument("--profile", default=DEFAULT_PROFILE, choices=list(PROFILES),
                       help=f"the profile checked against: {', '.join(PROFILES)} (default {DEFAULT_PROFILE})")
    check.add_argument("--json", action="store_true", help="print one JSON object: the report")
    check.add_argument("--run", action="store_true",
                       help="also import ENTRY (and call --call) under the profile's limits and report what fails")
    check.add_argument("--call", metavar="EXPORT", help="with --run: call this export (`default` for the default)")
    check.add_argument("--args", metavar="JSON_ARRAY", default="[]", help="arguments for --call, as a JSON array")
    check.add_argument("--evaluator", default="inprocess", metavar="NAME",
                       help="with --run: the runtime (inprocess, the default; wasm; process)")
    check.add_argument("--timeout", type=float, metavar="S",
                       help="with --run: wall-clock limit of the run, in seconds (default 30)")
    check.add_argument("--memory", type=float, metavar="MB",
                       help="with --run: cap on the runtime's heap, in MiB (default 128, as edge platforms)")
    check.add_argument("--cpu-ms", type=float, metavar="MS",
                       help="with --run: CPU time of the import and of the call, each, in ms (default 1000)")


def command(ns: argparse.Namespace) -> int:
    as_json = bool(ns.json)
    try:
        args = check_args(ns)
        if ns.call is not None and not ns.run:
            raise UsageError("--call needs --run: the static check does not run the module")
        if ns.cpu_ms is not None and ns.cpu_ms <= 0:
            raise UsageError("--cpu-ms must be a positive number of milliseconds")
        import asyncio

        from ..check.project import RUN_LIMITS, RUN_TIMEOUT_S, check_project
        from ..check.render import render

        entry = real_path(ns.entry)
        root = choose_root(entry, ns.root)

        def on_console(level: str, text: str) -> None:
            stream = sys.stderr if as_json or level in ("warn", "error") else sys.stdout
            stream.write(text + "\n")
            stream.flush()

        result = asyncio.run(check_project(
            entry, root, profile=ns.profile, evaluator=ns.evaluator, run=ns.run, call=ns.call, args=args,
            limits={"memory_mb": ns.memory or RUN_LIMITS["memory_mb"], "cpu_ms": ns.cpu_ms or RUN_LIMITS["cpu_ms"]},
            timeout=ns.timeout or RUN_TIMEOUT_S, on_console=on_console))
    except ModrunError as error:
        return report_error(error, as_json)
    if as_json:
        from ..rpc import wire

        sys.stdout.write(wire.dumps(result.to_json()) + "\n")
    else:
        render(result.report, sys.stdout, result.run)
    sys.stdout.flush()
    return 0 if result.report.compatible else 1
