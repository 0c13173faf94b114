"""Re-importing a 500-module graph into a fresh runtime, with the transforms already done.

One Server imports the graph once (every transform done and held in the environment's module
graph). Then, repeatedly, a fresh runtime (new QuickJS context, `env.create_runner()`) imports
the entry: it fetches every module from the environment (`fetchModule` answers from memory),
links and evaluates them. Reported per module (wall time, and the host process's CPU time, which a
loaded machine disturbs less; the process evaluator's worker is not in it), with a breakdown:

- runtime creation: `create_runner()` (QuickJS context + the runner bundle booted in it);
- engine: time inside the engine (`transport.receive`, which runs synchronously: delivering
  answers, compiling the wrappers, linking, evaluating, JSON in and out);
- host: the rest of the import (Python: the `fetchModule` handlers, asyncio, dispatch); the
  `fetchModule` requests the runner made (one, with the graph, where every module is warm: see
  runner/rpc/graph_fetch.py) are also replayed one by one to show their own cost.

Three graphs: the generated 501-module tree (bench/graph.py), and two real npm packages from the
pinned bench npm cache (bench/packages.py): date-fns's whole index and lodash-es's, each imported
by name and as a namespace. Side by side: Vite 8's ModuleRunner in Node doing the same
(`runner.clearCache()` then `runner.import(entry)`, server transforms warm, node_modules through
the runner too), and a floor for QuickJS itself: compiling the transformed wrappers
(`new AsyncFunction`) in a bare context (and, for the tree, evaluating them with a minimal loader,
compiled or read from bytecode as the compiled-code cache gives them).

The goal metric runs in-process with the compiled-code cache on (evaluators/compiled_code.py: the
wrappers read as bytecode compiled once per host process); the table adds the cache off, the wasm
evaluator and the process evaluator, each a whole series of its own (means and p90: the machine's
load shows in the tails).

Goal (issue 8, item 4): <= 0.1 ms per module for the fresh-runtime import.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
import node_peers
import packages
import quickjs_floor
from graph import generate

from evaluators.compiled_code import CODE_CACHE
from runner import Server
from runner.file_identity import RACY_S
from runner.rpc.exports import ModuleProxy

GOAL_MS = 0.1


def _split_engine(engine: Any) -> dict[str, float]:
    """Time the QuickJS engine's two entry points apart from the job queue: `deliver` (JSON.parse
    of the host's answers, with the code, and their dispatch) and `drain` (JSON.stringify of the
    runtime's requests). Relies on evaluators/quickjs_engine.py internals; gives nothing if they
    are not there."""
    parts = {"deliver": 0.0, "drain": 0.0}
    if not (hasattr(engine, "_receive") and hasattr(engine, "_drain")):
        return {}
    for attribute, part in (("_receive", "deliver"), ("_drain", "drain")):
        inner = getattr(engine, attribute)

        def timed(*args: Any, _inner: Any = inner, _part: str = part) -> Any:
            s = time.perf_counter()
            try:
                return _inner(*args)
            finally:
                parts[_part] += time.perf_counter() - s

        setattr(engine, attribute, timed)
    return parts


async def _measure(work: Path, entry: str, repeat: int, instrumented: bool, evaluator: str = "inprocess",
                   code_cache: bool = True) -> dict[str, Any]:
    """Per-run timings in ms; with `instrumented`, also the engine's share, the number of engine
    turns and the fetch requests (replayed afterwards, one at a time). `code_cache`: whether fresh
    runtimes take their wrappers from the process's compiled code (evaluators/compiled_code.py)."""
    size = CODE_CACHE.max_bytes
    CODE_CACHE.clear()
    CODE_CACHE.max_bytes = size if code_cache else 0
    # A process runtime is a new worker process, whose compiled code in memory starts empty: its wrappers
    # come from the code store on disk, so that series gets a cache directory (the others need none).
    scratch = tempfile.TemporaryDirectory(prefix="modrun-reimport-") if evaluator == "process" else None
    try:
        return await _measure_runs(work, entry, repeat, instrumented, evaluator,
                                   False if scratch is None else Path(scratch.name))
    finally:
        CODE_CACHE.max_bytes = size
        if scratch is not None:
            scratch.cleanup()


