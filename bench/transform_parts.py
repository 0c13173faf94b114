"""Where the cold transform's time goes: every module of whole_process.py's graphs (the 500-module
tree, date-fns's and lodash-es's full indexes) transformed by `ssr_transform`, in one process, its
parts timed by wrapping the functions it calls:

- parse: tree-sitter's parse (C), with the same-length repairs (repair.py);
- entries: the import and export records read from the top-level statements (entries.py);
- walk: the scope walk and its sieve (walker.py, expressions.py, sieve.py);
- early errors: early_errors.py;
- rewrite: the edits of the runner format (ssr_transform.py's `_Rewriter`);
- map + code: applying the edits into the code and its source map (edits.py);
- other: the rest of `ssr_transform`;
- first: the whole of the round's first pass, not in the others: what a fresh process pays, with what the
  transform learns as it goes (the map's remembered lines, edits.py) still to learn.

Where the transform is compiled (runner/transform/compiled.py) its functions call each other in C, past
any wrapper: only the total is timed (the parts read 0, "other" the whole).

The modules are those a cold import of each graph's entry transforms (same code, same ids),
collected once. A round transforms every module of a graph `PASSES` times per side, in a fresh
process, after a first pass timed apart ("first"; the passes' mean is the round's sample); `--base CHECKOUT` adds
another checkout's side (its own .venv, else this interpreter), rounds alternated, and checks that
both sides' outputs (code, map, records) are identical.

    python bench/transform_parts.py [--repeat 7] [--graphs tree,date-fns,lodash-es] [--base CHECKOUT]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness

PASSES = 3  # timed passes per round (their mean is the round's sample)
PARTS = ("parse", "entries", "walk", "early_errors", "rewrite", "map_code", "other", "total", "first")


def collect(names: list[str], work: Path) -> dict[str, list[tuple[str, str]]]:
    """graph -> the (code, id) of every module a cold import of its entry transforms."""
    import parts
    from whole_process import bench_graphs

    import runner.transform.ssr_transform as ssr
    from runner import transform_worker

    transform_worker.MIN_SPARE = float("inf")  # no forked worker: it would take modules past the recording
    out: dict[str, list[tuple[str, str]]] = {}
    original = ssr.ssr_transform
    for name, (root, entry) in bench_graphs(names, work).items():
        seen: list[tuple[str, str]] = []

        def record(code: str, id: str, parsed: Any = None, seen: list[tuple[str, str]] = seen) -> Any:
            seen.append((code, id))
            return original(code, id, parsed)

        ssr.ssr_transform = record
        try:
            parts.breakdown(root, "/" + entry.relative_to(root).as_posix(), "inprocess", work / "cache", warm=False,
                            repeat=0)
        finally:
            ssr.ssr_transform = original
        out[name] = list(dict.fromkeys(seen))  # (the unmeasured import and the measured one: the same modules)
    return out


def measure(modules: list[tuple[str, str]]) -> tuple[dict[str, float], str]:
    """`PASSES` timed passes over `modules` after an unmeasured one: ms per part and pass, and a digest of
    the outputs."""
    import runner.transform as transform
    import runner.transform.ssr_transform as ssr
    from runner.transform.edits import Edits

    totals = dict.fromkeys(("parse", "entries", "walk", "early_errors", "emit", "map_code"), 0.0)
    wrapped: list[tuple[Any, str, str]] = [
        (ssr, "parse_module", "parse"), (ssr, "read_module_entries", "entries"), (ssr, "analyze", "walk"),
        (ssr, "module_errors", "early_errors"), (ssr._Rewriter, "emit", "emit"), (Edits, "result", "map_code")]
    if getattr(transform, "compiled", None) is not None and transform.compiled.active():  # (a base may predate it)
        wrapped = []
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in wrapped]

    def one_pass() -> str:
        digest = hashlib.sha256()
        for code, id in modules:
            r = ssr.ssr_transform(code, id)
            digest.update(repr((r.code, r.map, r.deps, r.dynamic_deps, r.imports, r.exports, r.star_exports,
                                r.has_tla)).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    started = time.perf_counter()
    for code, id in modules:
        ssr.ssr_transform(code, id)
    first = (time.perf_counter() - started) * 1000
    try:
        for owner, name, part in wrapped:
            setattr(owner, name, harness.timed(getattr(owner, name), totals, part))
        started = time.perf_counter()
        for _ in range(PASSES):
            for code, id in modules:
                ssr.ssr_transform(code, id)
        total = (time.perf_counter() - started) / PASSES
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
    ms = {part: totals[part] * 1000 / PASSES for part in ("parse", "entries", "walk", "early_errors", "map_code")}
    ms["rewrite"] = totals["emit"] * 1000 / PASSES - ms["map_code"]
    ms["total"] = total * 1000
    ms["other"] = ms["total"] - sum(v for k, v in ms.items() if k != "total")
    ms["first"] = first
    return ms, one_pass()


def _worker(modules_file: Path, graph: str) -> None:
    modules = [tuple(pair) for pair in json.loads(modules_file.read_text())[graph]]
    ms, digest = measure(modules)  # type: ignore[arg-type]
    print(json.dumps({"ms": ms, "digest": digest}))


def _side(python: str, checkout: Path, modules_file: Path, graph: str) -> dict[str, Any]:
    """One round of one side, in a fresh process of that side's interpreter and sources."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(checkout), str(Path(__file__).parent)])}
    out = subprocess.run([python, str(Path(__file__).resolve()), "--worker", str(modules_file), graph],
                         cwd=checkout, env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--graphs", default="tree,date-fns,lodash-es")
    parser.add_argument("--base", type=Path, help="another checkout, measured in the same rounds")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.worker:
        _worker(Path(ns.worker[0]), ns.worker[1])
        return
    here = Path(__file__).resolve().parent.parent
    sides = {"this checkout": (sys.executable, here)}
    if ns.base is not None:
        base = ns.base.resolve()
        python = base / ".venv" / "bin" / "python"
        sides["base"] = (str(python) if python.exists() else sys.executable, base)
    harness.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="modrun-bench-transform-", dir=harness.CACHE_DIR))
    try:
        graphs = collect([g for g in ns.graphs.split(",") if g], work)
        modules_file = work / "modules.json"
        modules_file.write_text(json.dumps(graphs))
        samples: dict[tuple[str, str], list[dict[str, float]]] = {}
        digests: dict[tuple[str, str], set[str]] = {}
        for round_ in range(ns.repeat):
            for graph in graphs:
                for label, (python, checkout) in sides.items():
                    result = _side(python, checkout, modules_file, graph)
                    samples.setdefault((graph, label), []).append(result["ms"])
                    digests.setdefault((graph, label), set()).add(result["digest"])
            print(f"(round {round_ + 1} of {ns.repeat} done)", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = []
    summary: dict[str, Any] = {}
    for (graph, label), runs in samples.items():
        stats = {part: harness.stats([run[part] for run in runs]) for part in PARTS}
        summary[f"{graph} / {label}"] = {"modules": len(graphs[graph]), "parts_ms": stats}
        rows.append([f"{graph} ({len(graphs[graph])})", label,
                     *(f"{harness.fmt(stats[p]['mean'])} / {harness.fmt(stats[p]['p90'])}" for p in PARTS)])
    title = f"cold transform, ms per graph (mean / p90 of {ns.repeat} rounds; load {os.getloadavg()[0]:.2f})"
    print(harness.table(["graph (modules)", "side", *PARTS], rows, title=title))
    identical = None
    if ns.base is not None:
        ratio_rows = []
        for graph in graphs:
            this, base = samples[(graph, "this checkout")], samples[(graph, "base")]
            # (Parts a compiled side does not time read 0: no ratio.)
            paired = {p: harness.stats(ratios) for p in PARTS
                      if (ratios := [a[p] / b[p] for a, b in zip(this, base, strict=True) if b[p] > 0])}
            summary[f"{graph} / paired ratio"] = paired
            ratio_rows.append([graph, *(f"{harness.fmt(paired[p]['mean'])} / {harness.fmt(paired[p]['p90'])}"
                                        if p in paired else "-" for p in PARTS)])
        print()
        print(harness.table(["graph", *PARTS], ratio_rows,
                            title="this checkout / base, paired per round (mean / p90 of the ratios)"))
        identical = all(digests[(g, "this checkout")] == digests[(g, "base")] for g in graphs)
        print(f"\noutputs (code, map, records) identical to the base: {'yes' if identical else 'NO'}")
    path = harness.write_results("transform_parts", {"repeat": ns.repeat, "parts": summary,
                                                     "outputs_identical": identical})
    print(f"(results: {path})")


if __name__ == "__main__":
    main()
