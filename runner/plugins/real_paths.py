"""Real paths (links followed) of resolved files, which are module ids: one module per file
however it is reached (pnpm's symlinked layout, a linked workspace package).

`os.path.realpath` reads every component of the path (an lstat each, a dozen for a file deep in
node_modules) on every resolution. Most modules share their directory with others, so each
directory's real path is kept, and a file then costs one lstat (is it a link itself?), once: its answer is
kept too (a file is reached from each of its importers, and checked to lie inside the root). Kept until
`clear()`: the environment clears it with its remembered resolutions, when files appear or go.
"""

from __future__ import annotations

import os
import stat


class RealPaths:
    def __init__(self) -> None:
        self._directories: dict[str, str] = {}
        self._files: dict[str, str] = {}

    def of(self, path: str) -> str:
        """The real path of the file at `path` (absolute)."""
        known = self._files.get(path)
        if known is not None:
            return known
        normal = os.path.normpath(path)
        real = self._files[path] = os.path.realpath(normal) if os.path.islink(normal) else self._beside(normal)
        return real

    def file(self, path: str) -> str | None:
        """`of(path)` where a file is at `path` (absolute and normalized; links followed, as
        os.path.isfile), else None. Where the file is no link, one lstat tells both, where asking
        isfile and then `of` took a stat and an lstat: a resolver probes a file per resolution."""
        try:
            mode = os.lstat(path).st_mode
        except (OSError, ValueError):
            return None
        if stat.S_ISLNK(mode):
            return self.of(path) if os.path.isfile(path) else None
        if not stat.S_ISREG(mode):
            return None
        known = self._files.get(path)
        if known is None:
            known = self._files[path] = self._beside(path)
        return known

    def _beside(self, normal: str) -> str:
        """The real path of a file that is no link: its directory's real path, then its name."""
        directory, name = os.path.split(normal)
        real_directory = self._directories.get(directory)
        if real_directory is None:
            real_directory = self._directories[directory] = os.path.realpath(directory)
        return os.path.join(real_directory, name)

    def clear(self) -> None:
        self._directories.clear()
        self._files.clear()
