"""Builds the edge profile's JavaScript libraries (runner/js/vendor/libraries.json) when the package
is built or installed, editable installs included, if the file is missing or stale: the build
script and the npm lockfile are in git, the built file never is (runner/js/libraries.py)."""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


def _libraries():
    spec = importlib.util.spec_from_file_location("modrun_libraries", Path(__file__).parent / "runner/js/libraries.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithLibraries(build_py):
    def run(self):
        _libraries().ensure_built(quiet=True)
        super().run()


setup(cmdclass={"build_py": BuildWithLibraries})
