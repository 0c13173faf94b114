"""The command line: `modrun run` (run.py), `modrun bench` (bench.py), `modrun dev` (dev.py) and
`modrun check` (check.py), one file per command.

Exit codes, the same for every command: 0 ok · 1 uncaught JS error · 2 usage or config error ·
3 load error · 4 limit exceeded · 5 runtime crashed or transport failed.

This file imports next to nothing before `main` runs: the console script's `modrun run` first makes the
cycle collector wait (loading.py), and what is imported before that (typing alone: six collections and
a second-generation one, 1.3 ms) is collected at CPython's usual pace. Each function imports what it
uses.
"""

from __future__ import annotations

import os
import sys

from . import loading

TYPE_CHECKING = False  # (not typing's: see above)
if TYPE_CHECKING:
    from types import ModuleType
    from typing import NoReturn

    from ..server import Server
    from .parser import Parser

__all__ = ["EXIT_CODES", "main", "run_command"]
COMMANDS = ("run", "bench", "dev", "check")


def __getattr__(name: str) -> object:
    if name == "EXIT_CODES":  # (common.py's, which loads pathlib)
        from .common import EXIT_CODES

        return EXIT_CODES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _command(name: str) -> ModuleType:
    import importlib

    return importlib.import_module(f".{name}", __name__)


def _parser(argv: list[str]) -> Parser:
    """The parser, with only the named command's module imported: each command's imports are its
    own (`modrun run` does not load `modrun dev`'s terminal display and file watcher, tens of
    milliseconds). Help and unknown commands get every command."""
    from .parser import Parser

    parser = Parser(prog="modrun", description="Run JavaScript ES modules in sandboxed runtimes.")
    # `prog` given, or argparse formats it with a help formatter, sizing it to the terminal (parser.py)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser, prog="modrun")
    for name in argv[:1] if argv[:1] and argv[0] in COMMANDS else COMMANDS:
        _command(name).add_parser(commands)
    return parser


def _wants_json(argv: list[str]) -> bool:
    """Whether a usage error found while parsing should use the JSON envelope on stdout."""
    if argv[:1] == ["bench"]:
        return any(a in ("--json=-",) for a in argv) or any(
            a == "--json" and argv[i + 1:i + 2] == ["-"] for i, a in enumerate(argv))
    return "--json" in argv


def run_command(argv: list[str], *, held: list[Server] | None = None) -> int:
    """Run a command and answer its exit code. `held` (for `modrun run`): see run.command."""
    from ..errors import CrashError, ModrunError
    from .common import report_error
    from .quick_args import parse_run

    as_json = _wants_json(argv)
    try:
        ns = parse_run(argv) or _parser(argv).parse_args(argv)
        command = _command(ns.command).command
        return int(command(ns, held) if ns.command == "run" else command(ns))
    except ModrunError as error:
        return report_error(error, as_json)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # never a traceback from our internals
        if os.environ.get("MODRUN_DEBUG"):
            raise
        return report_error(CrashError(f"internal error: {type(error).__name__}: {error}"), as_json)


def _format_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                    line: str | None = None) -> str:
    """A warning as a user reads it: what it says, not where in modrun's sources it was raised."""
    return f"modrun: warning: {message}\n"


def main(argv: list[str] | None = None) -> NoReturn:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        loading.begin()  # before the rest of modrun is imported (loading.py)
    import contextlib
    import warnings

    from .. import exit_waits

    warnings.formatwarning = _format_warning
    held: list[Server] = []
    exit_waits.promise()  # caches may write in threads: waited for below, before either exit
    code = run_command(argv, held=held)
    if not held:
        exit_waits.finish()
        sys.exit(code)
    # `modrun run` ends here without tearing anything down: freeing a runtime that holds a large
    # module graph, and the interpreter's own finalization, cost tens of milliseconds that a
    # command ending anyway need not pay. Runtimes in worker processes see their channel close.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that closed the pipe early
            stream.flush()
    exit_waits.finish()  # the output is out; the caches' writes are on disk before the process ends
    os._exit(code)
