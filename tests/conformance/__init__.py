"""Conformance material lives outside the repo, in ../shared/conformance (test262, Vite's fixtures,
the web-platform-tests). Every test that reads it is marked `needs_conformance`, so that without it
they all skip for the same reason instead of failing one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFORMANCE = (Path(__file__).resolve().parents[3] / "shared" / "conformance").resolve()
TEST262 = CONFORMANCE / "test262"
VITE_FIXTURES = CONFORMANCE / "vite-fixtures"

MISSING = f"the conformance material ({CONFORMANCE}) is not beside the project"
needs_conformance = pytest.mark.skipif(not CONFORMANCE.is_dir(), reason=MISSING)


def conformance_file(path: Path) -> Path:
    """`path` inside the conformance material; skips the calling test when the material is absent."""
    if not CONFORMANCE.is_dir():
        pytest.skip(MISSING)
    return path
