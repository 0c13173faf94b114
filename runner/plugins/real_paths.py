"""Real paths (links followed) of resolved files, which are module ids: one module per file
however it is reached (pnpm's symlinked layout, a linked workspace package).

`os.path.realpath` reads every component of the path (an lstat each, a dozen for a file deep in
node_modules) on every resolution. Most modules share their directory with others, so each
directory's real path is kept, and a file then costs one lstat (is it a link itself?). Kept until
`clear()`: the environment clears it with its remembered resolutions, when files appear or go.
"""

from __future__ import annotations

import os


class RealPaths:
    def __init__(self) -> None:
        self._directories: dict[str, str] = {}

    def of(self, path: str) -> str:
        """The real path of the file at `path` (absolute)."""
        path = os.path.normpath(path)
        if os.path.islink(path):
            return os.path.realpath(path)
        directory, name = os.path.split(path)
        real = self._directories.get(directory)
        if real is None:
            real = self._directories[directory] = os.path.realpath(directory)
        return os.path.join(real, name)

    def clear(self) -> None:
        self._directories.clear()
