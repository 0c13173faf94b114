"""Pruning the transform cache: the rows no current key can reach.

Every key of the cache's two tables begins with the tag of the salt it was made under (the
transform's own sources and the parser for `transforms`, and besides them the built-in plugins'
sources and `define` for `stamped`: transform_cache.py, transform_stamps.py). Another modrun
version, an edited transform, other options: another salt, and rows that nothing asks for again.
(A `stamped` row holds one file's latest stamp, replaced when the file changes, so old stamps
leave no rows behind.)

A process that writes rows notes their salts' tags with the time, in the same transaction; at most
once every PRUNE_EVERY_S, that transaction also deletes the rows of every salt nobody used for
KEEP_S. A process that only reads rows (a warm run) notes their salts where their note is older than
transform_cache.NOTE_EVERY_S (an hour): a write at most once an hour, in place of a write per run, and
it never prunes. So a salt read at least once every KEEP_S less an hour keeps its rows.
"""

from __future__ import annotations

import sqlite3
import time

from .transform_cache import TAG

PRUNE_EVERY_S = 3600
KEEP_S = 86400
#: the `salts` row whose time is the last prune's
_PRUNED = ""


def note_salts(db: sqlite3.Connection, keys: list[str], now: float | None = None, prune: bool = True) -> bool:
    """Within the writing transaction: the salts of `keys` (or tags) are in use; with `prune`, prune
    if it is time to (answers whether it did)."""
    now = time.time() if now is None else now
    db.execute("CREATE TABLE IF NOT EXISTS salts (tag TEXT PRIMARY KEY, used REAL NOT NULL)")
    db.executemany("INSERT OR REPLACE INTO salts (tag, used) VALUES (?, ?)",
                   [(tag, now) for tag in {key[:TAG] for key in keys}])
    row = db.execute("SELECT used FROM salts WHERE tag = ?", (_PRUNED,)).fetchone()
    if row is None:  # a database new to pruning: its first prune comes a while after its first write
        db.execute("INSERT INTO salts (tag, used) VALUES (?, ?)", (_PRUNED, now))
    elif prune and row[0] <= now - PRUNE_EVERY_S:
        prune_salts(db, now)
        return True
    return False


def prune_salts(db: sqlite3.Connection, now: float) -> None:
    """Delete the rows of salts not noted for KEEP_S, and `stamped` rows whose entry is gone."""
    db.execute("DELETE FROM salts WHERE tag != ? AND used < ?", (_PRUNED, now - KEEP_S))
    kept = f"substr(key, 1, {TAG}) IN (SELECT tag FROM salts)"
    db.execute(f"DELETE FROM transforms WHERE NOT {kept}")
    db.execute(f"DELETE FROM stamped WHERE NOT {kept}")
    db.execute("DELETE FROM stamped WHERE CAST(substr(value, 1, 64) AS TEXT) NOT IN (SELECT key FROM transforms)")
    db.execute("UPDATE salts SET used = ? WHERE tag = ?", (now, _PRUNED))


def shrink(db: sqlite3.Connection) -> None:
    """After a prune, outside any transaction: give the file's free pages back where they are most
    of it (they would be reused, but the file would keep its size)."""
    try:
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        if free * 2 > db.execute("PRAGMA page_count").fetchone()[0]:
            db.execute("VACUUM")
    except sqlite3.Error:
        pass  # busy: the next prune tries again
