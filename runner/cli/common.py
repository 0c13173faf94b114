"""What every command shares: the argument parser that turns mistakes into usage errors, the checks
of the arguments `run`, `dev` and `check` have in common (the root, the entry's url, --args and the
limits), the exit codes, and how an error is printed (text on stderr, or the `--json` envelope on
stdout)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

from ..errors import LimitError, LoadError, ModrunError, UsageError

EXIT_CODES = {"js": 1, "usage": 2, "load": 3, "limit": 4, "crash": 5}


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, sized to the terminal only when it formats text. argparse also makes one for
    every argument added (to check its metavar), and sizing asks shutil, whose import (with its
    compression modules, about 2 ms) a run that prints no help or usage need not pay."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        self._sizes = (indent_increment, max_help_position, width)
        super().__init__(prog, indent_increment, max_help_position, 80 if width is None else width)

    def format_help(self) -> str:
        if self._sizes[2] is None:  # sized now, as argparse's own formatter sizes itself
            sized = argparse.HelpFormatter(self._prog, *self._sizes)
            self._width, self._max_help_position = sized._width, sized._max_help_position
        return super().format_help()


class Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


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
        path = Path(root).resolve()
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
