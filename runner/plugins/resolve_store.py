"""Resolutions remembered across processes: what the built-in resolver answered, with the stamps of
what each answer read (fs_stamps.py), in one file of the server's cache directory per environment.

A new process loads the file at its first resolution and uses an entry only where the stamps it
holds are those the files have now: the same check that keeps the in-process memory true, so a file
added, removed or edited where it would change an answer makes the resolver resolve again. An entry
is kept only if none of what it read changed later than RACY_S seconds before the resolution began
(file_identity.py): an edit while it ran, or in the same tick of the filesystem's clock as a stamp,
could leave a stamp that matches files the answer was not made from, and another process would
then trust it. The file is keyed by the resolver's sources and the environment's resolve
options (root, conditions, aliases), so a new resolver or other options never read old answers,
and named by the options and where the resolver is installed.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from pathlib import Path
from typing import Any

from .. import file_identity
from .fs_stamps import Stamp, stamp_of

Key = tuple[str | None, str, str]  # (the importer's directory, the specifier, the kind)
Entry = tuple[str, tuple[tuple[str, Stamp], ...]]  # (the id, the stamps of what it read)

_FORMAT = b"modrun-resolutions-v1"


def _sources() -> list[str]:
    """What the resolver's answers depend on besides the files: its own code."""
    here = os.path.dirname(os.path.abspath(__file__))
    return [*file_identity.python_files(here), os.path.join(os.path.dirname(here), "ids.py")]


class ResolveStore:
    def __init__(self, directory: Path | None, environment: Any) -> None:
        self._path: Path | None = None
        self._salt = b""
        taken = file_identity.stamps(_sources()) if directory is not None else None
        if directory is not None and taken is not None:  # sources just edited: no store this run
            options = (environment.name, str(environment.root), environment.conditions,
                       environment.require_conditions, sorted(environment.alias.items()), environment.profile)
            # Named by where the resolver is installed too: two installations of modrun (two venvs, a
            # checkout and a wheel) that share a project keep a file each, not overwrite one another's.
            name = hashlib.sha256(repr((options, str(Path(__file__).parent))).encode()).hexdigest()[:16]
            self._path = directory / f"resolutions-{name}.marshal"
            self._salt = hashlib.sha256(_FORMAT + repr((taken, options)).encode()).digest()
        # What the file held when this process last read or wrote it (None: not read yet); lookups use it
        # until forget.
        self._file: dict[Key, Entry] | None = None
        self._file_stamp: Stamp = None  # the file's stamp then
        self._forgotten = False
        self._new: dict[Key, Entry] = {}
        self.hits = 0  # entries the resolver found true and used (counted by it)

    def get(self, key: Key) -> Entry | None:
        if self._forgotten:
            return None
        return (self._file if self._file is not None else self._load()).get(key)

    def put(self, key: Key, entry: Entry, began_ns: int) -> None:
        """Keep an answer the resolver made, which it began at `began_ns` (time.time_ns())."""
        if self._path is None:
            return
        for _, stamp in entry[1]:
            if file_identity.racy(stamp, began_ns):
                return
        self._new[key] = entry

    def forget(self) -> None:
        """Files changed under a watching server: what was loaded is not used again this process."""
        self._forgotten = True

    def _load(self) -> dict[Key, Entry]:
        if self._path is None:
            self._file = {}
            return self._file
        stamp = stamp_of(self._path)
        try:
            salt, entries = marshal.loads(self._path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            entries = {}
        else:
            entries = entries if salt == self._salt and isinstance(entries, dict) else {}
        self._file, self._file_stamp = entries, stamp
        return entries

    def save(self) -> None:
        """Write the entries resolved since the last save (with those the file holds), if any. The file
        is read again only if another process wrote it since this one read or wrote it."""
        if not self._new or self._path is None:
            return
        if self._file is None or self._file_stamp is None or stamp_of(self._path) != self._file_stamp:
            self._load()
        assert self._file is not None
        entries = self._file
        entries.update(self._new)
        self._new.clear()
        temporary = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(marshal.dumps((self._salt, _shared(entries))))
            os.replace(temporary, self._path)  # whole or not at all, whichever process writes last
        except OSError:
            temporary.unlink(missing_ok=True)
            self._file_stamp = None
            return
        self._file_stamp = stamp_of(self._path)


def _shared(entries: dict[Key, Entry]) -> dict[Key, Entry]:
    """The entries with each equal string and stamp one object: marshal writes an object it has
    written before as a reference, so the paths and stamps that many answers share (a package's
    directories) are written, and loaded, once: a file less than half the size, loaded faster."""
    seen: dict[Any, Any] = {}
    one = seen.setdefault
    return {(one(directory, directory), one(specifier, specifier), kind):
            (one(id, id), one(read, tuple(one(pair, (one(pair[0], pair[0]), pair[1])) for pair in read)))
            for (directory, specifier, kind), (id, read) in entries.items()}
