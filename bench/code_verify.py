"""What reading compiled code from disk costs (evaluators/code_store.py), per warm import of a whole
graph: a fresh Server imports the entry with the process's in-memory code cache emptied, so every
wrapper comes from code.sqlite, as in a warm `modrun run`. Timed by wrapping the store's methods:

- lookup: `CodeStore.get_many` (the SQLite query, the digests and the MACs);
- verify: the HMAC-SHA256 computations inside it (the price of authenticating each row);
- import: the whole import, for scale.

Also the rows read and the size of code.sqlite (with its WAL) per graph.

    python bench/code_verify.py [--repeat 20] [--graphs tree,date-fns,lodash-es] [--evaluator inprocess]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
from whole_process import bench_graphs


def _import(root: Path, url: str, evaluator: str, cache: Path) -> float:
    from runner import Server

    async def main() -> None:
        async with Server(root=root, cache_dir=cache, environments={"b": {"evaluator": evaluator}},
                          on_console=lambda level, text: None) as server:
            await server.environments["b"].import_module(url)

    started = time.perf_counter()
    asyncio.run(main())
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--graphs", default="tree,date-fns,lodash-es")
    parser.add_argument("--evaluator", default="inprocess")
    ns = parser.parse_args()
    from evaluators.code_store import CodeStore
    from evaluators.compiled_code import CODE_CACHE

    spent = {"lookup": 0.0, "verify": 0.0}

    def timed(fn: Callable[..., Any], part: str) -> Callable[..., Any]:
        return harness.timed(fn, spent, part, scale=1000)

    get_many, mac = CodeStore.get_many, CodeStore._mac
    harness.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-verify-", dir=harness.CACHE_DIR))
    rows, results = [], {}
    try:
        for graph, (root, entry) in bench_graphs([g for g in ns.graphs.split(",") if g], work).items():
            cache = work / f"cache-{graph}"
            url = "/" + entry.relative_to(root).as_posix()
            CODE_CACHE.clear()
            _import(root, url, ns.evaluator, cache)  # cold: transforms and bytecode written
            samples: dict[str, list[float]] = {"lookup": [], "verify": [], "import": []}
            CodeStore.get_many = timed(get_many, "lookup")  # type: ignore[method-assign]
            CodeStore._mac = timed(mac, "verify")  # type: ignore[method-assign]
            try:
                for _ in range(ns.repeat):
                    CODE_CACHE.clear()
                    spent.update(lookup=0.0, verify=0.0)
                    samples["import"].append(_import(root, url, ns.evaluator, cache))
                    samples["lookup"].append(spent["lookup"])
                    samples["verify"].append(spent["verify"])
            finally:
                CodeStore.get_many, CodeStore._mac = get_many, mac  # type: ignore[method-assign]
            size = sum(path.stat().st_size for path in cache.glob("code.sqlite*"))
            stats = {part: harness.stats(values) for part, values in samples.items()}
            results[graph] = {"stats": stats, "code_sqlite_bytes": size, "samples": samples}
            rows.append([graph, stats["verify"]["mean"], stats["verify"]["p90"], stats["lookup"]["mean"],
                         stats["lookup"]["p90"], stats["import"]["mean"], size / 1024])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(harness.table(["graph", "verify mean ms", "verify p90 ms", "lookup mean ms", "lookup p90 ms",
                         "import mean ms", "code.sqlite KiB"], rows,
                        f"compiled code read from disk, {ns.evaluator}, {ns.repeat} warm imports each"))
    path = harness.write_results("code_verify", {"repeat": ns.repeat, "evaluator": ns.evaluator, **results})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
