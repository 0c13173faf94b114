"""The edge profile's third-party JavaScript (vendor/libraries.js), built from the npm packages
pinned in vendor/package-lock.json by vendor/build.mjs. Git holds the script and the lockfile;
the built file and its licence notices are made at install time (setup.py runs `build` when the
file is missing or stale) or by hand with `python -m runner.js.libraries`.

Standard library only, and no package-relative imports: setup.py loads this file by path before
the package's dependencies are installed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "vendor"
OUTPUT = VENDOR / "libraries.js"
LICENSES = VENDOR / "LICENSES.txt"
INPUTS = ("package.json", "package-lock.json", "build.mjs")


class LibrariesMissing(Exception):
    """libraries.js is absent or was built from other inputs."""


def inputs_hash() -> str:
    """What the built file depends on: the package list, the lockfile and the build script."""
    digest = hashlib.sha256()
    for name in INPUTS:
        digest.update(name.encode() + b"\0" + (VENDOR / name).read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def is_current() -> bool:
    try:
        with OUTPUT.open(encoding="utf-8") as handle:
            head = handle.read(1024)
    except OSError:
        return False
    if not LICENSES.is_file():
        return False
    try:
        return f"inputs: {inputs_hash()}" in head
    except OSError:  # an installed copy without the build inputs: what was shipped is what there is
        return "inputs: " in head


def source() -> str:
    """The built file's text; raises LibrariesMissing with what to do when it is absent or stale."""
    if not is_current():
        state = "stale (its inputs changed)" if OUTPUT.exists() else "not built"
        raise LibrariesMissing(
            f"the edge profile's libraries ({OUTPUT.name}) are {state}: build them with "
            f"`{Path(sys.executable).name} -m runner.js.libraries` (needs node and npm) or reinstall modrun")
    return OUTPUT.read_text(encoding="utf-8")


def build(*, quiet: bool = False) -> None:
    """Install the pinned packages (`npm ci`, no install scripts) and bundle them."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise LibrariesMissing("building the edge profile's libraries needs node and npm on PATH")
    output = subprocess.DEVNULL if quiet else None
    subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cwd=VENDOR,
                   check=True, stdout=output)
    subprocess.run([node, "build.mjs", str(OUTPUT), str(LICENSES), inputs_hash()], cwd=VENDOR, check=True,
                   stdout=output)


def ensure_built(*, quiet: bool = False) -> bool:
    """Build when missing or stale; whether a build ran."""
    if is_current():
        return False
    build(quiet=quiet)
    return True


if __name__ == "__main__":
    ensure_built()
    print(f"{OUTPUT} is current")
