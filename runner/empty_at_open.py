"""A cache database that held no row (of the keys this process makes) when this process opened it is
not asked for rows it cannot hold: a cold run pays no lookups that only later runs profit from. It is
asked only for the keys this process wrote, until another process is found to have written (SQLite's
`data_version` changed, seen at this process's next write), when every lookup asks again. Another
process's rows written meanwhile are only missed (made again), never wrong. Used by the transform
cache (transform_cache.py) and the compiled-code store (evaluators/code_store.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


class EmptyAtOpen:
    def __init__(self, db: sqlite3.Connection, table: str, prefix: str | bytes = "") -> None:
        """`prefix`: the start of every key this process makes (text keys, or blobs of under 64 bytes past
        it), so that rows another version left (another salt, another engine build) do not turn the
        shortcut off; they can never be asked for."""
        high = prefix + "\U0010ffff" if isinstance(prefix, str) else prefix + b"\xff" * 64
        where, bounds = (" WHERE key >= ? AND key < ?", (prefix, high)) if prefix else ("", ())
        self.empty = db.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {table}{where})", bounds).fetchone()[0] == 1
        self._version = db.execute("PRAGMA data_version").fetchone()[0]
        self._own: set[Hashable] = set()  # while empty: the keys this process wrote (or is writing)

    def may_hold(self, key: Hashable) -> bool:
        return not self.empty or key in self._own

    def held(self, keys: Sequence[K]) -> Sequence[K]:
        """Those of `keys` worth asking for."""
        return keys if not self.empty else [key for key in keys if key in self._own]

    def note(self, keys: Iterable[Hashable]) -> None:
        """These keys are (or are about to be) this process's writes."""
        if self.empty:
            self._own.update(keys)

    def writing(self, db: sqlite3.Connection) -> None:
        """In each write transaction, before its writes: has another process written since the open?"""
        if self.empty and db.execute("PRAGMA data_version").fetchone()[0] != self._version:
            self.empty = False  # its rows are worth asking for
            self._own.clear()
