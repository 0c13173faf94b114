"""Small projects written by tests, and what the environment answers for their modules."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from runner.rpc.payloads import FetchedModule, FetchResult


def write(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path -> text) under `root` and return `root`."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def fetched(answer: FetchResult) -> FetchedModule:
    """A fetch answer that carries the module (not "the runner's copy is current")."""
    assert "cache" not in answer
    return cast(FetchedModule, answer)
