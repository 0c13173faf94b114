"""`modrun bench` harness overhead: an empty benchmark's time per iteration as the harness measures it
(its own `measure`, as a bench run calls it) against the same loop written by hand, in the same
engine, with the harness's iteration count and sample count, alternating ROUNDS times in one runtime
so that the machine's load touches both alike. Runtimes: modrun's three evaluators, Node and
`node --jitless`. Repeated REPEAT times, each in a fresh runtime.

    python bench/bench_overhead.py [--repeat 5] [--rounds 15] [--time 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import harness

from runner import Server
from runner.bench.adapters import JS_DIR, adapter_plugin, node_map

COMPARE = """
import { measure } from "modrun:bench";

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

// The harness's timed loop (runner/bench/js/harness.js) as a user would write it by hand.
function handLoop(n, k) {
  const f = () => {};
  const out = [];
  for (let s = 0; s < k; s++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    out.push((performance.now() - t0) / n);
  }
  return out;
}

export async function compare(rounds, timeMs) {
  const entry = { id: "empty", name: "empty", fn: () => {}, kind: "fn", options: {} };
  const harness = [];
  const hand = [];
  for (let r = 0; r < rounds; r++) {
    const m = await measure(entry, {}, { timeMs, warmupMs: 20 });
    harness.push(median(m.samples_ms) * 1e6);
    hand.push(median(handLoop(m.iterations_per_sample, m.samples_ms.length)) * 1e6);
  }
  return { harness, hand };
}
"""
NODE_MAIN = """
import { register } from "node:module";
const [hooks, modules, rounds, timeMs] = process.argv.slice(2);
register(hooks, { data: { modules: JSON.parse(modules) } });
const { compare } = await import(new URL("./compare.js", import.meta.url));
console.log(JSON.stringify(await compare(Number(rounds), Number(timeMs))));
"""


def in_node(root: Path, flags: list[str], rounds: int, time_ms: float) -> dict[str, list[float]]:
    done = subprocess.run(["node", *flags, str(root / "main.mjs"), (JS_DIR / "node_hooks.mjs").as_uri(),
                           json.dumps(node_map()), str(rounds), str(time_ms)],
                          capture_output=True, text=True, check=True, cwd=root)
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def in_modrun(root: Path, evaluator: str, rounds: int, time_ms: float) -> dict[str, list[float]]:
    async def run() -> dict[str, list[float]]:
        async with Server(root=root, environments={"e": {"evaluator": evaluator}}, plugins=[adapter_plugin()],
                          cache_dir=False) as server:
            module = await server.environments["e"].import_module("/compare.js")
            return await module.compare(rounds, time_ms)  # type: ignore[no-any-return]

    return asyncio.run(run())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--time", type=float, default=0.1, help="the harness's measuring time per round, s")
    ns = parser.parse_args(argv)
    runtimes: list[tuple[str, list[str] | None]] = [("inprocess", None), ("wasm", None), ("process", None)]
    if shutil.which("node"):
        runtimes += [("node", []), ("node-jitless", ["--jitless"])]
    found: dict[str, dict[str, list[float]]] = {name: {"harness": [], "hand": [], "ratio": []} for name, _ in runtimes}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "compare.js").write_text(COMPARE)
        (root / "main.mjs").write_text(NODE_MAIN)
        for i in range(ns.repeat):
            print(f"repeat {i + 1}/{ns.repeat}", flush=True)
            for name, flags in runtimes:
                answer = (in_node(root, flags, ns.rounds, ns.time * 1000) if flags is not None
                          else in_modrun(root, name, ns.rounds, ns.time * 1000))
                entry = found[name]
                entry["harness"] += answer["harness"]
                entry["hand"] += answer["hand"]
                entry["ratio"] += [a / b for a, b in zip(answer["harness"], answer["hand"], strict=True)]
    rows, goals = [], []
    for name, entry in found.items():
        ratios = sorted(entry["ratio"])
        p10, p90 = ratios[len(ratios) // 10], ratios[(9 * len(ratios)) // 10]
        rows.append([name, statistics.median(entry["harness"]), statistics.median(entry["hand"]),
                     statistics.fmean(ratios), statistics.median(ratios), p10, p90])
        goals.append(harness.goal(f"harness overhead, {name} (median of paired ratios)", statistics.median(ratios),
                                  1.05))
    print(harness.table(["runtime", "harness ns/iter (median)", "hand loop ns/iter (median)", "ratio mean",
                         "ratio median", "ratio p10", "ratio p90"], rows,
                        f"=== empty benchmark: {ns.repeat} runtimes x {ns.rounds} paired rounds ==="))
    print(harness.goal_lines(goals))
    path = harness.write_results("bench_overhead", {"repeat": ns.repeat, "rounds": ns.rounds, "time_s": ns.time,
                                                     "runs": found, "rows": rows, "goals": goals})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
