"""The edge profile's third-party JavaScript (vendor/libraries.json), built from the npm packages
pinned in vendor/package-lock.json by vendor/build.mjs. Git holds the script and the lockfile;
the built file and its licence notices are made at install time (setup.py runs `build` when the
file is missing or stale) or by hand with `python -m runner.js.libraries`.

The built file is data: `{inputs, units: {name: {provides, source}}, versions}`; a runtime gets it
as its LIBRARIES (runner/js/bundle.py) and compiles a unit's source when a program first needs it.

Standard library only, and no package-relative imports: setup.py loads this file by path before
the package's dependencies are installed. `build`'s tools are imported where it runs, not by every
runtime's boot.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).resolve().parent / "vendor"
OUTPUT = VENDOR / "libraries.json"
LICENSES = VENDOR / "LICENSES.txt"
INPUTS = ("package.json", "package-lock.json", "build.mjs")


class LibrariesMissing(Exception):
    """libraries.json is absent or was built from other inputs."""


def inputs_hash() -> str | None:
    """What the built file depends on (the package list, the lockfile and the build script), or
    None in an installed copy that ships the built file without them."""
    digest = hashlib.sha256()
    try:
        for name in INPUTS:
            digest.update(name.encode() + b"\0" + (VENDOR / name).read_bytes() + b"\0")
    except OSError:
        return None
    return digest.hexdigest()[:32]


def _built_inputs() -> str | None:
    """The inputs hash the built file records (it comes first in the file)."""
    try:
        with OUTPUT.open(encoding="utf-8") as handle:
            head = handle.read(100)
    except OSError:
        return None
    prefix = '{"inputs":"'
    return head[len(prefix):head.index('"', len(prefix))] if head.startswith(prefix) else None


def is_current() -> bool:
    built = _built_inputs()
    if built is None or not LICENSES.is_file():
        return False
    wanted = inputs_hash()
    return wanted is None or built == wanted


@functools.cache
def load() -> dict[str, Any]:
    """The built libraries; raises LibrariesMissing with what to do when they are absent or stale."""
    if not is_current():
        state = "stale (their inputs changed)" if OUTPUT.exists() else "not built"
        raise LibrariesMissing(
            f"the edge profile's libraries ({OUTPUT.name}) are {state}: build them with "
            f"`{Path(sys.executable).name} -m runner.js.libraries` (needs node and npm) or reinstall modrun")
    # orjson parses it about 4x faster than json where a process has loaded orjson anyway (a host); a
    # process-evaluator worker, which otherwise never does, parses it with json rather than pay the import.
    fast = sys.modules.get("orjson")
    data: dict[str, Any] = (fast.loads(OUTPUT.read_bytes()) if fast is not None
                            else json.loads(OUTPUT.read_text(encoding="utf-8")))
    return data


def build(*, quiet: bool = False) -> None:
    """Install the pinned packages (`npm ci`, no install scripts) and bundle them."""
    import shutil
    import subprocess

    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise LibrariesMissing("building the edge profile's libraries needs node and npm on PATH")
    output = subprocess.DEVNULL if quiet else None
    subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cwd=VENDOR,
                   check=True, stdout=output)
    subprocess.run([node, "build.mjs", str(OUTPUT), str(LICENSES), str(inputs_hash())], cwd=VENDOR, check=True,
                   stdout=output)
    load.cache_clear()


def ensure_built(*, quiet: bool = False) -> bool:
    """Build when missing or stale; whether a build ran."""
    if is_current():
        return False
    build(quiet=quiet)
    return True


if __name__ == "__main__":
    ensure_built()
    print(f"{OUTPUT} is current")
