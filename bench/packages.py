"""Real npm packages for the whole-process benchmarks: date-fns and lodash-es at the versions
pinned by bench/npm/packages/package-lock.json, installed with `npm ci` into
bench/.cache/npm/packages (again only when the lockfile changes), beside the entry modules of
bench/npm/packages/*.js. That directory is the project root the benchmarks run in."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from harness import BENCH_DIR, CACHE_DIR

SOURCE = BENCH_DIR / "npm" / "packages"
TARGET = CACHE_DIR / "npm" / "packages"
#: entry module -> the package it imports
ENTRIES = {"date-fns.js": "date-fns", "lodash-es.js": "lodash-es"}


def ensure() -> tuple[Path | None, str]:
    """The installed project directory, or None and the reason it could not be installed."""
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not installed"
    lock = (SOURCE / "package-lock.json").read_bytes()
    installed = TARGET / "node_modules" / ".modrun-bench-lock"
    if not (installed.exists() and installed.read_bytes() == lock):
        TARGET.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(SOURCE / name, TARGET / name)
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TARGET,
                              capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"npm ci failed (is the registry reachable?): {done.stderr.strip()[-500:]}"
        installed.write_bytes(lock)
    for entry in ENTRIES:
        shutil.copyfile(SOURCE / entry, TARGET / entry)
    return TARGET, ""


def version(package: str) -> str | None:
    import json

    path = TARGET / "node_modules" / package / "package.json"
    return str(json.loads(path.read_text())["version"]) if path.exists() else None
