"""The quickjs-rs peer (PyPI `quickjs-rs`: rquickjs compiled to wasm, run by wasmtime), the
sandbox the wasm evaluator is measured against. It lives in its own virtual environment under
bench/.cache (installed on first use with pip), never in the project's dependencies; the
scripts under bench/quickjs_rs/ run there and print one JSON object each."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import CACHE_DIR

SPEC = "quickjs-rs==0.2.6"
VENV = CACHE_DIR / "quickjs-rs-venv"
SCRIPTS = Path(__file__).resolve().parent / "quickjs_rs"


def python() -> Path | None:
    """The peer's interpreter, installing the peer on first use; None when that fails."""
    exe = VENV / "bin" / "python"
    if exe.exists() and _installed(exe):
        return exe
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
        subprocess.run([str(exe), "-m", "pip", "install", "-q", SPEC], check=True, capture_output=True, text=True)
    except (subprocess.CalledProcessError, OSError) as error:
        print(f"(could not install {SPEC}: {getattr(error, 'stderr', '') or error})")
        return None
    return exe if _installed(exe) else None


def _installed(exe: Path) -> bool:
    done = subprocess.run([str(exe), "-c", "import quickjs_rs"], capture_output=True)
    return done.returncode == 0


def version() -> str:
    return SPEC.split("==")[1]


def run(script: str, *args: str, timeout: float = 600) -> dict[str, Any] | None:
    """Run bench/quickjs_rs/<script>.py in the peer's environment; its JSON, or None."""
    exe = python()
    if exe is None:
        return None
    done = subprocess.run([str(exe), str(SCRIPTS / f"{script}.py"), *args], capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        print(f"(quickjs-rs {script} failed: {done.stderr.strip()[-400:]})")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
