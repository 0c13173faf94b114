"""Which globals a profile provides, asked of a fresh runtime of the environment (the profile's
JavaScript is the only list), and the hints the edge profile gives for Node's globals."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..environment import Environment

_provided: dict[tuple[str, str], frozenset[str]] = {}
_LOCKDOWN = Path(__file__).resolve().parent.parent / "js" / "edge" / "lockdown.js"
_HINT = re.compile(r'^  (\w+): "([^"]*)",$', re.M)


async def provided_globals(environment: Environment) -> frozenset[str]:
    """The own property names of a fresh runtime's global object, once per (evaluator, profile)."""
    key = (environment.config.evaluator, environment.profile)
    names = _provided.get(key)
    if names is None:
        runner = await environment.create_runner()
        try:
            names = _provided[key] = frozenset(await runner.invoke("globalNames", []))
        finally:
            await runner.close()
    return names


@cache
def node_global_hints() -> dict[str, str]:
    """Node's globals and what the edge offers instead: the NODE_GLOBALS table of lockdown.js."""
    source = _LOCKDOWN.read_text(encoding="utf-8")
    table = source[source.index("const NODE_GLOBALS = {"):]
    return dict(_HINT.findall(table[:table.index("};")]))
