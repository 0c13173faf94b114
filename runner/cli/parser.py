"""The argument parser of every command: argparse's, with mistakes raised as usage errors (exit 2, in
the `--json` envelope when asked) and help sized to the terminal only when it is printed. A plain
`modrun run` command line is parsed without it (quick_args.py)."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from ..errors import UsageError


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