async def _measure_runs(work: Path, entry: str, repeat: int, instrumented: bool, evaluator: str,
                        cache_dir: Path | bool) -> dict[str, Any]:
    runs: list[dict[str, float]] = []
    requests: list[tuple[Any, ...]] = []
    modules: dict[str, dict[str, Any]] = {}
    printed: list[str] = []  # what the entry printed: every run must print the same

    def capture(level: str, text: str) -> None:
        printed.append(text)

    async with Server(root=work, cache_dir=cache_dir, on_console=capture,
                      environments={"ssr": {"evaluator": evaluator}}) as server:
        env = server.environments["ssr"]
        first = await env.import_module(entry)  # all transforms done, held in the module graph
        checksum = getattr(first, "checksum", None)
        output = list(printed)
        count = len(env.module_graph.url_to_module)
        cached_runner = await env.get_runner()
        # A module already in the runner: the cost of the import call alone.
        n_cached = 300
        started = time.perf_counter()
        for _ in range(n_cached):
            await ModuleProxy.load(cached_runner, entry)
        cached_us = (time.perf_counter() - started) / n_cached * 1e6
        for i in range(repeat + 1):  # the first is a warm-up
            engine_s = 0.0
            turns = 0
            requests.clear()
            printed.clear()
            c0 = time.process_time()
            t0 = time.perf_counter()
            runner = await env.create_runner(on_console=capture)
            t1 = time.perf_counter()
            if instrumented:
                fetch = runner.handlers["fetchModule"]
                receive = runner.transport.receive

                def recording_fetch(*args: Any, _fetch: Any = fetch) -> Any:
                    requests.append(args)
                    return _fetch(*args)

                async def timed_receive(budget: Any, _receive: Any = receive) -> Any:
                    nonlocal engine_s, turns
                    s = time.perf_counter()
                    result = await _receive(budget)
                    engine_s += time.perf_counter() - s
                    turns += 1
                    return result

                runner.handlers["fetchModule"] = recording_fetch
                runner.transport.receive = timed_receive  # type: ignore[method-assign]
                parts = _split_engine(getattr(runner.transport, "quickjs", None))
            proxy = await ModuleProxy.load(runner, entry)
            t2 = time.perf_counter()
            c2 = time.process_time()
            assert getattr(proxy, "checksum", None) == checksum and printed == output, (printed, output)
            await runner.close()
            if i == 0:
                continue
            run = {"create_ms": (t1 - t0) * 1000, "import_ms": (t2 - t1) * 1000, "total_ms": (t2 - t0) * 1000,
                   "cpu_ms": (c2 - c0) * 1000}
            if instrumented:
                run["engine_ms"] = engine_s * 1000
                run["host_ms"] = run["import_ms"] - run["engine_ms"]
                run["turns"] = turns
                run["fetches"] = len(requests)
                if parts:
                    run["deliver_ms"] = parts["deliver"] * 1000
                    run["drain_ms"] = parts["drain"] * 1000
                    run["jobs_ms"] = run["engine_ms"] - run["deliver_ms"] - run["drain_ms"]
            runs.append(run)
        replay: list[float] = []
        if instrumented:
            for _ in range(3):
                handlers = env.invoke_handlers()  # what a fresh runner's requests get
                fetch = handlers["fetchModule"]
                started = time.perf_counter()
                results = [await fetch(*args) for args in requests]
                replay.append((time.perf_counter() - started) * 1000)
                for result in results:
                    for module in [result, *result.get("graph", [])]:  # with the graph it was sent
                        # (sent as a key where the runtime takes its wrapper by key: runner/rpc/code_keys.py)
                        code = module.get("code")
                        if code is None:
                            code = (await handlers["fetchCode"]([module["codeKey"]]))[0]
                        modules[module["url"]] = {"code": code, "resolved": module["modrun"]["resolved"]}
    return {"runs": runs, "modules": modules, "checksum": checksum, "cached_us": cached_us, "replay_ms": replay,
            "count": count}


def _vite(work: Path, entry: str, repeat: int) -> dict[str, Any] | None:
    if node_peers.ensure_vite() is None:
        return None
    done = node_peers.run_node([node_peers.script("vite_import.mjs"), str(work), entry, str(repeat + 1), "inline"],
                               cwd=work)
    data = json.loads(done.stderr.strip().splitlines()[-1])
    data["reimport_ms"] = data["reimport_ms"][1:]  # drop the first (JIT warm-up)
    return data


