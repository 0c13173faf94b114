"""HMR latency: a file saved -> the update applied inside the runtime (the accepting module's
callback has run with the new code), per evaluator, with Vite 8's own SSR HMR (its watcher, its
server module runner in Node) on the same project in the same run.

The project: /main.js imports /dep.js and 50 small modules under parts/, and accepts ./dep.js.
Each edit rewrites dep.js; modrun's time runs from the write to the runtime's report (the watcher,
the hot_update pass, the new transform, the `hmr` payload, fetchModule, evaluation and the accept
callback all inside it); Vite's from the write to its accept callback.

With --soak N it also edits N times in one runtime per evaluator and reports the host's RSS growth
after the first 10% of the edits, and the modules held by the module graph and by the runtime's
store (a leak shows as growth). Goal (issue 13): p50 <= 30 ms and faster than Vite; RSS growth
under 5% over 1,000 edits.

    python bench/hmr_latency.py [--edits 200] [--evaluators inprocess,wasm,process] [--soak 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
import node_peers

from runner import Server
from runner.hmr.channel import HotReport

PARTS = 50
PAUSE_S = 0.1  # between edits, untimed, as on Vite's side (its watcher drops changes that come too close)


def make_project(root: Path) -> None:
    (root / "parts").mkdir(parents=True)
    for i in range(PARTS):
        (root / "parts" / f"p{i}.js").write_text(
            f"export const name = 'p{i}';\nexport function f{i}(x) {{ return x + {i}; }}\n")
    imports = "".join(f'import * as p{i} from "./parts/p{i}.js";\n' for i in range(PARTS))
    (root / "dep.js").write_text("export const value = 0;\n")
    (root / "main.js").write_text(
        'import { value } from "./dep.js";\n' + imports +
        f"export const parts = [{', '.join(f'p{i}.name' for i in range(PARTS))}];\n"
        "let current = value;\nexport const read = () => current;\n"
        'import.meta.hot.accept("./dep.js", (mod) => {\n'
        '  current = mod.value;\n  globalThis.__hmrApplied?.(mod.value);\n});\n')


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]
    return {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "mean": statistics.fmean(ordered),
            "max": ordered[-1], "n": len(ordered)}


async def modrun_edits(root: Path, evaluator: str, edits: int, soak: bool = False) -> dict[str, Any]:
    async with Server(root=root, hmr=True, cache_dir=False, environments={"ssr": {"evaluator": evaluator}},
                      on_console=lambda level, text: None) as server:
        env = server.environments["ssr"]
        main = await env.import_module("/main.js")
        reports: asyncio.Queue[HotReport] = asyncio.Queue()
        env.hot.subscribe(reports.put_nowait)
        await server.watch()
        ms: list[float] = []
        to_sent: list[float] = []  # write -> payload sent: the watcher, the hot_update pass, the transform
        rss_start = graph_start = store_start = 0
        store = 0
        for i in range(1, edits + 1):
            started = time.perf_counter()
            (root / "dep.js").write_text(f"export const value = {i};\n")
            report = await asyncio.wait_for(reports.get(), 30)
            while report.sent_at < started:  # a late report of the edit before (a write seen as two bursts)
                report = await asyncio.wait_for(reports.get(), 30)
            if report.errors or not report.updated:
                raise RuntimeError(f"edit {i}: {report}")
            ms.append((report.applied_at - started) * 1000)
            to_sent.append((report.sent_at - started) * 1000)
            await asyncio.sleep(PAUSE_S)
            store = report.modules
            if soak and i == max(1, edits // 10):
                rss_start, graph_start, store_start = rss_kb(), len(env.module_graph.id_to_module), store
        value = await main.read()
        if value != edits:
            raise RuntimeError(f"after {edits} edits the runtime reads {value}")
        out: dict[str, Any] = {"ms": ms, "to_sent": to_sent}
        if soak:
            out.update(rss_kb_start=rss_start, rss_kb_end=rss_kb(), graph_start=graph_start,
                       graph_end=len(env.module_graph.id_to_module), store_start=store_start, store_end=store)
        return out


def vite_edits(root: Path, edits: int) -> list[float] | None:
    if node_peers.node() is None or node_peers.ensure_vite() is None:
        return None
    done = node_peers.run_node([node_peers.script("vite_hmr.mjs"), str(root), str(edits)], timeout=600)
    return list(json.loads(done.stdout.strip().splitlines()[-1])["ms"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--evaluators", default="inprocess,wasm,process")
    parser.add_argument("--soak", type=int, default=0, metavar="N")
    ns = parser.parse_args()
    evaluators = ns.evaluators.split(",")
    results: dict[str, Any] = {"edits": ns.edits, "parts": PARTS, "rows": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in evaluators:
            root = Path(tmp) / name
            make_project(root)
            found = asyncio.run(modrun_edits(root, name, ns.edits))
            results["rows"][name] = summary(found["ms"])
            # Where the time goes: up to the payload sent (watcher, hot_update pass, transform), then
            # in the runtime (the hmr invoke: fetchModule, evaluation, the accept callback).
            results["rows"][name]["sent_p50"] = summary(found["to_sent"])["p50"]
            results["rows"][name]["runtime_p50"] = summary([t - s for t, s in zip(found["ms"], found["to_sent"],
                                                                                   strict=True)])["p50"]
        root = Path(tmp) / "vite"
        make_project(root)
        vite = vite_edits(root, ns.edits)
        if vite is not None:
            results["rows"]["vite"] = summary(vite)
        soak: dict[str, Any] = {}
        if ns.soak:
            for name in evaluators:
                root = Path(tmp) / f"soak-{name}"
                make_project(root)
                found = asyncio.run(modrun_edits(root, name, ns.soak, soak=True))
                found.pop("ms")
                found["rss_growth_pct"] = 100 * (found["rss_kb_end"] - found["rss_kb_start"]) / found["rss_kb_start"]
                soak[name] = found
            results["soak"] = soak
    vite_p50 = results["rows"].get("vite", {}).get("p50")
    rows = [[name, *(harness.fmt(r[k], 3) for k in ("p50", "p90", "p99", "mean", "max")), r["n"],
             harness.fmt(r["p50"] / vite_p50, 3) if vite_p50 else "-",
             *(harness.fmt(r[k], 3) if k in r else "-" for k in ("sent_p50", "runtime_p50"))]
            for name, r in results["rows"].items()]
    print(harness.table(["runtime", "p50 ms", "p90 ms", "p99 ms", "mean ms", "max ms", "edits", "p50 / Vite",
                         "to sent p50", "runtime p50"], rows,
                        title=f"file saved -> update applied ({PARTS + 2} modules, node {node_peers.node_version()}, "
                              f"vite {node_peers.vite_version()})"))
    if soak:
        print(harness.table(["runtime", "edits", "RSS start KiB", "RSS end KiB", "growth %", "graph", "store"],
                            [[n, ns.soak, s["rss_kb_start"], s["rss_kb_end"], harness.fmt(s["rss_growth_pct"], 3),
                              f"{s['graph_start']} -> {s['graph_end']}", f"{s['store_start']} -> {s['store_end']}"]
                             for n, s in soak.items()], title="soak"))
    goals = [harness.goal(f"{n} p50 <= 30 ms", r["p50"], 30.0, "ms") for n, r in results["rows"].items() if n != "vite"]
    print(harness.goal_lines(goals))
    results["goals"] = goals
    print(harness.write_results("hmr_latency", results))


if __name__ == "__main__":
    main()
