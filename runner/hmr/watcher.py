"""The server's file watcher over the root: on Linux inotify read by the event loop (inotify.py),
elsewhere watchfiles (Rust's notify, polled from a thread); bursts of events grouped (`step_ms` of
quiet ends a burst, `debounce_ms` caps it), node_modules, VCS folders and the transform cache
ignored, and each burst turned into Vite's change types per file: `create`, `update` or `delete`
(a rename is a delete of the old name and a create of the new).

Bursts are short so that a save reaches the runtimes within a millisecond or two (inotify: what
the kernel has reported when the loop wakes; watchfiles: 1 ms of quiet). A save seen as two bursts
(its truncation, then its write) is an empty file first (`settle` waits for the write), then an
event whose file is unchanged since the last pass, which hot_update skips."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Literal

from watchfiles import Change, DefaultFilter, awatch

try:
    from .inotify import InotifySource
except (ImportError, OSError):  # not Linux, or asyncinotify missing: watchfiles everywhere
    InotifySource = None  # type: ignore[assignment,misc]

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


async def settle(file: str, tries: int = 100, pause_s: float = 0.001) -> None:
    """An empty file may be a save caught between its truncation and its write: wait until it
    changes again, for at most 100 ms, as Vite's readModifiedFile does."""
    try:
        first = os.stat(file)
        if first.st_size:
            return
        for _ in range(tries):
            await asyncio.sleep(pause_s)
            now = os.stat(file)
            if (now.st_mtime_ns, now.st_size) != (first.st_mtime_ns, first.st_size):
                return
    except OSError:
        return  # gone: the next burst says so


class FileWatcher:
    def __init__(self, root: Path, on_changes: OnChanges, *, known: Callable[[str], bool] = lambda _: False,
                 ignore: Iterable[Path] = (), debounce_ms: int = 200, step_ms: int | None = None) -> None:
        self.root = root
        self.on_changes = on_changes
        self.known = known
        self.filter = DefaultFilter(ignore_paths=[str(p) for p in ignore])
        self.debounce_ms = debounce_ms
        self.step_ms = step_ms
        self._stop = asyncio.Event()
        self._source: InotifySource | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> FileWatcher:
        if self._task is None:
            if InotifySource is not None:
                with contextlib.suppress(OSError):  # out of inotify watches, say: watchfiles then
                    self._source = InotifySource(self.root)
            if self._source is not None:
                self._task = asyncio.ensure_future(self._run_inotify(self._source))
            else:
                self._task = asyncio.ensure_future(self._run_watchfiles())
                # The watch is set up once the generator has started: give it a turn so that a file
                # written right after start() is seen.
                await asyncio.sleep(0.05)
        return self

    async def _run_inotify(self, source: InotifySource) -> None:
        try:
            async for events in source.bursts(self.step_ms or 0, self.debounce_ms):
                await self._handle([e for e in events if self.filter(*e)])
        finally:
            await source.close()

    async def _run_watchfiles(self) -> None:
        async for events in awatch(self.root, watch_filter=self.filter, debounce=self.debounce_ms,
                                   step=self.step_ms or 1, stop_event=self._stop, recursive=True):
            await self._handle(events)

    async def _handle(self, events: Iterable[tuple[Change, str]]) -> None:
        changes = classify(events, self.known)
        if changes:
            await self.on_changes(changes)

    async def close(self) -> None:
        self._stop.set()
        if self._source is not None:
            self._source.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, timeout=5)
            self._task = None
