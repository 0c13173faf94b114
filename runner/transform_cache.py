"""The persistent transform cache: runner-format output on disk, keyed by a hash of the module's
id, its code after plugin transforms, and the transform's own source. Writes go to a temporary
file renamed into place, so concurrent runs never see half a file."""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

_TRANSFORM_SOURCES = ("ssr_transform.py", "scope.py", "early_errors.py", "sourcemap.py", "transform_request.py")


@functools.cache
def _salt() -> bytes:
    digest = hashlib.sha256(b"modrun-transform-v1")
    here = Path(__file__).parent
    for name in _TRANSFORM_SOURCES:
        path = here / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.digest()


def default_cache_dir(root: Path) -> Path:
    """Vite keeps its cache in node_modules/.vite; ours is node_modules/.modrun, or the user's
    cache directory when the root is not writable."""
    candidate = root / "node_modules" / ".modrun" / "transforms"
    if os.access(root, os.W_OK):
        return candidate
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "modrun" / "transforms" / hashlib.sha256(str(root).encode()).hexdigest()[:16]


class TransformCache:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(id: str, code: str) -> str:
        digest = hashlib.sha256(_salt())
        digest.update(id.encode())
        digest.update(b"\0")
        digest.update(code.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        if self.directory is None:
            return None
        try:
            data = (self.directory / key[:2] / f"{key}.json").read_bytes()
            value = orjson.loads(data)
        except (OSError, orjson.JSONDecodeError):
            self.misses += 1
            return None
        self.hits += 1
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        if self.directory is None:
            return
        folder = self.directory / key[:2]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(orjson.dumps(value))
            os.replace(temp, folder / f"{key}.json")
        except OSError:
            pass  # a cache that cannot be written is only slower
