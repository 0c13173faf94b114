"""The cost of a live import binding in a hot loop.

bench/fixtures/live_binding/main.js imports `inc` from lib.js and runs the same loop of N calls
(5e6 by default) four ways: through the import binding (`inc(s)`, a function declaration never
reassigned), through the binding of an exported `let` that lib.js reassigns somewhere
(`incLet(s)`, information only), through a local alias (`const incAlias = inc`), and with a
function of its own module. Each loop is timed inside the
runtime (`performance.now()`), so host round trips do not count. Side by side:

- modrun (QuickJS-ng in-process, the module imported through the runner);
- Vite 8's ModuleRunner in Node (`__vite_ssr_import_0__.inc` getter per call);
- native Node ESM.

Goal (from the issue): through modrun, imported / local alias <= 1.5x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import harness
import node_peers

from runner import Server

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "live_binding"
LOOPS = ("viaImport", "viaImportLet", "viaAlias", "viaLocal")
GOAL = 1.5


async def _modrun(root: Path, n: int, repeat: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    async with Server(root=root, cache_dir=False) as server:
        mod = await server.environments["ssr"].import_module("/main.js")
        for name in LOOPS:
            first = await mod.timed(name, n)  # warm-up, and a check that the loop ran
            assert first["result"] == n, (name, first)
            out[name] = [(await mod.timed(name, n))["ms"] for _ in range(repeat)]
    return out


def _node(mode: str, root: Path, n: int, repeat: int) -> dict[str, list[float]] | None:
    if node_peers.node() is None or (mode == "vite" and node_peers.ensure_vite() is None):
        return None
    done = node_peers.run_node([node_peers.script("live_binding.mjs"), mode, str(root), str(n), str(repeat)])
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=float, default=5e6)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--node-repeat", type=int, default=15)
    ns = parser.parse_args()
    n = int(ns.calls)
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-live-"))
    try:
        shutil.copytree(FIXTURE, work, dirs_exist_ok=True)
        peers: dict[str, dict[str, list[float]] | None] = {
            "modrun (QuickJS-ng)": asyncio.run(_modrun(work, n, ns.repeat)),
            "Vite 8 ModuleRunner (node)": _node("vite", work, n, ns.node_repeat),
            "native ESM (node)": _node("native", work, n, ns.node_repeat),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows: list[list[Any]] = []
    summary: dict[str, Any] = {}
    for peer, samples in peers.items():
        if samples is None:
            rows.append([peer, "unavailable", "-", "-", "-", "-", "-", "-"])
            continue
        med = {name: harness.stats(samples[name])["median"] for name in LOOPS}
        r = harness.ratio(med["viaImport"], med["viaAlias"])
        r_let = harness.ratio(med["viaImportLet"], med["viaAlias"])
        rows.append([peer, med["viaImport"], med["viaImportLet"], med["viaAlias"], med["viaLocal"], r, r_let,
                     med["viaImport"] / n * 1e6])
        summary[peer] = {"median_ms": med, "import_over_alias": r, "import_let_over_alias": r_let}
    print(harness.table(["runtime", "imported ms", "imported let ms", "local alias ms", "own function ms",
                         "imported x alias", "let x alias", "ns/imported call"], rows,
                        f"live_binding: {n:,} calls per loop, timed inside the runtime, median "
                        f"(modrun of {ns.repeat}, node of {ns.node_repeat})"))
    modrun = summary["modrun (QuickJS-ng)"]
    goals = [harness.goal("modrun imported / local alias", modrun["import_over_alias"], GOAL)]
    print(harness.goal_lines(goals))
    path = harness.write_results("live_binding", {
        "calls": n, "unit": "ms", "versions": {"node": node_peers.node_version(), "vite": node_peers.vite_version()},
        "samples": peers, "summary": summary, "goals": goals,
    })
    print(f"results: {path}")


if __name__ == "__main__":
    main()
