"""Host -> export call round trip, in-process: `await mod.add(1, 2)` in a loop.

Each call is timed on its own (perf_counter_ns); reported as µs per call, p50 (the goal metric),
p90, p99 and mean. Rows:

- modrun: `await mod.add(1, 2)` through the exports proxy, no limits (the default);
- modrun with limits (`cpu_ms`, `wall_ms` set): the metered path an embedding host would use;
- modrun, an async export (`await mod.addLater(1, 2)`, the runtime returns a promise);
- modrun, `await mod.echo(obj)` with a small object (about 200 bytes of JSON) both ways;
- reference: the same `add` called directly through the `quickjs` binding (`ctx.get("add")(1, 2)`),
  and `echo` with the object passed as JSON (`ctx.parse_json`, result `.json()` + orjson).

Goal (from the issue): p50 <= 10 µs for `await mod.add(1, 2)`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

import harness
import orjson
import quickjs

from runner import Server

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "calls.js"
GOAL_US = 10.0
PAYLOAD = {"id": 42, "name": "widget", "tags": ["a", "b", "c"], "price": 12.5,
           "stock": {"warehouse": 7, "store": 3}, "notes": "x" * 80, "active": True, "parent": None}


async def _modrun(root: Path, calls: int, warmup: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    environments = {"plain": {}, "limited": {"limits": {"cpu_ms": 1000, "wall_ms": 5000}}}
    async with Server(root=root, cache_dir=False, environments=environments) as server:
        plain = await server.environments["plain"].import_module("/calls.js")
        limited = await server.environments["limited"].import_module("/calls.js")
        assert await plain.add(1, 2) == 3 and await limited.add(1, 2) == 3
        assert await plain.addLater(1, 2) == 3
        assert await plain.echo(PAYLOAD) == PAYLOAD
        add, add_limited, add_later, echo = plain.add, limited.add, plain.addLater, plain.echo
        out["modrun: await mod.add(1, 2)"] = await harness.time_calls_async(lambda: add(1, 2), calls, warmup)
        out["modrun with cpu/wall limits: await mod.add(1, 2)"] = await harness.time_calls_async(
            lambda: add_limited(1, 2), calls, warmup)
        out["modrun: await mod.addLater(1, 2) (async export)"] = await harness.time_calls_async(
            lambda: add_later(1, 2), calls // 2, warmup)
        out["modrun: await mod.echo(obj) (~200 B JSON)"] = await harness.time_calls_async(
            lambda: echo(PAYLOAD), calls // 2, warmup)
    return out


def _direct(calls: int, warmup: int) -> dict[str, list[int]]:
    context = quickjs.Context()
    context.eval(FIXTURE.read_text().replace("export async function", "async function")
                 .replace("export function", "function"))
    add = context.get("add")
    echo = context.get("echo")
    assert add(1, 2) == 3
    text = orjson.dumps(PAYLOAD).decode()

    def echo_json() -> Any:
        return orjson.loads(echo(context.parse_json(text)).json())

    assert echo_json() == PAYLOAD
    return {
        "quickjs direct: ctx.get('add')(1, 2)": harness.time_calls_sync(lambda: add(1, 2), calls, warmup),
        "quickjs direct: echo(obj) via parse_json/.json()": harness.time_calls_sync(echo_json, calls // 2, warmup),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=2000)
    ns = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-calls-"))
    try:
        (work / "package.json").write_text('{"private": true, "type": "module"}\n')
        shutil.copy(FIXTURE, work / "calls.js")
        samples = asyncio.run(_modrun(work, ns.calls, ns.warmup))
        samples.update(_direct(ns.calls, ns.warmup))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    summary = {name: harness.percentiles_us(values) for name, values in samples.items()}
    reference = summary["quickjs direct: ctx.get('add')(1, 2)"]["p50"]
    rows = [[name, s["p50"], s["p90"], s["p99"], s["mean"], harness.ratio(s["p50"], reference), s["n"]]
            for name, s in summary.items()]
    print(harness.table(["call", "p50 µs", "p90 µs", "p99 µs", "mean µs", "p50 x direct add", "calls"], rows,
                        "call_roundtrip: host -> export call, in-process, µs per call"))
    goals = [harness.goal("await mod.add(1, 2) p50", summary["modrun: await mod.add(1, 2)"]["p50"], GOAL_US, " µs")]
    print(harness.goal_lines(goals))
    path = harness.write_results("call_roundtrip", {
        "calls": ns.calls, "unit": "us", "summary": summary, "goals": goals,
    })
    print(f"results: {path}")


if __name__ == "__main__":
    main()
