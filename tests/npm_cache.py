"""npm packages for tests, installed from a pinned lockfile into a cached directory.

Each set lives in tests/npm/<name>/ (package.json, package-lock.json, helper scripts) and is
installed with `npm ci` into tests/.cache/npm/<name>/ (gitignored), again only when the lockfile
changes. Where npm is missing or the registry cannot be reached the test is skipped, saying why.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).parent
NODE = shutil.which("node")
NPM = shutil.which("npm")


class Unavailable(Exception):
    """npm or node is missing, or the packages could not be installed."""


def install(name: str) -> Path:
    """The installed directory of tests/npm/<name> (its node_modules inside); the test is skipped
    when npm cannot install it."""
    import pytest  # here, not at the top: the benchmarks use `ensure` without the test extras

    try:
        return ensure(name)
    except Unavailable as reason:
        pytest.skip(str(reason))


def ensure(name: str, sets: Path = HERE / "npm", cache: Path = HERE / ".cache" / "npm") -> Path:
    """The installed directory of <sets>/<name> (tests/npm by default; the benchmarks have their
    own), installed into <cache>/<name> first if its lockfile changed."""
    if NODE is None or NPM is None:
        raise Unavailable("node and npm are needed to install the npm packages this test compares against")
    source = sets / name
    target = cache / name
    lock = (source / "package-lock.json").read_bytes()
    stamp = target / ".installed-lock"
    if not (stamp.is_file() and stamp.read_bytes() == lock and (target / "node_modules").is_dir()):
        target.mkdir(parents=True, exist_ok=True)
        stamp.unlink(missing_ok=True)
        for file in ("package.json", "package-lock.json"):
            shutil.copyfile(source / file, target / file)
        done = subprocess.run([NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=target,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise Unavailable(f"npm ci of {source} failed (is the registry reachable?): "
                              f"{done.stderr.strip()[-500:]}")
        stamp.write_bytes(lock)
    for script in source.glob("*.mjs"):
        shutil.copyfile(script, target / script.name)
    return target
