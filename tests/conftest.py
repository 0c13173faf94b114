"""Fixtures shared by test modules (each module asks for them by name)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def empty_code_cache() -> Iterator[None]:
    """The host process's compiled-code cache (evaluators/compiled_code.py) empty, before and after,
    and its bound as it was."""
    from evaluators.compiled_code import CODE_CACHE

    size = CODE_CACHE.max_bytes
    CODE_CACHE.clear()
    yield
    CODE_CACHE.max_bytes = size
    CODE_CACHE.clear()
