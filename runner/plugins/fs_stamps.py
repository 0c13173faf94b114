"""What resolutions were read from, for a server that does not watch its files: the stamps of the
directories whose entries a resolution looked at (a file that appears or goes changes its directory's
modification time) and of the package.json files it read.

A remembered resolution is used again only while those stamps are unchanged. Each path is stat'ed at
most once per epoch; the environment starts an epoch at each import (Environment.begin_import), so a
resolution costs a few dictionary lookups, and a directory a stat per import, however many modules
it holds. The change time is part of a stamp: it cannot be set back, as a modification time can
(`touch -d`, npm's fixed times in unpacked packages). A server that watches its files forgets its
resolutions on the watcher's events instead.
"""

from __future__ import annotations

from ..file_identity import Stamp, stamp_of

__all__ = ["FileStamps", "Stamp", "stamp_of"]  # the stamp's shape is file_identity's, named here too


class FileStamps:
    def __init__(self) -> None:
        self._now: dict[str, Stamp] = {}

    def of(self, path: str) -> Stamp:
        """(mtime_ns, ctime_ns, size, inode) of `path` as this epoch first saw it; None where nothing is."""
        try:
            return self._now[path]
        except KeyError:
            pass
        stamp = self._now[path] = stamp_of(path)
        return stamp

    def taken(self, paths: list[str]) -> tuple[tuple[str, Stamp], ...]:
        return tuple((path, self.of(path)) for path in dict.fromkeys(paths))

    def unchanged(self, taken: tuple[tuple[str, Stamp], ...]) -> bool:
        of = self.of
        for path, stamp in taken:
            if of(path) != stamp:
                return False
        return True

    def new_epoch(self) -> None:
        """Files may have changed since: each path is stat'ed again when next asked about."""
        self._now.clear()
