"""Host -> export call round trip into a wasm sandbox: `await mod.add(1, 2)` in a loop.

Each call is timed on its own; µs per call, p50 (the goal metric), p90, p99, mean. Rows, for the
wasm evaluator and the in-process one side by side (bench/fixtures/calls.js):

- `await mod.add(1, 2)` through the exports proxy, no limits, and with `cpu_ms` + `wall_ms` set
  (the metered path: the watchdog is armed and the thread's CPU clock read around each call);
- an async export (`addLater`: the runtime returns a promise) and `echo` of a ~200-byte object;
- the wasm layers underneath: the transport's `call_now`, `modrun_step` from the driver (with
  plain arguments, as `add(1, 2)` goes, and with JSON, as `echo` goes), and one bare export call
  through the unchecked API (`modrun_context`, which returns a pointer);
- quickjs-rs (rquickjs in wasmtime) calling `add(1, 2)` through a function handle, in its own
  environment (bench/quickjs_rs_peer.py).

Goal (from the issue): p50 <= 25 µs for the wasm evaluator's `await mod.add(1, 2)`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

import harness
import quickjs_rs_peer

from runner import Server
from runner.limits import Budget, Limits

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "calls.js"
GOAL_US = 25.0
PAYLOAD = {"id": 42, "name": "widget", "tags": ["a", "b", "c"], "price": 12.5,
           "stock": {"warehouse": 7, "store": 3}, "notes": "x" * 80, "active": True, "parent": None}
LIMITS = {"cpu_ms": 1000, "wall_ms": 5000}


async def _measure(root: Path, evaluator: str, calls: int, warmup: int) -> dict[str, list[int]]:
    environments = {"plain": {"evaluator": evaluator}, "limited": {"evaluator": evaluator, "limits": LIMITS}}
    out: dict[str, list[int]] = {}
    async with Server(root=root, cache_dir=False, environments=environments) as server:
        plain = await server.environments["plain"].import_module("/calls.js")
        limited = await server.environments["limited"].import_module("/calls.js")
        assert await plain.add(1, 2) == 3 and await limited.add(1, 2) == 3
        assert await plain.addLater(1, 2) == 3 and await plain.echo(PAYLOAD) == PAYLOAD
        add, add_limited, add_later, echo = plain.add, limited.add, plain.addLater, plain.echo
        out["await mod.add(1, 2)"] = await harness.time_calls_async(lambda: add(1, 2), calls, warmup)
        out["  with cpu/wall limits"] = await harness.time_calls_async(lambda: add_limited(1, 2), calls, warmup)
        out["await mod.addLater(1, 2) (async export)"] = await harness.time_calls_async(
            lambda: add_later(1, 2), calls // 2, warmup)
        out["await mod.echo(obj) (~200 B JSON)"] = await harness.time_calls_async(
            lambda: echo(PAYLOAD), calls // 2, warmup)
        if evaluator == "wasm":
            transport = (await server.environments["plain"].get_runner()).transport
            budget = Budget.start(Limits())
            url = plain.url
            guest = transport.guest
            request = [url.encode(), b'[["add"],[1,2]]']
            direct = [url, "add", 1, 2]
            out["layer: transport.call_now"] = harness.time_calls_sync(
                lambda: transport.call_now(budget, url, ["add"], [1, 2]), calls, warmup)
            out["layer: modrun_step (callDirect + jobs + drain)"] = harness.time_calls_sync(
                lambda: guest.step(transport._call_direct, direct), calls, warmup)
            out["layer: modrun_step (callNow, JSON, + jobs + drain)"] = harness.time_calls_sync(
                lambda: guest.step(transport._call_now, request), calls, warmup)
            out["layer: one export call (unchecked API)"] = harness.time_calls_sync(
                lambda: guest.call("modrun_context"), calls, warmup)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=2000)
    ns = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-wasm-calls-"))
    try:
        shutil.copy(FIXTURE, work / "calls.js")
        wasm = asyncio.run(_measure(work, "wasm", ns.calls, ns.warmup))
        inprocess = asyncio.run(_measure(work, "inprocess", ns.calls, ns.warmup))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    peer = quickjs_rs_peer.run("call", str(min(ns.calls, 5000)))

    summary = {"wasm": {k: harness.percentiles_us(v) for k, v in wasm.items()},
               "inprocess": {k: harness.percentiles_us(v) for k, v in inprocess.items()}}
    rows = []
    for name, s in summary["wasm"].items():
        ref = summary["inprocess"].get(name)
        rows.append([name, s["p50"], s["p90"], s["p99"], s["mean"], ref["p50"] if ref else "",
                     harness.ratio(s["p50"], ref["p50"]) if ref else ""])
    if peer:
        for label, s in peer.items():
            rows.append([f"quickjs-rs {quickjs_rs_peer.version()}: add(1, 2) via {label}", s["p50"], s["p90"], "",
                         s["mean"], "", ""])
    print(harness.table(["call", "wasm p50 µs", "p90 µs", "p99 µs", "mean µs", "in-process p50 µs",
                         "wasm / in-process"], rows, "wasm_call: host -> export call round trip, µs per call"))
    goals = [harness.goal("wasm await mod.add(1, 2) p50", summary["wasm"]["await mod.add(1, 2)"]["p50"], GOAL_US,
                          " µs")]
    print()
    print(harness.goal_lines(goals))
    path = harness.write_results("wasm_call", {"calls": ns.calls, "unit": "us", "summary": summary,
                                               "quickjs_rs": peer, "goals": goals})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
