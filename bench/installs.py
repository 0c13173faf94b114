"""Which `modrun` a whole-process benchmark runs: a checkout's editable install (its own `.venv`, as a
developer runs it), or the package as users get it, a wheel built from the checkout and installed with
its dependencies into a scratch venv under bench/.cache/installed (one per state of the sources, the
last few kept: a second run of the benchmark reuses it). An editable install pays at start for its
import finder (about 10 ms here), which an installed package does not.

    python bench/installs.py [CHECKOUT]   # builds and installs, prints the console script's path
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import CACHE_DIR

INSTALLED = CACHE_DIR / "installed"
KEEP = 4  # venvs kept (about 110 MB each): a checkout and its base, before and after a change


def modrun_of(path: Path, wheel: bool) -> str:
    """The console script to run for `path`: a script as given, or a checkout's (its wheel installed
    in a scratch venv when `wheel`, else its editable install)."""
    if path.is_file():
        return str(path)
    return installed(path) if wheel else editable(path)


def editable(checkout: Path) -> str:
    """The console script of a checkout's own venv (`python -m venv .venv && pip install -e .`)."""
    script = checkout / ".venv" / "bin" / "modrun"
    if not script.is_file():
        raise SystemExit(f"{checkout} has no .venv/bin/modrun: install it there first (pip install -e .)")
    return str(script)


def installed(checkout: Path) -> str:
    """The console script of a scratch venv holding the wheel built from `checkout` (built with the
    interpreter running this script; dependencies from the package index, as `pip install` fetches
    them)."""
    venv = INSTALLED / hashlib.sha256(_sources_digest(checkout)).hexdigest()[:16]
    script = venv / "bin" / "modrun"
    if script.is_file():
        venv.touch()  # (recently used: kept)
        return str(script)
    shutil.rmtree(venv, ignore_errors=True)
    if INSTALLED.is_dir():
        for old in sorted(INSTALLED.iterdir(), key=lambda p: p.stat().st_mtime)[:-(KEEP - 1)]:
            shutil.rmtree(old, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="modrun-wheel-") as out:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        "-w", out, str(checkout)], check=True, cwd=checkout)
        wheel = next(Path(out).glob("modrun-*.whl"))
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], check=True)
    return str(script)


def _sources_digest(checkout: Path) -> bytes:
    """The package's files as git sees them (tracked and untracked, not ignored): what the wheel is
    built from, so an unchanged checkout reuses its venv."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "runner", "evaluators", "pyproject.toml",
                             "setup.py"], cwd=checkout, capture_output=True, text=True, check=True).stdout
    digest = hashlib.sha256()
    for name in sorted(listed.split()):
        path = checkout / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.digest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, nargs="?", default=Path(__file__).resolve().parent.parent)
    print(installed(parser.parse_args().checkout.resolve()))


if __name__ == "__main__":
    main()
