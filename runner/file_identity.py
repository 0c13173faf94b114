"""What a set of files holds, known without reading them: each file's path, size, inode, and
modification and change times. For keying what is built from our own sources (the runner bundle's
compiled code, the transform cache's salt) without reading and hashing them at every start.

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
from pathlib import Path

#: how long ago a file must have changed for its stamps to stand for its contents
RACY_S = 2.0

Stamp = tuple[str, int, int, int, int]


def settled_before(now_ns: int) -> int:
    """The latest modification or change time (ns) a file may have for its stamps to stand for its
    contents at `now_ns` (time.time_ns()): RACY_S seconds earlier."""
    return now_ns - int(RACY_S * 1e9)


def stamps(paths: Iterable[Path]) -> list[Stamp] | None:
    """(path, size, inode, mtime_ns, ctime_ns) of each file; None where one is missing or changed
    less than RACY_S seconds ago (or claims a time to come)."""
    settled = settled_before(time.time_ns())
    taken = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            return None
        if max(info.st_mtime_ns, info.st_ctime_ns) > settled:
            return None
        taken.append((str(path), info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns))
    return taken
