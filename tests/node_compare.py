"""Running one entry module under Node and under modrun, for tests that compare what they print."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any
from unittest import mock

from runner import Server
from runner import environment as environment_module
from runner.prefetch import boot_with_prefetch
from tests.npm_cache import NODE

EVALUATORS = ("inprocess", "wasm", "process")


def node_lines(root: Path, entry: str) -> list[str]:
    """What `node entry` prints (run in `root`, in UTC, in production mode)."""
    assert NODE is not None
    done = subprocess.run([NODE, entry], cwd=root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TZ": "UTC", "NODE_ENV": "production"})
    assert done.returncode == 0, f"{entry} under node: {done.stderr}"
    return done.stdout.splitlines()


async def _modrun(root: Path, entry: str, config: dict[str, Any], mode: str) -> tuple[list[str], list[str]]:
    lines: list[str] = []
    fetched: list[str] = []
    async with Server(root=root, environments={"test": config}, mode=mode, cache_dir=False,
                      on_console=lambda level, text: lines.append(text)) as server:
        environment = server.environments["test"]
        fetch = environment.fetch_module
        prefetching = False

        async def counting(url, importer=None, options=None):  # type: ignore[no-untyped-def]
            result = await fetch(url, importer, options)
            if not prefetching:  # the runner's (a prefetch's, while the runtime boots, are the host's own)
                fetched.append(result.get("id", url))
            return result

        async def flagged(*args: Any) -> None:
            nonlocal prefetching
            prefetching = True
            try:
                await boot_with_prefetch(*args)
            finally:
                prefetching = False

        environment.fetch_module = counting  # type: ignore[method-assign,assignment]
        with mock.patch.object(environment_module, "boot_with_prefetch", flagged):
            await environment.import_module("/" + entry)
    return lines, fetched


def modrun_lines(root: Path, entry: str, evaluator: str = "inprocess", mode: str = "production",
                 **config: Any) -> tuple[list[str], list[str]]:
    """What importing `entry` (relative to `root`) prints under modrun, and the ids of every
    fetchModule answer to the runner, in order (one per request). The bare profile unless `config` says: Node's
    module semantics are compared, under Node's conditions."""
    return asyncio.run(_modrun(root, entry, {"evaluator": evaluator, "profile": "bare", **config}, mode))
