"""The static check of a module graph: walk it from ENTRY through the environment's resolution and scan each module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import CheckConfig
from .findings import Report

if TYPE_CHECKING:
    from ..environment import Environment


async def analyze(environment: Environment, entry: str, config: CheckConfig) -> Report:
    raise NotImplementedError
