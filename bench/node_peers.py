"""The Node side of the benchmarks: finding node, installing Vite 8 into bench/.cache/vite with
npm (once), and running the scripts under bench/node/. A missing node or npm makes the peer
columns say "unavailable" instead of failing the benchmark."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness import CACHE_DIR

NODE_SCRIPTS = Path(__file__).resolve().parent / "node"
VITE_DIR = CACHE_DIR / "vite"
VITE_SPEC = "vite@8"


def node() -> str | None:
    return shutil.which("node")


def node_version() -> str | None:
    exe = node()
    if exe is None:
        return None
    return subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout.strip()


def ensure_vite() -> Path | None:
    """The directory Vite is installed under (installing it on first use), or None."""
    entry = VITE_DIR / "node_modules" / "vite" / "dist" / "node" / "index.js"
    if entry.exists():
        return VITE_DIR
    npm = shutil.which("npm")
    if npm is None or node() is None:
        return None
    VITE_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", str(VITE_DIR), VITE_SPEC, "--no-audit", "--no-fund",
                           "--loglevel=error"], capture_output=True, text=True)
    if done.returncode != 0 or not entry.exists():
        print(f"(could not install {VITE_SPEC}: {done.stderr.strip()[-500:]})")
        return None
    return VITE_DIR


def vite_version() -> str | None:
    package = VITE_DIR / "node_modules" / "vite" / "package.json"
    if not package.exists():
        return None
    import json

    return str(json.loads(package.read_text())["version"])


def node_env() -> dict[str, str]:
    return {**os.environ, "VITE_DIR": str(VITE_DIR)}


def script(name: str) -> str:
    return str(NODE_SCRIPTS / name)


def run_node(args: list[str], cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    exe = node()
    if exe is None:
        raise RuntimeError("node is not installed")
    return subprocess.run([exe, *args], cwd=cwd, env=node_env(), capture_output=True, text=True,
                          timeout=timeout, check=True)
