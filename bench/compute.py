"""CPU-bound work through the runner vs the same code in a bare QuickJS context.

bench/fixtures/compute.js exports `fib` and `workload` (a JSON / grouping / sorting / string
mix). Each call is timed from Python, end to end:

- modrun: `mod = await env.import_module("/compute.js")`, then `await mod.fib(25)` (the exports
  proxy: the call, the result converted to Python);
- bare QuickJS: the same source with `export` removed, evaluated as a script in a fresh
  `quickjs.Context()`, the function fetched with `ctx.get` and called (object results
  converted with `.json()` + orjson, as the runner's result is);
- bare QuickJS, scoped: the same, but evaluated inside a strict function (as a module body is), so
  `fib`'s recursive calls read a closure binding instead of a global: this separates the cost
  of the runner from the cost of global lookups;
- Node (native ESM, JIT) and `node --jitless`, timed inside Node, for information.

Calls are interleaved (modrun, bare, modrun, bare…) so drift hits both alike.
Goal (from the issue): modrun <= 1.05x bare QuickJS.
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
import orjson
import quickjs

from runner import Server

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "compute.js"
CALLS: list[tuple[str, int]] = [("fib", 25), ("workload", 1000)]
GOAL = 1.05


def _bare(source: str, scoped: bool) -> tuple[quickjs.Context, dict[str, Any]]:
    context = quickjs.Context()
    script = source.replace("export function", "function")
    if scoped:
        names = ", ".join(name for name, _ in CALLS)
        script = f'globalThis.__exports = (function () {{\n"use strict";\n{script}\nreturn {{ {names} }};\n}})();'
        context.eval(script)
        return context, {name: context.eval(f"__exports.{name}") for name, _ in CALLS}
    context.eval(script)
    return context, {name: context.get(name) for name, _ in CALLS}


def _to_python(value: Any) -> Any:
    return orjson.loads(value.json()) if isinstance(value, quickjs.Object) else value


async def _measure(root: Path, repeat: int) -> dict[str, dict[str, Any]]:
    _, bare = _bare(FIXTURE.read_text(), scoped=False)
    _, scoped = _bare(FIXTURE.read_text(), scoped=True)
    out: dict[str, dict[str, Any]] = {}
    async with Server(root=root, cache_dir=False) as server:
        mod = await server.environments["ssr"].import_module("/compute.js")
        for name, arg in CALLS:
            fn = getattr(mod, name)
            expected = _to_python(bare[name](arg))
            got = await fn(arg)
            assert got == expected == _to_python(scoped[name](arg)), (name, got, expected)
            for _ in range(2):  # warm-up
                await fn(arg)
                bare[name](arg)
                scoped[name](arg)
            modrun_ms: list[float] = []
            bare_ms: list[float] = []
            scoped_ms: list[float] = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                await fn(arg)
                t1 = time.perf_counter()
                _to_python(bare[name](arg))
                t2 = time.perf_counter()
                _to_python(scoped[name](arg))
                t3 = time.perf_counter()
                modrun_ms.append((t1 - t0) * 1000)
                bare_ms.append((t2 - t1) * 1000)
                scoped_ms.append((t3 - t2) * 1000)
            out[f"{name}({arg})"] = {"modrun": modrun_ms, "bare": bare_ms, "scoped": scoped_ms, "result": expected}
    return out


def _node(path: Path, repeat: int, jitless: bool) -> dict[str, Any] | None:
    if node_peers.node() is None:
        return None
    flags = ["--jitless"] if jitless else []
    done = node_peers.run_node([*flags, node_peers.script("compute.mjs"), str(path), str(repeat),
                                json.dumps([[n, a] for n, a in CALLS])])
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40)
    ns = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-compute-"))
    try:
        (work / "package.json").write_text('{"private": true, "type": "module"}\n')
        shutil.copy(FIXTURE, work / "compute.js")
        measured = asyncio.run(_measure(work, ns.repeat))
        node_jit = _node(work / "compute.js", ns.repeat, jitless=False)
        node_jitless = _node(work / "compute.js", ns.repeat, jitless=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = []
    goals = []
    summary: dict[str, Any] = {}
    for call, data in measured.items():
        m = harness.stats(data["modrun"])
        b = harness.stats(data["bare"])
        sc = harness.stats(data["scoped"])
        r = harness.ratio(m["median"], b["median"])
        rs = harness.ratio(m["median"], sc["median"])
        row = [call, m["median"], b["median"], r, sc["median"], rs]
        entry: dict[str, Any] = {"modrun": m, "bare": b, "ratio": r, "bare_scoped": sc, "ratio_scoped": rs}
        for label, node in (("node", node_jit), ("node_jitless", node_jitless)):
            if node is not None:
                assert node[call]["result"] == data["result"], (call, label)
                s = harness.stats(node[call]["samples_ms"])
                entry[label] = s
                row += [s["median"], harness.ratio(m["median"], s["median"])]
            else:
                row += ["-", "-"]
        rows.append(row)
        summary[call] = entry
        goals.append(harness.goal(f"{call} modrun / bare QuickJS", r, GOAL))
        goals.append(harness.goal(f"{call} modrun / bare QuickJS, scoped", rs, GOAL))
    print(harness.table(
        ["call", "modrun ms", "bare qjs ms", "x bare", "scoped qjs ms", "x scoped", "node ms", "modrun x node",
         "node jitless ms", "modrun x jitless"], rows,
        f"compute: ms per call, median of {ns.repeat} (Python-side timing for modrun and bare QuickJS; "
        "Node timed inside Node)"))
    print(harness.goal_lines(goals))
    path = harness.write_results("compute", {
        "repeat": ns.repeat, "unit": "ms", "versions": {"node": node_peers.node_version()},
        "samples": {call: {k: d[k] for k in ("modrun", "bare", "scoped")} for call, d in measured.items()},
        "node": node_jit, "node_jitless": node_jitless, "summary": summary, "goals": goals,
    })
    print(f"results: {path}")


if __name__ == "__main__":
    main()
