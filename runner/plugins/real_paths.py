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
        if os.path.islink(normal):
            real = os.path.realpath(normal)
        else:
            directory, name = os.path.split(normal)
            real_directory = self._directories.get(directory)
            if real_directory is None:
                real_directory = self._directories[directory] = os.path.realpath(directory)
            real = os.path.join(real_directory, name)
        self._files[path] = real
        return real

    def clear(self) -> None:
        self._directories.clear()
        self._files.clear()
