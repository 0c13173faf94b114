"""A cache's SQLite database (the transform cache, transform_cache.py; the compiled-code store,
evaluators/code_store.py), opened in WAL mode with its tables made where missing.

A database file is made without syncs. Making one (a cold run makes both) is SQLite's switch to WAL, a
rollback-journal transaction, then the WAL's first header: with syncs, five or six of them, the first of
which waits for the file system to commit its journal, with whatever other processes left in it (a
deleted cache directory, other writes): 1 to 30 ms per database here, on the cold run's critical path.
Once made it runs with `synchronous=NORMAL`, as before: commits unsynced, checkpoints synced. What a
power cut could cost in the moment after a file is made is that file, a cache rebuilt by later runs
(its rows are checked where they are read: a MAC for compiled code, the JSON of transforms).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path


def open_database(path: Path, timeout: float, tables: Iterable[str]) -> sqlite3.Connection:
    """The database at `path` (made if missing), in WAL mode, with `tables` (each `name (columns)`)."""
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA synchronous=OFF")  # while a new file is made (the module's docstring)
        db.execute("PRAGMA journal_mode=WAL")
        for table in tables:
            db.execute(f"CREATE TABLE IF NOT EXISTS {table}")
        db.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        db.close()
        raise
    return db
