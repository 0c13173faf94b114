"""Timers driven by the host's loop: how late they fire, and what a timer costs, in the three
evaluators beside Node (the same module, bench/fixtures/timers.js), rounds alternated in one run.

- lateness: `await new Promise(r => setTimeout(r, MS))`, N times in a row: ms beyond MS (p50,
  p90, max, mean). The host sleeps until the runtime's next timer is due and wakes it; Node's
  libuv loop does the same natively.
- burst: N zero-delay timers set at once, until the last has run: µs per timer.
- chain: zero-delay timers each set by the previous one: ms per hop. modrun clamps to 4 ms after
  five levels, as browsers and workerd do; Node clamps every timer to 1 ms instead, so this row
  shows the policy, not speed.

No goal: the issue asks for correct, bounded timers; these numbers say what they cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

import harness
import node_peers

from runner import Server

FIXTURE = harness.BENCH_DIR / "fixtures" / "timers.js"
EVALUATORS = ("inprocess", "wasm", "process")


async def modrun_round(evaluator: str, root: Path, ms: int, n: int, burst_n: int, chain_n: int) -> dict[str, Any]:
    async with Server(root=root, cache_dir=False, environments={"e": {"evaluator": evaluator}}) as server:
        timers = await server.environments["e"].import_module("/timers.js")
        return {"lateness": await timers.lateness(ms, n), "burst": await timers.burst(burst_n),
                "chain": await timers.chain(chain_n)}


def node_round(root: Path, ms: int, n: int, burst_n: int, chain_n: int) -> dict[str, Any] | None:
    if node_peers.node() is None:
        return None
    done = node_peers.run_node([node_peers.script("timers.mjs"), str(root / "timers.js"), str(ms), str(n),
                                str(burst_n), str(chain_n)])
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ms", type=int, default=10, help="the timeout whose lateness is measured")
    parser.add_argument("-n", type=int, default=30, help="timeouts per round")
    parser.add_argument("--burst", type=int, default=5000)
    parser.add_argument("--chain", type=int, default=50)
    ns = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="modrun-bench-timers-"))
    shutil.copyfile(FIXTURE, root / "timers.js")
    peers = [*EVALUATORS, "node"]
    samples: dict[str, dict[str, list[float]]] = {p: {"lateness": [], "burst": [], "chain": []} for p in peers}
    try:
        for _ in range(ns.rounds):
            for peer in peers:
                result = (node_round(root, ns.ms, ns.n, ns.burst, ns.chain) if peer == "node" else
                          asyncio.run(modrun_round(peer, root, ns.ms, ns.n, ns.burst, ns.chain)))
                if result is None:
                    continue
                samples[peer]["lateness"] += result["lateness"]
                samples[peer]["burst"].append(result["burst"] * 1000 / ns.burst)
                samples[peer]["chain"].append(result["chain"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows, summary = [], {}
    for peer in peers:
        late, burst, chain = samples[peer]["lateness"], samples[peer]["burst"], samples[peer]["chain"]
        if not late:
            rows.append([peer, "node is not installed", "", "", "", "", ""])
            continue
        s = harness.stats(late)
        summary[peer] = {"lateness_ms": {**s, "mean": statistics.fmean(late)},
                         "burst_us_per_timer": harness.stats(burst), "chain_ms_per_hop": harness.stats(chain)}
        rows.append([peer, s["median"], s["p90"], s["max"], statistics.fmean(late),
                     statistics.median(burst), statistics.median(chain)])
    print(harness.table(["runtime", "late p50 ms", "late p90 ms", "late max ms", "late mean ms",
                         "burst µs/timer", "chain ms/hop"], rows,
                        title=f"setTimeout({ns.ms} ms) x {ns.n} x {ns.rounds} rounds; burst of {ns.burst}; "
                              f"chain of {ns.chain}  (load {os.getloadavg()[0]:.1f})"))
    path = harness.write_results("timers", {"parameters": vars(ns), "results": summary})
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
