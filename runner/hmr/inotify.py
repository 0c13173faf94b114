"""The watcher's Linux source: inotify through asyncinotify, its file descriptor read by the event
loop itself, so a save is seen as soon as the kernel reports it (watchfiles polls from a thread in
steps of at least a millisecond, then hands the burst over to the loop: 2-3 ms before anything runs).

Every folder under the root is watched (folders created later too, by RecursiveInotify); what the
watcher ignores is filtered afterwards, as with watchfiles. Events read as watchfiles' change kinds."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from asyncinotify import Mask, RecursiveInotify
from watchfiles import Change

MASK = (Mask.CREATE | Mask.MODIFY | Mask.ATTRIB | Mask.CLOSE_WRITE | Mask.DELETE | Mask.MOVED_FROM | Mask.MOVED_TO
        | Mask.DELETE_SELF)
ADDED = Mask.CREATE | Mask.MOVED_TO
DELETED = Mask.DELETE | Mask.MOVED_FROM | Mask.DELETE_SELF


class InotifySource:
    def __init__(self, root: Path) -> None:
        self._inotify = RecursiveInotify()
        try:
            self._inotify.add_recursive_watch(root, MASK)  # at once: a file written right after start() is seen
        except BaseException:
            self._inotify.close()
            raise
        self._pending: list[tuple[Change, str]] = []
        self._arrived = asyncio.Event()
        self._stopped = False
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        # The only reader of the descriptor, never cancelled mid-read but at close: no event is lost
        # between bursts.
        while True:
            try:
                event = await self._inotify.get()
            except (ValueError, FileNotFoundError, NotADirectoryError):
                continue  # a folder that went before its watch was added: nothing in it to see
            if event.path is None or Mask.IGNORED in event.mask:
                continue
            kind = Change.added if event.mask & ADDED else Change.deleted if event.mask & DELETED else Change.modified
            self._pending.append((kind, str(event.path)))
            if Mask.ISDIR in event.mask and kind == Change.added:
                # RecursiveInotify (4.4) watches a new folder for folder events only: watched again
                # with the full mask (the same watch, its mask replaced). Files made in it before
                # (mkdir -p a/b && cp …, a folder moved in) have no events of their own.
                with contextlib.suppress(ValueError, FileNotFoundError, NotADirectoryError):
                    self._inotify.add_recursive_watch(event.path, MASK)
                self._pending += [(Change.added, os.path.join(folder, name))
                                  for folder, _, names in os.walk(event.path) for name in names]
            self._arrived.set()

    async def bursts(self, quiet_ms: int, max_ms: int) -> AsyncIterator[list[tuple[Change, str]]]:
        """Each burst: what arrived until `quiet_ms` passed without an event (0: what the kernel had
        reported when the loop woke), at most `max_ms` after its first event."""
        loop = asyncio.get_running_loop()
        while True:
            await self._arrived.wait()
            if self._stopped:
                return
            ends = loop.time() + max_ms / 1000
            await asyncio.sleep(0)  # the rest of a save's events, already readable
            while quiet_ms > 0 and loop.time() < ends:
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), quiet_ms / 1000)
                except TimeoutError:
                    break
            self._arrived.clear()
            burst, self._pending = self._pending, []
            yield burst

    def stop(self) -> None:
        """End `bursts` (between bursts: one being handled is handled to the end)."""
        self._stopped = True
        self._arrived.set()

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        self._inotify.close()
