"""Where one import's time goes, measured in this process (so without interpreter start-up and
imports): a fresh Server imports an entry, cold (empty transform cache and code store) or warm (the cache on
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

Run alone, it prints the breakdown of each graph of whole_process.py (mean, p90 and max per part over
`--repeat` imports), and with `--profile N` the N functions of the host side that cost most (cProfile,
cumulative, over one more import):

    python bench/parts.py [--cold] [--repeat 10] [--graphs tree,date-fns,lodash-es]
                          [--evaluator inprocess] [--profile 25]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
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


def _cold(cache_dir: Path, tag: str) -> Path:
    """A cache directory no import used, and no compiled code in memory: the process keeps a code store
    open per cache directory (evaluators/code_store.py), so a deleted one would still answer every
    wrapper by key, and a "cold" import would compile nothing."""
    from evaluators.compiled_code import CODE_CACHE

    CODE_CACHE.clear()
    return cache_dir.with_name(f"{cache_dir.name}-cold{tag}")


def breakdown(root: Path, entry: str, evaluator: str, cache_dir: Path, *, warm: bool,
              repeat: int = 3) -> list[dict[str, float]]:
    """`repeat` imports of `entry` (ms per part), cold or warm, after one unmeasured import (which
    also loads every Python module a run needs)."""
    import shutil

    samples = []
    asyncio.run(_import_once(root, entry, evaluator, cache_dir))
    for index in range(repeat):
        directory = cache_dir if warm else _cold(cache_dir, str(index))
        # Each import starts from a collected heap, as in a fresh process: otherwise a full collection of
        # what the earlier imports left (35 ms for the tree) lands in whichever import reaches the threshold.
        gc.collect()
        samples.append(asyncio.run(_import_once(root, entry, evaluator, directory)))
        if directory != cache_dir:
            shutil.rmtree(directory, ignore_errors=True)
    shutil.rmtree(cache_dir, ignore_errors=True)
    return samples


def _profile(root: Path, entry: str, evaluator: str, cache_dir: Path, top: int) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(asyncio.run, _import_once(root, entry, evaluator, cache_dir))
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description="where one import's time goes, part by part")
    parser.add_argument("--cold", action="store_true", help="an empty transform cache before each import")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--graphs", default="tree,date-fns,lodash-es")
    parser.add_argument("--evaluator", default="inprocess")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions")
    ns = parser.parse_args()
    from whole_process import bench_graphs

    harness.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-parts-", dir=harness.CACHE_DIR))
    rows = []
    results: dict[str, Any] = {}
    for graph, (root, entry) in bench_graphs([g for g in ns.graphs.split(",") if g], work).items():
        url = "/" + entry.relative_to(root).as_posix()
        cache_dir = work / f"cache-{graph}"
        samples = breakdown(root, url, ns.evaluator, cache_dir, warm=not ns.cold, repeat=ns.repeat)
        results[graph] = samples
        for stat in ("mean", "p90", "max"):
            rows.append([graph, stat, *[harness.stats([s[part] for s in samples])[stat] for part in PARTS]])
        if ns.profile:
            if ns.cold:
                cache_dir = _cold(cache_dir, "profile")
            else:
                asyncio.run(_import_once(root, url, ns.evaluator, cache_dir))
            print(f"--- {graph}: the costliest functions of one {'cold' if ns.cold else 'warm'} import")
            _profile(root, url, ns.evaluator, cache_dir, ns.profile)
    print(harness.table(["graph", "stat", *PARTS], rows,
                        f"{'cold' if ns.cold else 'warm'} imports in this process, {ns.evaluator}, ms over "
                        f"{ns.repeat} imports"))
    path = harness.write_results("parts", {"cold": ns.cold, "evaluator": ns.evaluator, "samples": results})
    print(f"results: {path}")



if __name__ == "__main__":
    main()
