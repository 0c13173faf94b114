"""Builds, when the package is built or installed (editable installs included):
- the edge profile's JavaScript libraries (runner/js/vendor/libraries.json), if the file is missing or
  stale: the build script and the npm lockfile are in git, the built file never is (runner/js/libraries.py);
- the transform's hot modules compiled to C by mypyc (runner/transform/compiled.py), and the digests of
  the sources they were compiled from. Without mypyc or a C compiler nothing is compiled: the package
  runs them as pure Python, with the same output."""

import importlib.util
import json
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, HERE / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithLibraries(build_py):
    def run(self):
        _load("modrun_libraries", "runner/js/libraries.py").ensure_built(quiet=True)
        super().run()


COMPILED = _load("modrun_compiled", "runner/transform/compiled.py")


class BuildCompiled(build_ext):
    """The compiled transform, or nothing (with a warning) where it cannot be built."""

    def run(self):
        if not self.extensions:
            return
        try:
            super().run()
        except Exception as exc:  # no C compiler, no Python headers: the pure modules serve
            print(f"modrun: the transform is not compiled ({exc}); it runs as pure Python", file=sys.stderr)
            for ext in self.extensions:
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
            return
        # Beside the built modules: the source tree for an in-place (editable) build, else the build tree.
        out = Path(self.get_ext_fullpath("runner.transform.walker")).parent
        out.mkdir(parents=True, exist_ok=True)
        (out / COMPILED.SOURCES.name).write_text(json.dumps(COMPILED.digests(), indent=1, sort_keys=True) + "\n")


def _extensions():
    try:
        from mypyc.build import mypycify

        return mypycify([f"runner/transform/{name}.py" for name in COMPILED.MODULES], opt_level="3",
                        group_name=COMPILED.GROUP)
    except (ImportError, SystemExit) as exc:  # no mypyc, or it refused the code (it reports why)
        print(f"modrun: the transform is not compiled ({exc!r}); it runs as pure Python", file=sys.stderr)
        return []


setup(cmdclass={"build_py": BuildWithLibraries, "build_ext": BuildCompiled}, ext_modules=_extensions())
