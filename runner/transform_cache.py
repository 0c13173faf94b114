"""The persistent transform cache: runner-format output on disk, keyed by a hash of the module's
id, its code after plugin transforms, the transform's own source and the installed parser.

It is one SQLite database (stdlib `sqlite3`) in WAL mode: concurrent runs read and write it
safely, and new entries are written together in one transaction — one file per module made
cold runs pay a file creation for every module, which on slow disks cost more than the
transform itself.

Two things spare a cold run work that only later runs profit from:
- a database that held no entry of this salt when this process opened it is not asked for entries
  it cannot hold (empty_at_open.py): only for those this process put itself, until another process
  is found to have written. Rows of other salts (another modrun version's) do not count: nothing
  asks for them;
- `flush_soon` writes in a thread (SQLite releases the GIL while it works), while the runtime
  compiles and runs what was fetched; anything that reads or writes the database first waits for
  it, and `flush` and `close` return only once it is on disk.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from .cache_database import open_database
from .empty_at_open import EmptyAtOpen
from .file_identity import stamps
from .rpc import wire

# The parser and its grammars: an upgrade (within the allowed versions) may parse differently.
_PARSER_PACKAGES = ("tree_sitter", "tree_sitter_javascript", "tree_sitter_typescript")
_FLUSH_EVERY = 256
#: hex digits at the start of a key that name its salt (transform_prune.py)
TAG = 8
#: a run that reads rows notes their salts' use when the note is older than this (transform_prune.py)
NOTE_EVERY_S = 3600


def tag_of(salt: bytes) -> str:
    return hashlib.sha256(salt).hexdigest()[:TAG]


@functools.cache
def _salt() -> bytes:
    return salt_of(Path(__file__).parent)


def _sources(here: Path) -> list[str]:
    """Every .py file under runner/transform (sorted), then transform_request.py: listed with
    os.scandir, which costs a start a third of what Path.rglob does."""
    found = []
    pending = [str(here / "transform")]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.name.endswith(".py") and entry.is_file():
                    found.append(entry.path)
                elif entry.name != "__pycache__" and entry.is_dir():
                    pending.append(entry.path)
    return [*sorted(found), str(here / "transform_request.py")]


@functools.cache
def _tag() -> str:
    return tag_of(_salt())


def salt_of(here: Path) -> bytes:
    """What transform output depends on besides its input: the transform's own sources (every
    file under runner/transform, and transform_request.py, which shapes the stored entry) and the
    installed parser. The sources are identified by their stamps where those stand for their
    contents (file_identity.py), so that a start need not read and hash them, else by their contents;
    the parser's files by name, size and modification time, not by importing them: a run whose
    transforms all come from the cache never loads the parser."""
    digest = hashlib.sha256(b"modrun-transform-v2")
    sources = _sources(here)
    taken = stamps(sources)
    if taken is not None:
        digest.update(b"\0stamps\0" + repr(taken).encode())  # a NUL first: never a path's bytes
    else:
        for path in map(Path, sources):
            digest.update(path.relative_to(here).as_posix().encode())
            digest.update(path.read_bytes())
    for package in _PARSER_PACKAGES:
        spec = importlib.util.find_spec(package)
        for directory in (spec.submodule_search_locations or []) if spec is not None else []:
            for entry in sorted(os.scandir(directory), key=lambda e: e.name):
                if entry.is_file():
                    info = entry.stat()
                    digest.update(f"{package}/{entry.name}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.digest()


class TransformCache:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.hits = 0
        self.misses = 0
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[str, bytes]] = []
        self._pending_stamped: list[tuple[str, bytes]] = []
        self._broken = directory is None
        self._fresh: EmptyAtOpen | None = None  # once opened: is it empty of this salt's keys
        self._read: set[str] = set()  # the salts' tags of the rows read
        self._looked: set[str] = set()  # those of them whose notes were looked at
        self._writer: threading.Thread | None = None  # a write under way (flush_soon)

    @property
    def path(self) -> Path | None:
        return None if self.directory is None else self.directory / "transforms.sqlite"

    @staticmethod
    def key(id: str, code: str) -> str:
        """64 hex digits: the salt's tag (transform_prune.py), then the hash of salt, id and code."""
        digest = hashlib.sha256(_salt())
        digest.update(id.encode())
        digest.update(b"\0")
        digest.update(code.encode("utf-8", "surrogatepass"))
        return _tag() + digest.hexdigest()[TAG:]

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None and not self._broken:
            try:
                assert self.directory is not None and self.path is not None
                self.directory.mkdir(parents=True, exist_ok=True)
                # stamped: key -> an entry's key (64 hex digits) and the source's hash (transform_stamps.py)
                db = open_database(self.path, 10, ("transforms (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
                                                   "stamped (key TEXT PRIMARY KEY, value BLOB NOT NULL)"))
                self._fresh = EmptyAtOpen(db, "transforms", _tag())
                self._fresh.note(key for key, _ in self._pending)
                self._fresh.note(key for key, _ in self._pending_stamped)
                self._db = db
            except (OSError, sqlite3.Error):
                self._broken = True  # a cache that cannot be opened is only slower
        return self._db

    def empty(self) -> bool:
        """Nothing in it for this process to read: no database, or one empty when opened that no other
        process has written to since (a cold import: runner/prefetch.py)."""
        return self._connect() is None or self._fresh is not None and self._fresh.empty

    def _ready(self, key: str) -> sqlite3.Connection | None:
        """The database to look `key` up in, once a write under way is done; None where it cannot
        hold the key."""
        db = self._connect()
        if db is None or self._fresh is None or not self._fresh.may_hold(key):
            return None
        self._wait()
        return db

    def get(self, key: str) -> dict[str, Any] | None:
        db = self._ready(key)
        if db is None:
            self.misses += 1
            return None
        try:
            row = db.execute("SELECT value FROM transforms WHERE key = ?", (key,)).fetchone()
            value = wire.loads(row[0]) if row else None
        except (sqlite3.Error, ValueError):
            value = None
        if isinstance(value, dict):
            self.hits += 1
            self._read.add(key[:TAG])
            return value
        self.misses += 1
        return None

    def get_stamped(self, key: str, stamp: str) -> tuple[dict[str, Any], str] | None:
        """The entry a `stamped` row names, and the source hash the row holds, where the row is of
        this file stamp (transform_stamps.py). A row's value: the entry's key, the source's hash
        (40 hex digits), the stamp."""
        db = self._ready(key)
        if db is None:
            return None
        try:
            row = db.execute("SELECT t.value, s.value FROM stamped AS s JOIN transforms AS t "
                             "ON t.key = CAST(substr(s.value, 1, 64) AS TEXT) "
                             "WHERE s.key = ? AND substr(s.value, 105) = ?", (key, stamp.encode())).fetchone()
            value = wire.loads(row[0]) if row else None
        except (sqlite3.Error, ValueError):
            value = None
        if not isinstance(value, dict):
            return None
        self.hits += 1
        self._read.add(key[:TAG])
        self._read.add(row[1][:TAG].decode())  # its entry's
        return value, row[1][64:104].decode()

    def put_stamped(self, key: str, stamp: str, entry_key: str, source_hash: str) -> None:
        if self._broken:
            return
        self._pending_stamped.append((key, (entry_key + source_hash + stamp).encode()))
        if self._fresh is not None:
            self._fresh.note((key,))

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.put_encoded(key, orjson.dumps(value))

    def put_encoded(self, key: str, value: bytes) -> None:
        """`put` of an entry already encoded (as the transform worker answers)."""
        if self._broken:
            return
        self._pending.append((key, value))
        if self._fresh is not None:
            self._fresh.note((key,))
        if len(self._pending) >= _FLUSH_EVERY:
            self.flush_soon()

    def flush(self) -> None:
        """Write what was added since the last flush, in one transaction; return once it is written."""
        self._wait()
        self._write(*self._taken())

    def flush_soon(self) -> None:
        """Start writing what was added since the last flush, in a thread (unless a write is under way:
        the next flush takes it)."""
        if self._writer is not None and not self._writer.is_alive():
            self._wait()
        if self._writer is not None or (not self._pending and not self._pending_stamped):
            return
        self._connect()
        self._writer = threading.Thread(target=self._write, args=self._taken(), name="modrun-transform-cache")
        self._writer.start()

    def _wait(self) -> None:
        if self._writer is not None:
            self._writer.join()
            self._writer = None

    def _taken(self) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]], list[str]]:
        """What to write (with no write under way): the new rows, and the salts read to note."""
        taken = self._pending, self._pending_stamped, self._stale_notes()
        self._pending, self._pending_stamped = [], []
        return taken

    def _write(self, pending: list[tuple[str, bytes]], stamped: list[tuple[str, bytes]], read: list[str]) -> None:
        if not pending and not stamped and not read:
            return
        db = self._connect()
        if db is None:
            return
        from .transform_prune import note_salts, shrink  # (only a run that writes needs it)

        try:
            db.execute("BEGIN IMMEDIATE")
            assert self._fresh is not None
            self._fresh.writing(db)
            db.executemany("INSERT OR REPLACE INTO transforms (key, value) VALUES (?, ?)", pending)
            db.executemany("INSERT OR REPLACE INTO stamped (key, value) VALUES (?, ?)", stamped)
            written = [key for key, _ in pending] + [key for key, _ in stamped]
            # A run that only read notes the salts it read, and never prunes: warm runs stay reads.
            pruned = note_salts(db, written + read, prune=bool(written))
            db.execute("COMMIT")
            if pruned:
                shrink(db)
        except sqlite3.Error:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def _stale_notes(self) -> list[str]:
        """The tags of the salts this process read rows of whose use was noted over NOTE_EVERY_S ago (or
        never): so that rows warm runs keep reading are not pruned as unused (transform_prune.py). Each
        tag is looked at once per process."""
        if self._db is None or self._read <= self._looked:
            return []
        tags = sorted(self._read - self._looked)
        self._looked.update(tags)
        try:
            marks = ",".join("?" * len(tags))
            noted = dict(self._db.execute(f"SELECT tag, used FROM salts WHERE tag IN ({marks})", tags).fetchall())
        except sqlite3.Error:  # no salts yet: a database from before pruning
            noted = {}
        since = time.time() - NOTE_EVERY_S
        return [tag for tag in tags if noted.get(tag, 0.0) < since]

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None
