"""What a file holds, known without reading it: its stamp (modification and change times, size,
inode), the one shape of every stamp modrun takes, and the one rule for when a stamp is too recent to
trust (`racy`). For keying what is built from our own sources (the runner bundle's compiled code,
the transform cache's salt) without reading and hashing them at every start; the same stamps check
remembered resolutions (plugins/fs_stamps.py, plugins/resolve_store.py) and find transforms
(transform_stamps.py).

The guarantee: while the stamps are equal, the files hold what they held when stamped. An edit
sets the file's change time (ctime) to the current time, and no program can set it back (restoring
the modification time with `touch -d` or `cp -p` sets the change time to now too). What the stamps
cannot see is an edit within the same tick of the filesystem's clock as the stamp was taken, so
files changed less than RACY_S seconds ago have no identity (None): the caller reads them, as git
does for a racily clean index. (Nor can they see a system clock set back by more than RACY_S.)
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

#: how long ago a file must have changed for its stamps to stand for its contents
RACY_S = 2.0

#: (mtime_ns, ctime_ns, size, inode) of a path; None where nothing is
Stamp = tuple[int, int, int, int] | None


def stamp_of(path: str | os.PathLike[str]) -> Stamp:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino


def racy(stamp: Stamp, began_ns: int) -> bool:
    """Did the file change less than RACY_S before `began_ns` (time.time_ns()), or claim a time to
    come? Then its stamp does not stand for what was read from it. Nothing there is not racy."""
    return stamp is not None and max(stamp[0], stamp[1]) > began_ns - int(RACY_S * 1e9)


def python_files(directory: str) -> list[str]:
    """The paths of a directory's .py files, sorted: sources to stamp. (Listed with os.scandir: Path.glob,
    which compiles a pattern, and sorting Paths cost a start five times as much.)"""
    with os.scandir(directory) as entries:
        names = sorted(entry.name for entry in entries if entry.name.endswith(".py"))
    return [os.path.join(directory, name) for name in names]


def stamps(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[str, Stamp]] | None:
    """(path, stamp) of each file; None where one is missing or racy."""
    now = time.time_ns()
    taken: list[tuple[str, Stamp]] = []
    for path in paths:
        stamp = stamp_of(path)
        if stamp is None or racy(stamp, now):
            return None
        taken.append((str(path), stamp))
    return taken
