"""The edge profile's third-party JavaScript (vendor/libraries.json), built from the npm packages
pinned in vendor/package-lock.json by vendor/build.mjs. Git holds the script and the lockfile;
the built file and its licence notices are made at install time (setup.py runs `build` when the
file is missing or stale) or by hand with `python -m runner.js.libraries`.

The built file is data: `{inputs, units: {name: {provides, source}}, versions}`; a runtime gets it
as its LIBRARIES (runner/js/bundle.py) and compiles a unit's source when a program first needs it.
Every runtime's boot loads it (most of a megabyte): from a copy in marshal's format beside it
(vendor/__pycache__, as Python keeps compiled modules), read about ten times faster than the JSON is
parsed and checked, and used only while the files it was made from and checked against have the
stamps they had then (runner/file_identity.py).

Standard library only, and no package-relative imports: setup.py loads this file by path before
the package's dependencies are installed. `build`'s tools are imported where it runs, not by every
runtime's boot.
"""

from __future__ import annotations

import functools
import hashlib
import json
import marshal
import os
import sys
import time
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).resolve().parent / "vendor"
OUTPUT = VENDOR / "libraries.json"
LICENSES = VENDOR / "LICENSES.txt"
INPUTS = ("package.json", "package-lock.json", "build.mjs")
COPY = VENDOR / "__pycache__" / f"libraries.{sys.implementation.cache_tag}.marshal"
_COPY_FORMAT = 1


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
    from ..file_identity import racy, stamp_of  # (not where setup.py loads this file by path: it builds)

    began = time.time_ns()
    # The copy stands for the file, which was current when the copy was made, while none of what
    # is_current reads has changed since.
    stamps = tuple(stamp_of(path) for path in (OUTPUT, LICENSES, *(VENDOR / name for name in INPUTS)))
    copied = _copy(stamps)
    if copied is not None:
        return copied
    if not is_current():
        state = "stale (their inputs changed)" if OUTPUT.exists() else "not built"
        raise LibrariesMissing(
            f"the edge profile's libraries ({OUTPUT.name}) are {state}: build them with "
            f"`{Path(sys.executable).name} -m runner.js.libraries` (needs node and npm) or reinstall modrun")
    data: dict[str, Any] = json.loads(OUTPUT.read_text(encoding="utf-8"))
    if not any(racy(stamp, began) for stamp in stamps):
        _keep(stamps, data)
    return data


def _copy(stamps: tuple[Any, ...]) -> dict[str, Any] | None:
    """The libraries from the marshal copy, if it was made from the files as they are now."""
    try:
        with COPY.open("rb") as handle:
            form, made_from, data = marshal.load(handle)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return data if form == _COPY_FORMAT and made_from == stamps and isinstance(data, dict) else None


def _keep(stamps: tuple[Any, ...], data: dict[str, Any]) -> None:
    """Write the marshal copy (whole or not at all); where the package cannot be written, nothing."""
    temporary = COPY.with_name(f"{COPY.name}.{os.getpid()}.tmp")
    try:
        COPY.parent.mkdir(exist_ok=True)
        temporary.write_bytes(marshal.dumps((_COPY_FORMAT, stamps, data)))
        os.replace(temporary, COPY)
    except OSError:
        temporary.unlink(missing_ok=True)


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
