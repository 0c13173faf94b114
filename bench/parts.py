"""Where one import's time goes, measured in this process (so without interpreter start-up and
imports): a fresh Server imports an entry, cold (empty transform cache) or warm (the cache on
disk from an earlier import), with the parts timed by wrapping internals for the duration:

- runtime: `create_runner` (a new runtime with the runner bundle booted);
- transform: `ssr_transform` (parse, scope analysis, emit with its source map);
- cache: transform cache lookups and writes;
- wire JSON: the host's encoding and decoding of the messages (runner/rpc/wire.py);
- engine: time inside `transport.receive` less the wire JSON in it (compile, link, evaluate,
  the runtime's own JSON.parse / JSON.stringify of the messages; for the process evaluator
  also the channel and the worker's side);
- host: the rest of the import (resolve, load, fetchModule, the module graph, asyncio);
- close: closing the server (the runtime and the cache).

Relies on names inside runner/ and evaluators/ (see `_patches`); a renamed one fails loudly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness

PARTS = ("runtime", "transform", "cache", "wire_json", "engine", "host", "close", "total")


def _sink(level: str, text: str) -> None:
    pass


def _patches(parts: dict[str, float]) -> list[tuple[Any, str, Any]]:
    """(owner, attribute, timed replacement) for every timed internal."""
    import runner.transform.ssr_transform as ssr_transform_module
    from runner.rpc import wire
    from runner.transform_cache import TransformCache

    def timed(fn: Callable[..., Any], part: str) -> Callable[..., Any]:
        return harness.timed(fn, parts, part)

    out: list[tuple[Any, str, Any]] = [(ssr_transform_module, "ssr_transform",
                                        timed(ssr_transform_module.ssr_transform, "transform"))]
    for name in ("get", "put", "flush"):
        out.append((TransformCache, name, timed(getattr(TransformCache, name), "cache")))
    for name in ("loads", "dumps", "dumps_bytes"):
        out.append((wire, name, timed(getattr(wire, name), "wire_json")))
    return out


async def _import_once(root: Path, entry: str, evaluator: str, cache_dir: Path) -> dict[str, float]:
    from runner import Server
    from runner.rpc.exports import ModuleProxy

    parts = dict.fromkeys(PARTS, 0.0)
    patches = _patches(parts)
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    wire_in_engine = 0.0
    try:
        started = time.perf_counter()
        server = Server(root=root, cache_dir=cache_dir, on_console=_sink,
                        environments={"bench": {"evaluator": evaluator}})
        t = time.perf_counter()
        runner = await server.environments["bench"].create_runner(on_console=_sink)
        parts["runtime"] = time.perf_counter() - t
        receive = runner.transport.receive

        async def timed_receive(budget: Any) -> Any:
            nonlocal wire_in_engine
            t = time.perf_counter()
            before = parts["wire_json"]
            try:
                return await receive(budget)
            finally:
                parts["engine"] += time.perf_counter() - t
                wire_in_engine += parts["wire_json"] - before

        runner.transport.receive = timed_receive  # type: ignore[method-assign]
        await ModuleProxy.load(runner, entry)
        server.transform_cache.flush()
        await runner.close()
        t = time.perf_counter()
        await server.close()
        parts["close"] = time.perf_counter() - t
        parts["total"] = time.perf_counter() - started
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
    parts["engine"] -= wire_in_engine
    parts["host"] = parts["total"] - sum(v for k, v in parts.items() if k not in ("total", "host"))
    return {key: value * 1000 for key, value in parts.items()}


def breakdown(root: Path, entry: str, evaluator: str, cache_dir: Path, *, warm: bool,
              repeat: int = 3) -> list[dict[str, float]]:
    """`repeat` imports of `entry` (ms per part), cold or warm, after one unmeasured import (which
    also loads every Python module a run needs)."""
    import shutil

    samples = []
    asyncio.run(_import_once(root, entry, evaluator, cache_dir))
    for _ in range(repeat):
        if not warm:
            shutil.rmtree(cache_dir, ignore_errors=True)
        samples.append(asyncio.run(_import_once(root, entry, evaluator, cache_dir)))
    shutil.rmtree(cache_dir, ignore_errors=True)
    return samples
