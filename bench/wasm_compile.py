"""The wasm evaluator's compile of a cold import's wrappers: one compiler guest on the calling thread,
against two at once (the calling thread and a helper, evaluators/wasm/wrappers.py), on the wrappers
a whole graph asks for.

    python bench/wasm_compile.py [--rounds 9] [--graphs tree,date-fns,lodash-es]

Each graph is imported once in a wasm sandbox to collect the wrapper sources its runtime asks the
host to compile (cache_dir=False: nothing on disk). Then, rounds interleaved, a fresh compiler (its
guests new, as in a fresh process) compiles them all, on one thread and on two; wall time, and the
paired ratio of two threads to one per round. On a machine whose other core is busy the two
threads share one: the ratio then tends to 1.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
import packages
from graph import generate

from evaluators.options import RuntimeOptions
from evaluators.wasm import wrappers
from evaluators.wasm.engine import shared_engine
from evaluators.wasm.evaluator import WasmTransport
from runner import Server


def wrapper_sources(root: Path, url: str) -> list[str]:
    """The sources a wasm runtime importing `url` asks its host to compile."""
    asked: list[str] = []
    bytecode = wrappers.WasmCompiler.bytecode

    def collect(self: wrappers.WasmCompiler, sources: list[str], code: Any) -> Any:
        asked.extend(sources)
        return bytecode(self, sources, code)

    async def main() -> None:
        environments = {"e": {"evaluator": "wasm"}}
        async with Server(root=root, environments=environments, cache_dir=False,
                          on_console=lambda level, text: None) as server:
            await server.environments["e"].import_module(url)

    wrappers.WasmCompiler.bytecode = collect  # type: ignore[method-assign]
    try:
        asyncio.run(main())
    finally:
        wrappers.WasmCompiler.bytecode = bytecode  # type: ignore[method-assign]
    return asked


def graphs(names: list[str], work: Path) -> dict[str, tuple[Path, str]]:
    out: dict[str, tuple[Path, str]] = {}
    if "tree" in names:
        entry = generate(work / "tree", 500)
        out["tree"] = (work / "tree", "/" + entry.relative_to(work / "tree").as_posix())
    if any(name != "tree" for name in names):
        root, why = packages.ensure_installed()
        if root is None:
            print(f"(date-fns and lodash-es skipped: {why})")
        else:
            out.update({name: (root, f"/{name}.js") for name in names if name != "tree"})
    return out


def compile_ms(sources: list[str], threads: int) -> float:
    engine = shared_engine()
    compiler = wrappers.WasmCompiler(engine, engine.snapshot(WasmTransport.runtime_config(RuntimeOptions())))
    minimum = wrappers.PARALLEL_MIN
    wrappers.PARALLEL_MIN = minimum if threads == 2 else len(sources) + 1
    try:
        started = time.perf_counter()
        compiled, _ = compiler._compile_all(sources)
        elapsed = (time.perf_counter() - started) * 1000
    finally:
        wrappers.PARALLEL_MIN = minimum
    if not any(compiled):
        raise RuntimeError("nothing compiled")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--graphs", default="tree,date-fns,lodash-es")
    ns = parser.parse_args()
    rows = []
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="modrun-bench-wasm-compile-") as scratch:
        for name, (root, url) in graphs([g for g in ns.graphs.split(",") if g], Path(scratch)).items():
            sources = wrapper_sources(root, url)
            compile_ms(sources, 1)  # unmeasured: the snapshot loaded, the helper thread started
            compile_ms(sources, 2)
            samples: dict[int, list[float]] = {1: [], 2: []}
            for _ in range(ns.rounds):
                for threads in (1, 2):
                    samples[threads].append(compile_ms(sources, threads))
            paired = harness.stats([two / one for one, two in zip(samples[1], samples[2], strict=True)])
            one, two = harness.stats(samples[1]), harness.stats(samples[2])
            results[name] = {"sources": len(sources), "one thread": one, "two threads": two, "two / one": paired}
            rows.append([name, len(sources), one["mean"], one["p90"], two["mean"], two["p90"], paired["mean"],
                         paired["p90"]])
    print(harness.table(["graph", "wrappers", "1 thread mean ms", "p90", "2 threads mean ms", "p90",
                         "2 / 1 (mean)", "p90"], rows,
                        f"wasm_compile: a cold import's wrappers compiled, wall time, {ns.rounds} interleaved rounds"))
    harness.write_results("wasm_compile", {"rounds": ns.rounds, "graphs": results})


if __name__ == "__main__":
    main()
