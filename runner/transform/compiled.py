"""The transform's hot modules compiled to C by mypyc at install time (setup.py), the .py files staying
the source: where no C compiler is present the package installs and runs them as pure Python, with
the same output.

A compiled module is an extension beside its .py, which Python's import prefers. In an editable
install an edited .py would then be shadowed by the extension built from its old text, so the build
records the sources' digests (SOURCES) and `_Finder` loads the .py files instead when any differs;
compiled modules call each other directly in C, so it is all of them or none. MODRUN_PURE_TRANSFORM=1
asks for the .py files too (tests compare both). Only the standard library is imported here: `choose`
runs before any of the transform is loaded.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).parent
# One mypyc group, built together. Left as Python: records.py (its classes are built with `object.__new__`
# and `__dict__`, which compiled, native classes do not have) and sourcemap.py, which every run imports
# (environment.py): compiled, it would load the group's 2 MB library (5 ms) into runs that transform nothing.
MODULES = ("walker", "scope", "expressions", "sieve", "edits", "entries", "repair", "early_errors", "ssr_transform")
GROUP = "modrun_transform"  # mypyc's group: its shared library is the top-level module GROUP__mypyc
SOURCES = HERE / "compiled_sources.json"  # written by the build: module -> sha256 of the .py compiled
PURE_ENV = "MODRUN_PURE_TRANSFORM"


def digests() -> dict[str, str]:
    return {name: hashlib.sha256((HERE / f"{name}.py").read_bytes()).hexdigest() for name in MODULES}


def _extensions() -> bool:
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    return (all(any((HERE / f"{name}{suffix}").exists() for suffix in suffixes) for name in MODULES)
            and importlib.util.find_spec(f"{GROUP}__mypyc") is not None)


def _fresh() -> bool:
    """Whether the extensions were built from the current .py files."""
    try:
        recorded = json.loads(SOURCES.read_bytes())
    except (OSError, ValueError):
        return False
    return bool(recorded == digests())


@functools.cache
def active() -> bool:
    """Whether the compiled modules are the ones loaded (decided once, when the first is imported)."""
    return os.environ.get(PURE_ENV) != "1" and _extensions() and _fresh()


class _Finder:
    """Finds the transform's modules as their .py files, ahead of any extension beside them: the compiled
    ones unless `active`, decided on the first import of one (a run that transforms nothing never reads the
    sources); the others always (an extension a stale build directory put in a wheel is never loaded)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != __package__ or (name in MODULES and active()):
            return None
        source = HERE / f"{name}.py"
        return importlib.util.spec_from_file_location(fullname, source) if source.is_file() else None


def choose() -> None:
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
