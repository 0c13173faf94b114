"""The entry file a command or a check is given: its real path, and the error for one that is not a file."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import LoadError


def real_path(given: str | Path) -> Path:
    """`given` absolute, its symbolic links followed; a loop of them is left in place, for what opens the
    path to report (Path.resolve raises a RuntimeError on one)."""
    return Path(os.path.realpath(given))


def check_entry(path: Path) -> None:
    """Raise the load error for an entry that is not a file: why, where it can be told."""
    if path.is_file():
        return
    why = (" (it is a directory)" if path.is_dir()
           else " (a symbolic link that loops or leads nowhere)" if path.is_symlink() else "")
    raise LoadError(f"Cannot find module {path}{why}", code="ERR_MODULE_NOT_FOUND", id=str(path))
