"""Whole processes for the benchmarks: the `modrun` console script with the environment an
installed package has, and a timed run whose output is checked by the caller."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import harness

MODRUN = str(Path(sys.executable).with_name("modrun"))


def modrun_env() -> dict[str, str]:
    """modrun processes get Python bytecode caching, as an installed package has, even where the
    environment turns it off (PYTHONDONTWRITEBYTECODE): the bytecode goes to bench/.cache/pycache,
    outside the source tree. Without it every process recompiles runner/ (about 35 ms here)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(harness.CACHE_DIR / "pycache")
    return env


def run_timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall time (ms) of a whole process, and its stdout; a failing process is an error."""
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done.stdout.strip()
