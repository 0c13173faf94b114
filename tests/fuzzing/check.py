"""One differential check: write a graph, run it in Node and in each evaluator, compare."""

from __future__ import annotations

import asyncio
import collections
import itertools
from pathlib import Path
from typing import Any

from .drivers import ModrunRunner, NodeRunner
from .graphs import Graph, render, write

EVALUATORS = ("inprocess", "wasm", "process")


class Mismatch(AssertionError):
    pass


class DifferentialChecker:
    """Holds the Node process, the modrun environments and an event loop across many graphs."""

    def __init__(self, root: Path, evaluators: tuple[str, ...] = EVALUATORS) -> None:
        self.root = root
        self.evaluators = evaluators
        self.loop = asyncio.new_event_loop()
        self.node = NodeRunner()
        self.modrun = ModrunRunner(root, evaluators)
        self.counter = itertools.count()
        self.outcomes: collections.Counter[str] = collections.Counter()

    def check(self, graph: Graph) -> None:
        directory = write(graph, self.root / f"g{next(self.counter):06d}")
        expected = self.node.run(directory)
        self.outcomes[_kind(expected)] += 1
        for evaluator in self.evaluators:
            got = self.loop.run_until_complete(self.modrun.run(evaluator, directory))
            if got != expected:
                files = "\n".join(f"--- {name}\n{text}" for name, text in render(graph).items()
                                  if name.startswith("m"))
                raise Mismatch(f"{evaluator} differs from node for {directory}:\n  node:   {expected}\n"
                               f"  modrun: {got}\n{files}")

    def close(self) -> None:
        self.node.close()
        self.loop.run_until_complete(self.modrun.close())
        self.loop.close()


def _kind(result: Any) -> str:
    if not isinstance(result, dict):
        return "other"
    if "hang" in result:
        return "hang"
    if "driverError" in result:
        return "driver error"
    outcome = result.get("outcome") or {}
    if "error" in outcome:
        return f"error {outcome['error']}"
    return "ok"
