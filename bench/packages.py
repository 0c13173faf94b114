"""Real npm packages for the whole-process benchmarks: date-fns and lodash-es at the versions
pinned by bench/npm/packages/package-lock.json, installed by tests/npm_cache.py (`npm ci`, again
only when the lockfile changes) into bench/.cache/npm/packages, beside the entry modules of
bench/npm/packages/*.js. That directory is the project root the benchmarks run in."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from harness import BENCH_DIR, CACHE_DIR

sys.path.insert(0, str(BENCH_DIR.parent))
from tests.npm_cache import Unavailable, ensure  # noqa: E402

SETS = BENCH_DIR / "npm"
TARGET = CACHE_DIR / "npm" / "packages"
#: entry module -> the package it imports
ENTRIES = {"date-fns.js": "date-fns", "lodash-es.js": "lodash-es"}


def ensure_installed() -> tuple[Path | None, str]:
    """The installed project directory, or None and the reason it could not be installed."""
    try:
        target = ensure("packages", SETS, CACHE_DIR / "npm")
    except Unavailable as reason:
        return None, str(reason)
    for entry in ENTRIES:
        shutil.copyfile(SETS / "packages" / entry, target / entry)
    return target, ""


def version(package: str) -> str | None:
    import json

    path = TARGET / "node_modules" / package / "package.json"
    return str(json.loads(path.read_text())["version"]) if path.exists() else None
