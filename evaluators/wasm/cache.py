"""Compiled wasm modules on disk, so that a fresh process does not compile QuickJS again.

An entry is a `wasmtime` serialized module (`<key>.cwasm`, memory-mapped when loaded, so its
pages are shared between processes) and a JSON sidecar with what the driver needs to use it
(`<key>.json`). Keys are hashes of everything the compiled code depends on: the wasm bytes,
the wasmtime version, the engine configuration, the stop checks' version, and for snapshots the
boot source. Entries are written to a temporary name and renamed, so concurrent processes never
see half a file; a corrupt or incompatible entry is deleted and rebuilt.

Deserializing runs native code from the file, so the directory is created private to the user
(0700) in the user's cache directory. `MODRUN_WASM_CACHE` moves it; `MODRUN_WASM_CACHE=off`
disables it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from . import capi

KEEP = 16  # entries kept; older ones are removed when a new one is written
KEEP_REMEMBERED = 64  # small texts kept (remember): each costs a few milliseconds to make again


def default_directory() -> Path | None:
    configured = os.environ.get("MODRUN_WASM_CACHE")
    if configured is not None:
        return None if configured.lower() in ("", "0", "off", "false", "no") else Path(configured)
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no home directory: no cache, only slower
        return None
    return base / "modrun" / "wasm"


def cache_key(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        raw = part.encode() if isinstance(part, str) else part
        digest.update(len(raw).to_bytes(8, "little"))
        digest.update(raw)
    return digest.hexdigest()[:40]


class ModuleCache:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def load(self, engine: int, key: str) -> tuple[int, dict[str, Any]] | None:
        """The module (a wasmtime_module_t of `engine`) and sidecar stored under `key`, or None."""
        if self.directory is None:
            return None
        module_path = self.directory / f"{key}.cwasm"
        meta_path = self.directory / f"{key}.json"
        try:
            meta = json.loads(meta_path.read_text())
            module = capi.deserialize_file(engine, str(module_path))
        except (OSError, ValueError, capi.WasmError):
            for path in (module_path, meta_path):
                if path.exists():
                    self._remove(path)
            return None
        try:
            os.utime(module_path)  # most recently used: kept longest
        except OSError:
            pass
        return module, meta

    def store(self, key: str, module: bytes, meta: dict[str, Any]) -> None:
        """Keep a serialized module (capi.serialize) and its sidecar under `key`."""
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._write(self.directory / f"{key}.json", json.dumps(meta).encode())
            self._write(self.directory / f"{key}.cwasm", module)
            self._evict("*.cwasm", KEEP)
        except OSError:
            pass  # a cache that cannot be written only makes the next process slower

    def remembered(self, key: str) -> str | None:
        """A small text remembered under `key` (see `remember`)."""
        if self.directory is None:
            return None
        try:
            return (self.directory / f"{key}.txt").read_text().strip() or None
        except OSError:
            return None

    def remember(self, key: str, text: str) -> None:
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._write(self.directory / f"{key}.txt", text.encode())
            self._evict("*.txt", KEEP_REMEMBERED)
        except OSError:
            pass

    def _write(self, path: Path, data: bytes) -> None:
        import tempfile  # only when writing

        assert self.directory is not None
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            self._remove(Path(temporary))
            raise

    def _evict(self, pattern: str, keep: int) -> None:
        assert self.directory is not None
        entries = sorted(self.directory.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        for path in entries[keep:]:
            self._remove(path)
            if path.suffix == ".cwasm":
                self._remove(path.with_suffix(".json"))

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            path.unlink()
        except OSError:
            pass
