"""A cache's database (runner/cache_database.py): a new file is made in WAL mode with its tables, and is
left with commits that are not synced and checkpoints that are (synchronous=NORMAL), as an existing one
is opened; what it holds is there for the next connection, another process's."""

from __future__ import annotations

import contextlib
import sqlite3

from runner.cache_database import open_database

TABLES = ("rows (key TEXT PRIMARY KEY, value BLOB NOT NULL)", "notes (key TEXT PRIMARY KEY)")


def _settings(db: sqlite3.Connection) -> tuple[str, int, list[str]]:
    names = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return db.execute("PRAGMA journal_mode").fetchone()[0], db.execute("PRAGMA synchronous").fetchone()[0], names


def test_a_new_database_is_made_in_wal_mode_and_left_at_normal_sync(tmp_path):
    path = tmp_path / "cache.sqlite"
    with contextlib.closing(open_database(path, 1, TABLES)) as db:
        assert _settings(db) == ("wal", 1, ["notes", "rows"])  # 1: NORMAL
        db.execute("INSERT INTO rows VALUES ('a', x'01')")
    with contextlib.closing(sqlite3.connect(path)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # the file's own mode
        assert other.execute("SELECT key, value FROM rows").fetchall() == [("a", b"\x01")]


def test_an_existing_database_keeps_its_rows_and_gains_missing_tables(tmp_path):
    path = tmp_path / "cache.sqlite"
    with contextlib.closing(open_database(path, 1, TABLES[:1])) as db:
        db.execute("INSERT INTO rows VALUES ('a', x'01')")
    with contextlib.closing(open_database(path, 1, TABLES)) as db:
        assert _settings(db) == ("wal", 1, ["notes", "rows"])
        assert db.execute("SELECT key FROM rows").fetchall() == [("a",)]
