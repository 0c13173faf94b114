"""What every command shares: the checks of the arguments `run`, `dev` and `check` have in common (the
root, the entry's url, --args and the limits), the exit codes, and how an error is printed (text on
stderr, or the `--json` envelope on stdout). The argument parser is parser.py's."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..entry_file import real_path
from ..errors import LimitError, LoadError, ModrunError, UsageError

if TYPE_CHECKING:
    import argparse

EXIT_CODES = {"js": 1, "usage": 2, "load": 3, "limit": 4, "crash": 5}


def error_payload(error: ModrunError) -> dict[str, object]:
    payload = error.to_payload()
    return {k: v for k, v in payload.items() if v is not None}


def report_error(error: ModrunError, as_json: bool) -> int:
    """Print `error` the command line's way and answer its exit code."""
    if as_json:
        from ..rpc import wire  # not before a worker is started (run.py): it loads orjson

        sys.stdout.write(wire.dumps({"ok": False, "error": error_payload(error)}) + "\n")
    else:
        text = error.stack or f"{error.name}: {error.message}"
        if isinstance(error, LoadError) and error.frame and error.frame not in text:
            text += "\n\n" + error.frame
        if isinstance(error, LimitError):
            text = f"modrun: {error.message} (limit: {error.limit})"
        sys.stderr.write(text.rstrip() + "\n")
    sys.stdout.flush()
    return EXIT_CODES.get(error.kind, 1)


def choose_root(entry: Path, root: str | None) -> Path:
    if root is not None:
        path = real_path(root)
        if not path.is_dir():
            raise UsageError(f"--root {root}: not a directory")
        return path
    cwd = Path.cwd().resolve()
    return cwd if cwd in entry.parents else entry.parent


def entry_url(entry: Path, root: Path) -> str:
    try:
        return "/" + entry.relative_to(root).as_posix()
    except ValueError:
        return str(entry)  # outside the root: resolution refuses it with a load error


def check_args(ns: argparse.Namespace) -> list[Any]:
    args = [] if ns.args == "[]" else _json_args(ns.args)  # the default: no parser to load before the run starts
    if not isinstance(args, list):
        raise UsageError(f"--args must be a JSON array, not {type(args).__name__}")
    if ns.timeout is not None and ns.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if ns.memory is not None and ns.memory <= 0:
        raise UsageError("--memory must be a positive number of MiB")
    from evaluators import get_evaluator

    get_evaluator(ns.evaluator)  # an unknown name is a usage error that lists the available ones
    return args


def _json_args(text: str) -> Any:
    from ..rpc import wire

    try:
        return wire.strict_loads(text)
    except ValueError as error:
        raise UsageError(f"--args must be a JSON array: {error}") from None
