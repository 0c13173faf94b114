"""Compiled module code on disk, authenticated: the wrappers' bytecode kept beside the transform
cache (code.sqlite in its directory, node_modules/.modrun by default), so that a fresh process,
the command line's, does not compile them again. compiled_code.py says what trusting it means.

One SQLite table in WAL mode, as transforms.sqlite: a row per (engine build, wrapper source),
keyed by a tag of the build (so that its rows can be told from another build's: `has_rows`) and
SHA-256 of the build and of the source, holding the bytecode and an HMAC-SHA256 over
(build, source digest, bytecode) under the user's key (code_key.py). A row is handed out only
when its MAC verifies against the source asked for; any other row is deleted at the next write
and the wrapper compiled again. New rows are written together, one transaction per batch of
compile requests, in a thread where the process waits for it before it ends (runner/exit_waits.py:
`modrun run`), so that a cold run's signing and writing is not on its critical path. The table is kept
under the code cache's bound, the oldest rows out first. A table that held no row of a build when this
process first asked for one is not asked for that build's rows it cannot hold (runner/empty_at_open.py):
other builds' rows (the other evaluator's, an older binary's) are never an answer. A source looked up in
vain keeps its digests for when its bytecode is added. A
second table remembers the in-process engine's build digest under its binary's identity (hashing 8 MB
on every start would cost more than the lookups), authenticated the same way; so does a file per
binary in the user's directory beside the key (`builds/`), so that a run without a cache directory yet,
a cold one, does not hash the binary either (15-20 ms); a file is added per binary (a new install, a
new virtual environment), so only the newest KEPT_BUILDS are kept.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import sqlite3
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

from runner.cache_database import open_database
from runner.empty_at_open import EmptyAtOpen
from runner.exit_waits import leave

from .code_key import KeyRefused, key_path, load_key

FILE_NAME = "code.sqlite"
_CHUNK = 500  # rows per SELECT: under SQLite's limit on bound parameters
TAG = 4  # bytes of a key that name its build (_tag)
_MMAP_BYTES = 256 * 1024 * 1024
#: files kept in the user's `builds/`, the newest written. One binary's first run evicts the oldest (which
#: may still be in use: its next run without a store hashes it again, once), so the bound is well above
#: the binaries one machine runs in a while (a day of several worktrees and their tools made 25 here).
KEPT_BUILDS = 64


def _digest(build: str, source: str) -> tuple[bytes, bytes]:
    """The row's key (its build's tag, then the digest of build and source) and the source's digest."""
    source_digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).digest()
    return _tag(build) + hashlib.sha256(build.encode() + b"\0" + source_digest).digest()[TAG:], source_digest


@functools.cache
def _tag(build: str) -> bytes:
    """The first bytes of every key of this build's rows: `has_rows` asks for the build's rows alone."""
    return hashlib.sha256(build.encode()).digest()[:TAG]


