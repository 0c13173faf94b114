"""The server's file watcher: watchfiles (inotify through Rust's notify) over the root, bursts of
events grouped (`step_ms` of quiet ends a burst, `debounce_ms` caps it), node_modules, VCS folders
and the transform cache ignored, and each burst turned into Vite's change types per file:
`create`, `update` or `delete` (a rename is a delete of the old name and a create of the new)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Literal

from watchfiles import Change, DefaultFilter, awatch

ChangeType = Literal["create", "update", "delete"]
FileChange = tuple[ChangeType, str]
OnChanges = Callable[[list[FileChange]], Awaitable[object]]


def classify(events: Iterable[tuple[Change, str]], known: Callable[[str], bool]) -> list[FileChange]:
    """One change per file, in path order. A file that exists after the burst was created when it
    was added and is unknown to the module graphs, else updated (an editor's atomic save adds
    the file again over the old one); one that does not exist was deleted."""
    kinds: dict[str, set[Change]] = {}
    for change, path in events:
        kinds.setdefault(path, set()).add(change)
    out: list[FileChange] = []
    for path in sorted(kinds):
        if os.path.isdir(path):
            continue
        if not os.path.exists(path):
            out.append(("delete", path))
        elif Change.added in kinds[path] and not known(path):
            out.append(("create", path))
        else:
            out.append(("update", path))
    return out


class FileWatcher:
    def __init__(self, root: Path, on_changes: OnChanges, *, known: Callable[[str], bool] = lambda _: False,
                 ignore: Iterable[Path] = (), debounce_ms: int = 200, step_ms: int = 5) -> None:
        self.root = root
        self.on_changes = on_changes
        self.known = known
        self.filter = DefaultFilter(ignore_paths=[str(p) for p in ignore])
        self.debounce_ms = debounce_ms
        self.step_ms = step_ms
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> FileWatcher:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
            # The watch is set up once the generator has started: give it a turn so that a file
            # written right after start() is seen.
            await asyncio.sleep(0.05)
        return self

    async def _run(self) -> None:
        async for events in awatch(self.root, watch_filter=self.filter, debounce=self.debounce_ms,
                                   step=self.step_ms, stop_event=self._stop, recursive=True):
            changes = classify(events, self.known)
            if changes:
                await self.on_changes(changes)

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, timeout=5)
            self._task = None
