"""What every command shares: the argument parser that turns mistakes into usage errors, the exit
codes, and how an error is printed (text on stderr, or the `--json` envelope on stdout)."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from ..errors import LimitError, LoadError, ModrunError, UsageError
from ..rpc import wire

EXIT_CODES = {"js": 1, "usage": 2, "load": 3, "limit": 4, "crash": 5}


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


def error_payload(error: ModrunError) -> dict[str, object]:
    payload = error.to_payload()
    return {k: v for k, v in payload.items() if v is not None}


def report_error(error: ModrunError, as_json: bool) -> int:
    """Print `error` the command line's way and answer its exit code."""
    if as_json:
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
