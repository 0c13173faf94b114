"""TypeScript and JSX: what the lowering costs, beside the tools that do the same job.

1. Lowering throughput: every .ts file of rxjs, @tanstack/query-core, immer and zod (their
   published sources), lowered by modrun (in this process, parser included, no cache) and, in one
   Node process, by TypeScript's transpileModule, esbuild's transformSync and amaro (the SWC-based
   stripper inside Node's --experimental-strip-types), all with source maps but TypeScript's.
   Rounds are repeated; the table gives the median, the tail (max) and ratios to esbuild.
2. A Preact app in TSX (tests/fixtures/preact_app), whole process: `modrun run main.tsx` with an
   empty transform cache (lowering included), again with the cache warm, and `node` running
   TypeScript's prebuilt output of the same sources (no compilation in the run).

    python bench/typescript.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import harness
import node_peers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runner.transform.lowering.lower import lower  # noqa: E402
from runner.transform.lowering.options import LoweringOptions  # noqa: E402
from tests.npm_cache import Unavailable, ensure  # noqa: E402

SOURCES = ("rxjs/src", "@tanstack/query-core/src", "immer/src", "zod/src")
MODRUN = str(Path(sys.executable).with_name("modrun"))
APP = ROOT / "tests" / "fixtures" / "preact_app"


def corpus(installed: Path) -> list[Path]:
    return sorted(p for folder in SOURCES for p in (installed / "node_modules" / folder).rglob("*.ts")
                  if not p.name.endswith(".d.ts"))


def lowering(installed: Path, files: list[Path], repeat: int) -> dict[str, list[float]]:
    sources = [(str(f), f.read_text(encoding="utf-8")) for f in files]
    options = LoweringOptions()
    rounds = []
    for _ in range(repeat):
        started = time.perf_counter()
        for name, code in sources:
            lower(code, name, options)
        rounds.append((time.perf_counter() - started) * 1000)
    results = {"modrun lowering (Python, tree-sitter)": rounds}
    done = subprocess.run([str(node_peers.node()), str(installed / "lower_peers.mjs"), str(repeat)], cwd=installed,
                          input="\n".join(str(f) for f in files), capture_output=True, text=True, timeout=900,
                          check=True)
    results.update(json.loads(done.stdout))
    return results


def app_runs(installed: Path, repeat: int) -> dict[str, list[float]]:
    """The app in <installed>/bench-app, run with <installed> as the root (its node_modules)."""
    work = installed / "bench-app"
    cache = installed / "node_modules" / ".modrun"  # the CLI's transform cache for this root
    shutil.rmtree(work, ignore_errors=True)
    try:
        shutil.copytree(APP, work / "app")
        # The tests' build script, beside the TypeScript it imports.
        shutil.copyfile(ROOT / "tests" / "npm" / "tsx" / "build.mjs", installed / "build.mjs")
        node_peers.run_node([str(installed / "build.mjs"), str(work / "app"), str(work / "out")], cwd=installed)
        runs: dict[str, list[float]] = {"modrun run main.tsx, cold (empty cache)": [],
                                        "modrun run main.tsx, warm cache": [],
                                        "node, TypeScript's prebuilt output": []}
        outputs = set()
        command = [MODRUN, "run", "bench-app/app/main.tsx", "--call", "default"]
        for _ in range(repeat):
            shutil.rmtree(cache, ignore_errors=True)
            for label in list(runs)[:2]:
                ms, out = timed(command, installed)
                runs[label].append(ms)
                outputs.add(out)
            ms, out = timed([str(node_peers.node()), "--input-type=module", "-e",
                             "console.log(JSON.stringify((await import('./bench-app/out/main.js')).default()))"],
                            installed)
            runs["node, TypeScript's prebuilt output"].append(ms)
            outputs.add(out)
        if len(outputs) != 1:
            raise RuntimeError(f"the runs disagree: {outputs}")
        return runs
    finally:
        shutil.rmtree(work, ignore_errors=True)


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout[-1000:]}{done.stderr[-2000:]}")
    return elapsed, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    try:
        installed = ensure("typescript", harness.BENCH_DIR / "npm", harness.CACHE_DIR / "npm")
    except Unavailable as reason:
        sys.exit(f"cannot run: {reason}")
    files = corpus(installed)
    megabytes = sum(f.stat().st_size for f in files) / 1e6
    lowered = lowering(installed, files, args.repeat)
    reference = statistics.median(lowered["esbuild transformSync"])
    rows = [[tool, statistics.median(ms), max(ms), statistics.median(ms) / megabytes,
             harness.ratio(statistics.median(ms), reference)] for tool, ms in lowered.items()]
    print(harness.table(["tool", "median ms", "max ms", "ms/MB", "x esbuild"], rows,
                        title=f"Lowering {len(files)} TypeScript files ({megabytes:.1f} MB), {args.repeat} rounds"))
    runs = app_runs(installed, args.repeat)
    node_ms = statistics.median(runs["node, TypeScript's prebuilt output"])
    rows = [[label, statistics.median(ms), max(ms), harness.ratio(statistics.median(ms), node_ms)]
            for label, ms in runs.items()]
    print()
    print(harness.table(["run", "median ms", "max ms", "x node"], rows,
                        title="Preact app in TSX (5 modules + preact), whole process"))
    path = harness.write_results("typescript", {
        "files": len(files), "megabytes": megabytes, "lowering_ms": lowered, "app_ms": runs,
        "node": node_peers.node_version()})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
