"""Bindings and runtime recovery, in each evaluator, peers side by side in the same run.

1. Round trips, µs per call from the host (p50, p99, mean), all in one runtime per evaluator:
   - `await mod.add(1, 2)`: a plain exported function (no binding);
   - `await mod.addLater(1, 2)`: an async export (the promise path every binding call also takes);
   - `await mod.viaSync(1, 2)`: the export awaits `env.add(1, 2)`, a sync Python function (run in a
     worker thread), so host -> JS -> Python -> JS -> host;
   - `await mod.viaAsync(1, 2)`: the same through an async Python function (run on the loop);
   - `await mod.viaBytes(n)`: 1 KiB of bytes to Python and back.
   The binding's own cost is `via*` minus `addLater`.
2. Replacement: a call hits its CPU budget (LimitError); the time from that error to the end of
   the next successful call (a fresh runtime booted and the module imported again), beside the
   time of an ordinary call: the rebinding proxy (`import_module`) and the pool (`environment.call`,
   which replaces in the background).
3. 1,000 sequential pool calls where every tenth hits the CPU limit: how many others succeed, and
   the host's RSS after the first tenth of the calls and at the end (the process evaluator's workers are
   processes of their own: their RSS is not the host's, and each replacement is a new worker).

    python bench/binding_roundtrip.py [--calls 2000] [--replacements 30] [--sequential 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import harness

from runner import LimitError, Server

EVALUATORS = ("inprocess", "wasm", "process")
MODULE = """
import { add, addAsync, echo } from "modrun:env";
let count = 0;
export function inc() { return ++count; }
export function plainAdd(a, b) { return a + b; }
export async function addLater(a, b) { await null; return a + b; }
export async function viaSync(a, b) { return await add(a, b); }
export async function viaAsync(a, b) { return await addAsync(a, b); }
const kib = new Uint8Array(1024).map((_, i) => i & 255);
export async function viaBytes() { return (await echo(kib)).length; }
export function loop() { for (;;) {} }
"""


async def add_async(a: int, b: int) -> int:
    return a + b


BINDINGS = {"add": lambda a, b: a + b, "addAsync": add_async, "echo": lambda data: data}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def server(root: Path, evaluator: str, **environment: Any) -> Server:
    return Server(root=root, cache_dir=False, on_console=lambda level, text: None,
                  environments={"app": {"evaluator": evaluator, "bindings": BINDINGS, **environment}})


async def round_trips(root: Path, evaluator: str, calls: int) -> dict[str, list[int]]:
    async with server(root, evaluator) as s:
        mod = await s.environments["app"].import_module("/main.js")
        assert await mod.viaSync(1, 2) == 3 and await mod.viaAsync(1, 2) == 3 and await mod.viaBytes() == 1024
        rows = {"await mod.add(1, 2) (plain export)": lambda: mod.plainAdd(1, 2),
                "await mod.addLater(1, 2) (async export)": lambda: mod.addLater(1, 2),
                "binding, sync Python: env.add(1, 2)": lambda: mod.viaSync(1, 2),
                "binding, async Python: env.addAsync(1, 2)": lambda: mod.viaAsync(1, 2),
                "binding, 1 KiB bytes both ways": lambda: mod.viaBytes()}
        out: dict[str, list[int]] = {name: [] for name in rows}
        # Interleaved in rounds, so that the machine's load falls on every row alike.
        for _ in range(10):
            for name, call in rows.items():
                out[name] += await harness.time_calls_async(call, calls // 10, calls // 100)
        return out


async def replacement(root: Path, evaluator: str, repeat: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {"ordinary call": [], "a new runtime importing the module (no limit)": [],
                                 "limit -> next call (proxy rebinds)": [], "limit -> next call (pool)": []}
    clock = time.perf_counter_ns
    async with server(root, evaluator, pool=1) as s:
        environment = s.environments["app"]
        mod = await environment.import_module("/main.js")
        await environment.pool.start(["/main.js"])
        for _ in range(repeat):
            t0 = clock()
            await mod.inc()
            out["ordinary call"].append(clock() - t0)
            t0 = clock()
            fresh = await environment.create_runner()
            await fresh.invoke("import", ["/main.js"])
            out["a new runtime importing the module (no limit)"].append(clock() - t0)
            await fresh.close()
            try:
                await mod.loop(cpu_ms=5)
            except LimitError:
                t0 = clock()
            assert await mod.inc() == 1
            out["limit -> next call (proxy rebinds)"].append(clock() - t0)
            try:
                await environment.call("/main.js", "loop", cpu_ms=5)
            except LimitError:
                t0 = clock()
            assert await environment.call("/main.js", "inc") == 1
            out["limit -> next call (pool)"].append(clock() - t0)
    return out


async def sequential(root: Path, evaluator: str, calls: int) -> dict[str, Any]:
    ok = limits = failures = 0
    rss: dict[str, float] = {}
    started = time.perf_counter()
    async with server(root, evaluator, pool=1) as s:
        environment = s.environments["app"]
        for i in range(calls):
            if i == calls // 10:
                rss["after a tenth"] = rss_mb()
            try:
                await environment.call("/main.js", "loop" if i % 10 == 9 else "inc", cpu_ms=20)
                ok += 1
            except LimitError:
                limits += 1
            except Exception:
                failures += 1
        rss["end"] = rss_mb()
        replacements = environment.pool.replacements
    return {"calls": calls, "ok": ok, "limits": limits, "other_failures": failures, "replacements": replacements,
            "rss_mb": rss, "wall_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--replacements", type=int, default=30)
    parser.add_argument("--sequential", type=int, default=1000)
    parser.add_argument("--evaluators", default=",".join(EVALUATORS))
    ns = parser.parse_args()
    evaluators = ns.evaluators.split(",")
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-bindings-"))
    load = os.getloadavg()
    try:
        (work / "main.js").write_text(MODULE)
        trips = {ev: asyncio.run(round_trips(work, ev, ns.calls)) for ev in evaluators}
        replaced = {ev: asyncio.run(replacement(work, ev, ns.replacements)) for ev in evaluators}
        runs = {ev: asyncio.run(sequential(work, ev, ns.sequential)) for ev in evaluators}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    summary: dict[str, Any] = {"round_trips": {}, "replacement": {}, "sequential": runs,
                               "load_before": load, "load_after": os.getloadavg()}
    rows = []
    for ev in evaluators:
        reference = harness.percentiles_us(trips[ev]["await mod.add(1, 2) (plain export)"])["p50"]
        for name, samples in trips[ev].items():
            s = summary["round_trips"].setdefault(ev, {})[name] = harness.percentiles_us(samples)
            rows.append([ev, name, s["p50"], s["p99"], s["mean"], harness.ratio(s["p50"], reference), s["n"]])
    print(harness.table(["evaluator", "call", "p50 µs", "p99 µs", "mean µs", "p50 x plain", "calls"], rows,
                        "binding round trip: host -> JS -> Python -> JS -> host, µs per call"))
    rows = []
    for ev in evaluators:
        for name, samples in replaced[ev].items():
            s = summary["replacement"].setdefault(ev, {})[name] = harness.percentiles_us(samples)
            rows.append([ev, name, s["p50"] / 1000, s["p99"] / 1000, s["mean"] / 1000, s["n"]])
    print()
    print(harness.table(["evaluator", "what", "p50 ms", "p99 ms", "mean ms", "n"], rows,
                        "replacement: from a LimitError to the end of the next successful call"))
    rows = []
    for ev, r in runs.items():
        early, end = r["rss_mb"]["after a tenth"], r["rss_mb"]["end"]
        rows.append([ev, r["calls"], r["ok"], r["limits"], r["other_failures"], r["replacements"], early, end,
                     end - early, r["wall_s"]])
    print()
    print(harness.table(["evaluator", "calls", "ok", "limit", "other", "replaced", "RSS@10% MB", "RSS end MB",
                         "growth MB", "wall s"], rows, "sequential calls, every tenth over its CPU budget (20 ms)"))
    print(f"load average before {load}, after {os.getloadavg()}")
    print(f"results: {harness.write_results('binding_roundtrip', summary)}")


if __name__ == "__main__":
    main()