def _graph(label: str, work: Path, entry: str, repeat: int) -> dict[str, Any]:
    """Every series on one graph, and its tables printed."""
    measured = asyncio.run(_measure(work, entry, repeat, instrumented=False))
    n = measured["count"]
    # The same in the other configurations, for comparison (the cache off: every runtime compiles).
    variants = {}
    for evaluator, cached in (("inprocess", False), ("wasm", True), ("wasm", False), ("process", True)):
        runs = asyncio.run(_measure(work, entry, repeat, False, evaluator, cached))["runs"]
        variants[f"{evaluator}, compiled-code cache {'on' if cached else 'off'}"] = harness.stats(
            [r["total_ms"] for r in runs])
    probed = asyncio.run(_measure(work, entry, max(3, repeat // 3), instrumented=True))
    plain, cached_us = measured["runs"], measured["cached_us"]
    instrumented, modules = probed["runs"], probed["modules"]
    floor = quickjs_floor.compile_ms(modules)
    load_floor = (quickjs_floor.load_ms(modules, entry, "checksum", probed["checksum"])
                  if probed["checksum"] is not None else None)
    bytecode_floor = (quickjs_floor.bytecode_load_ms(modules, entry, "checksum", probed["checksum"])
                      if probed["checksum"] is not None else None)
    vite = _vite(work, entry, repeat)

    def col(runs: list[dict[str, float]], key: str) -> dict[str, float]:
        return harness.stats([r[key] for r in runs])

    total = col(plain, "total_ms")
    imp = col(plain, "import_ms")
    create = col(plain, "create_ms")
    vite_re = harness.stats(vite["reimport_ms"]) if vite else None

    def row(what: str, s: dict[str, float]) -> list[Any]:
        return [what, s["mean"], s["p90"], s["mean"] / n, s["p90"] / n,
                harness.ratio(s["mean"], vite_re["mean"]) if vite_re else "-"]

    cpu = col(plain, "cpu_ms")
    rows = [row("modrun: fresh runtime + import (goal metric)", total),
            row("modrun:   the same, CPU time of the host process", cpu),
            row("modrun:   runtime creation", create),
            row("modrun:   import into the fresh runtime", imp)]
    for name, stats in variants.items():
        rows.append(row(f"modrun {name}: fresh runtime + import", stats))
    if vite_re:
        rows.append(row("Vite 8 runner: clearCache() + import", vite_re))
    rows.append(row("floor: compile every wrapper, bare QuickJS", harness.stats(floor)))
    if load_floor is not None:
        rows.append(row("floor: compile + evaluate, minimal loader, bare QuickJS", harness.stats(load_floor)))
    if bytecode_floor is not None:
        rows.append(row("floor: bytecode read + evaluate, minimal loader, bare QuickJS",
                        harness.stats(bytecode_floor["total_ms"])))
        rows.append(row("floor:   of which reading the bytecode", harness.stats(bytecode_floor["read_ms"])))
    size = sum(len(m["code"]) for m in modules.values()) / len(modules)
    print(harness.table(["run", "ms (mean)", "ms (p90)", "ms/module (mean)", "ms/module (p90)", "x Vite (means)"], rows,
                        f"warm_reimport, {label}: {n} modules ({size:,.0f} bytes each after transform), transforms "
                        f"warm in the environment ({repeat} runs each)"))

    b_rows = []
    keys = [("create_ms", "runtime creation"), ("engine_ms", "engine (compile, link, evaluate, JSON)"),
            ("deliver_ms", "  engine: deliver answers (JSON.parse, dispatch)"),
            ("jobs_ms", "  engine: job queue (compile, link, evaluate)"),
            ("drain_ms", "  engine: drain requests (JSON.stringify)"),
            ("host_ms", "host (fetchModule handlers, asyncio, dispatch)"), ("total_ms", "total")]
    inst_total = col(instrumented, "total_ms")["median"]
    for key, part in keys:
        if key not in instrumented[0]:
            continue
        s = col(instrumented, key)
        b_rows.append([part, s["median"], s["median"] / n, s["median"] / inst_total])
    replay = harness.stats(probed["replay_ms"])
    b_rows.append([f"  of which: the {instrumented[0]['fetches']} fetchModule requests replayed one by one",
                   replay["median"], replay["median"] / n, replay["median"] / inst_total])
    print()
    print(harness.table(["part", "ms (median)", "ms/module", "share"], b_rows,
                        f"breakdown, {label} (instrumented runs, median of {len(instrumented)}; "
                        f"{instrumented[0]['turns']} engine turns and {instrumented[0]['fetches']} fetches "
                        "per import)"))
    print()
    other = [["modrun: import of a module already in the runner", cached_us, "µs"]]
    if vite:
        other.append(["Vite 8 runner: import of a cached module", vite["cached_us"], "µs"])
    print(harness.table(["cached import", "per call", "unit"], other))
    print()
    return {
        "modules": n, "runs": plain, "instrumented_runs": instrumented,
        "fetch_replay_ms": probed["replay_ms"], "compile_floor_ms": floor, "load_floor_ms": load_floor,
        "bytecode_floor_ms": bytecode_floor,
        "bytes_per_module": size, "cached_import_us": cached_us, "vite": vite,
        "summary": {"total": total, "cpu": cpu, "import": imp, "create": create, "vite_reimport": vite_re,
                    "variants": variants},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-packages", action="store_true", help="the generated tree only")
    ns = parser.parse_args()

    results: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-reimport-"))
    try:
        generate(work, ns.modules)
        # A file changed less than RACY_S ago is read again on every fetch (its stamp cannot yet
        # stand for its contents: runner/file_identity.py); a user's files are older than that.
        time.sleep(RACY_S)
        results["tree"] = _graph("generated tree", work, "/entry.js", ns.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not ns.no_packages:
        installed, reason = packages.ensure_installed()
        if installed is None:
            print(f"npm packages skipped: {reason}")
        else:
            for entry, package in packages.ENTRIES.items():
                label = f"{package} {packages.version(package)}"
                results[package] = _graph(label, installed, "/" + entry, ns.repeat)
    goals = [harness.goal(f"fresh-runtime import, ms per module (mean), {name}",
                          data["summary"]["total"]["mean"] / data["modules"], GOAL_MS, " ms")
             for name, data in results.items()]
    print(harness.goal_lines(goals))
    path = harness.write_results("warm_reimport", {
        "repeat": ns.repeat, "unit": "ms",
        "versions": {"node": node_peers.node_version(), "vite": node_peers.vite_version(),
                     **{package: packages.version(package) for package in packages.ENTRIES.values()}},
        "graphs": results, "goals": goals,
    })
    print(f"results: {path}")


if __name__ == "__main__":
    main()