class CodeStore:
    def __init__(self, path: Path, key: bytes, max_bytes: int, user_directory: Path | None = None) -> None:
        self.path = path
        self._builds = None if user_directory is None else user_directory / "builds"  # per binary, for all projects
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self.rejected = 0  # rows whose MAC did not verify
        self._key = key
        self._lock = threading.Lock()  # the database, and what `_fresh` holds
        self._pending_lock = threading.Lock()  # what is to be written: `_pending`, `_drop`, `_digests`
        self._pending: list[tuple[str, str, bytes, tuple[bytes, bytes] | None]] = []  # build, source, code, digests
        self._rows: set[str] = set()  # the builds the table was found to hold rows of (it is never emptied)
        self._drop: list[bytes] = []
        self._digests: dict[tuple[str, str], tuple[bytes, bytes]] = {}  # (build, source) looked up in vain
        self._writer: threading.Thread | None = None  # the last write left to a thread (`flush`)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Another run writing: wait a little, then leave the rows uncached rather than hold this run up.
        self._db = open_database(path, 0.5, ("code (key BLOB PRIMARY KEY, mac BLOB NOT NULL, code BLOB NOT NULL)",
                                             "builds (file TEXT PRIMARY KEY, build TEXT NOT NULL, mac BLOB NOT NULL)"))
        self._db.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")  # rows read in place: a warm run reads them all
        # per build: did the table hold none of its rows when first asked (empty_at_open.py; keyed by source)
        self._fresh: dict[str, EmptyAtOpen | None] = {}

    def _sign(self, message: bytes) -> bytes:
        """HMAC-SHA256 under the user's key: of a row (`_mac`) and of a remembered build (`_build_mac`)."""
        return hmac.digest(self._key, message, "sha256")

    def _mac(self, build: str, source_digest: bytes, code: bytes) -> bytes:
        return self._sign(build.encode() + b"\0" + source_digest + code)

    def build_of(self, file: str, compute: Callable[[], str]) -> str:
        """The engine build of the binary `file` names (its path, size, modification time and inode):
        hashing a binary of megabytes on every start costs more than the lookups it keys, so it is
        remembered, authenticated as code is (a planted build would make rows of another engine
        readable)."""
        with self._lock:
            try:
                row = self._db.execute("SELECT build, mac FROM builds WHERE file = ?", (file,)).fetchone()
            except sqlite3.Error:
                row = None
        if row is not None:
            build, mac = row
            if hmac.compare_digest(self._build_mac(file, build), bytes(mac)):
                return str(build)
        build = self._remembered_build(file)
        if build is None:
            build = compute()
            self._remember_build(file, build)
        with self._lock:
            try:
                self._db.execute("INSERT OR REPLACE INTO builds (file, build, mac) VALUES (?, ?, ?)",
                                 (file, build, self._build_mac(file, build)))
            except sqlite3.Error:
                pass
        return build

    def _build_file(self, file: str) -> Path | None:
        if self._builds is None:
            return None
        return self._builds / hashlib.sha256(file.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def _remembered_build(self, file: str) -> str | None:
        """The build the user's directory holds for the binary `file` names, if its MAC verifies."""
        path = self._build_file(file)
        if path is None:
            return None
        try:
            build, _, mac = path.read_text(encoding="utf-8").rpartition("\n")
            if hmac.compare_digest(self._build_mac(file, build), bytes.fromhex(mac)):
                return build
        except (OSError, ValueError):
            pass
        return None

    def _remember_build(self, file: str, build: str) -> None:
        path = self._build_file(file)
        if path is None:
            return
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(f"{build}\n{self._build_mac(file, build).hex()}")
            os.replace(temporary, path)  # whole or not at all
        except OSError:
            temporary.unlink(missing_ok=True)  # only the next cold run hashes the binary again
            return
        self._prune_builds(path.parent)

    @staticmethod
    def _prune_builds(directory: Path) -> None:
        """Keep the KEPT_BUILDS newest files (by modification time, the write that made them)."""
        try:
            with os.scandir(directory) as entries:
                files = [(entry.stat().st_mtime_ns, entry.path) for entry in entries
                         if not entry.name.startswith(".") and entry.is_file(follow_symlinks=False)]
            for _, old in sorted(files)[:-KEPT_BUILDS]:
                Path(old).unlink(missing_ok=True)  # (another run may be pruning too)
        except OSError:  # left for the next binary's first run
            pass

    def _build_mac(self, file: str, build: str) -> bytes:
        return self._sign(b"build\0" + file.encode("utf-8", "surrogatepass") + b"\0" + build.encode())

    def get_many(self, build: str, sources: list[str]) -> dict[str, bytes]:
        """The verified bytecode of those sources the store holds for this build."""
        with self._lock:
            fresh = self._fresh_of(build)
        asked = sources if fresh is None else fresh.held(sources)
        wanted = {}
        for source in asked:
            key, source_digest = _digest(build, source)
            wanted[key] = (source, source_digest)
        found: dict[str, bytes] = {}
        rows = []
        if wanted:
            with self._lock:
                keys = list(wanted)
                try:
                    for start in range(0, len(keys), _CHUNK):
                        chunk = keys[start:start + _CHUNK]
                        marks = ",".join("?" * len(chunk))
                        query = f"SELECT key, mac, code FROM code WHERE key IN ({marks})"
                        rows += self._db.execute(query, chunk).fetchall()
                except sqlite3.Error:
                    rows = []
        rejected = []
        for key, mac, code in rows:
            source, source_digest = wanted[bytes(key)]
            if hmac.compare_digest(self._mac(build, source_digest, bytes(code)), bytes(mac)):
                found[source] = bytes(code)
            else:  # planted, copied, damaged or made under another key: never read
                rejected.append(bytes(key))
        with self._pending_lock:
            self._drop += rejected
            for key, (source, source_digest) in wanted.items():
                if source not in found:
                    self._digests[build, source] = key, source_digest
        self.rejected += len(rejected)
        self.hits += len(found)
        self.misses += len(sources) - len(found)
        return found

    def _fresh_of(self, build: str) -> EmptyAtOpen | None:
        """(With `_lock` held.) Whether the table held none of this build's rows when first asked, the
        rows this process wrote since; None where that could not be read (every source is asked for)."""
        if build not in self._fresh:
            try:
                self._fresh[build] = EmptyAtOpen(self._db, "code", _tag(build))
            except sqlite3.Error:
                self._fresh[build] = None
        return self._fresh[build]

    def has_rows(self, build: str) -> bool:
        """Does the table hold any row of this build (asked again until it does)? Rows of another
        engine build (the other evaluator's, an older binary's) are no answer to this build's keys."""
        if build not in self._rows:
            tag = _tag(build)
            with self._lock:
                try:
                    query = "SELECT EXISTS (SELECT 1 FROM code WHERE key >= ? AND key < ?)"
                    if self._db.execute(query, (tag, tag + b"\xff" * 32)).fetchone()[0] == 1:
                        self._rows.add(build)
                except sqlite3.Error:
                    pass
        return build in self._rows

    def add(self, build: str, source: str, code: bytes) -> None:
        """Keep bytecode this process's own engine compiled from `source`; written at `flush`."""
        with self._pending_lock:
            self._pending.append((build, source, code, self._digests.pop((build, source), None)))

    def flush(self) -> None:
        """Write the new rows and delete the rejected ones, in one transaction; then keep to the bound.
        In a process that waits for it before it ends (runner/exit_waits.py), in a thread, while the
        runtime goes on (signing and writing a cold run's rows is a few percent of it); else now."""
        with self._pending_lock:
            self._digests.clear()  # of sources not compiled (a syntax error): not kept for ever
            if not self._pending and not self._drop:
                return
            pending, self._pending = self._pending, []
            drop, self._drop = self._drop, []
        for build in {build for build, _, _, _ in pending}:
            fresh = self._fresh.get(build)
            if fresh is not None:  # asked for from now on (lookups wait for the write: `_lock`)
                fresh.note(source for row_build, source, _, _ in pending if row_build == build)
        # each write after the one before it: rows are written in the order they were added
        writer = threading.Thread(target=self._write, args=(self._writer, pending, drop), name="modrun-code-store")
        if leave(writer):
            self._writer = writer
        else:
            self._write(None, pending, drop)

    def _write(self, before: threading.Thread | None, pending: list[tuple[str, str, bytes, tuple[bytes, bytes] | None]],
               drop: list[bytes]) -> None:
        rows = []
        for build, source, code, digests in pending:
            key, source_digest = digests if digests is not None else _digest(build, source)
            rows.append((key, self._mac(build, source_digest, code), code))
        if before is not None:
            before.join()
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for fresh in self._fresh.values():
                    if fresh is not None:
                        fresh.writing(self._db)
                self._db.executemany("DELETE FROM code WHERE key = ?", [(key,) for key in drop])
                self._db.executemany("INSERT OR REPLACE INTO code (key, mac, code) VALUES (?, ?, ?)", rows)
                if rows:
                    self._trim()
                self._db.execute("COMMIT")
            except sqlite3.Error:  # busy or unwritable: the rows are only not cached
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass

    def _trim(self) -> None:
        total = self._db.execute("SELECT COALESCE(SUM(length(key) + length(mac) + length(code)), 0) "
                                 "FROM code").fetchone()[0]
        if total <= self.max_bytes:
            return
        excess, oldest = total - self.max_bytes, []
        for rowid, size in self._db.execute("SELECT rowid, length(key) + length(mac) + length(code) FROM code "
                                            "ORDER BY rowid"):
            if excess <= 0:
                break
            oldest.append((rowid,))
            excess -= size
        self._db.executemany("DELETE FROM code WHERE rowid = ?", oldest)

    def close(self) -> None:
        self.flush()
        if self._writer is not None:
            self._writer.join()
        with self._lock:
            self._db.close()


_stores: dict[str, CodeStore | None] = {}
_stores_lock = threading.Lock()
refusals: dict[str, str] = {}  # directory -> why its store is off


@functools.cache
def warn_refusal(reason: str) -> None:
    """Say once why compiled code stays in memory (also for a reason a worker process reported)."""
    warnings.warn(f"compiled code is not cached on disk: {reason}", RuntimeWarning, stacklevel=3)


def open_store(directory: str | None, max_bytes: int) -> CodeStore | None:
    """The process's store for this cache directory, or None when compiled code stays in memory: no
    directory, a bound of 0, or a key or database that cannot be used (the reason in `refusals`,
    and warned about once)."""
    if directory is None or max_bytes <= 0:
        return None
    with _stores_lock:
        if directory in _stores:
            return _stores[directory]
        store: CodeStore | None = None
        try:
            store = CodeStore(Path(directory) / FILE_NAME, load_key(), max_bytes, key_path().parent)
        except KeyRefused as error:
            refusals[directory] = str(error)
        except (OSError, sqlite3.Error) as error:
            refusals[directory] = f"the code cache in {directory} cannot be opened: {error}"
        if store is None:
            warn_refusal(refusals[directory])
        _stores[directory] = store
        return store


USER_MAX_BYTES = 16 * 1024 * 1024  # the user's own store holds code the same in every project: a bundle or two


def user_store() -> CodeStore | None:
    """The store in the user's own directory, beside the key, for code that is the same in every project
    (the runner bundle, CompiledCode.find_shared); None where it cannot be used (quietly: a project's
    own store still works)."""
    with _stores_lock:
        if "\0user" not in _stores:
            try:
                directory = key_path().parent
                _stores["\0user"] = CodeStore(directory / FILE_NAME, load_key(), USER_MAX_BYTES, directory)
            except (KeyRefused, OSError, sqlite3.Error):
                _stores["\0user"] = None
        return _stores["\0user"]
