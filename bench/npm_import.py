"""Importing real npm packages, as whole processes, side by side in the same run:

- react + react-dom/server (CommonJS, production mode) rendering a small page to a string;
- zod (ES modules, 96 files) parsing a valid and an invalid object.

For each graph: `modrun run` with an empty transform cache (cold: every module resolved, parsed
and transformed), `modrun run` again with the cache warm, the same warm run under the wasm
evaluator, and `node` on the same file. Runs are interleaved round-robin so that drift on this
loaded machine hits every column alike; every run's output must equal Node's. The packages are
installed by npm from tests/npm/packages' lockfile into bench/.cache/npm/packages.

    python bench/npm_import.py [--repeat N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import harness
import node_peers
from cold_graph import MODRUN, modrun_env, run_timed

sys.path.insert(0, str(harness.BENCH_DIR.parent))

from tests.npm_cache import Unavailable, ensure  # noqa: E402

TEXT_ENCODER = """\
if (typeof globalThis.TextEncoder === "undefined") {
  globalThis.TextEncoder = class TextEncoder {
    encode(text = "") {
      return new Uint8Array([...unescape(encodeURIComponent(String(text)))].map((c) => c.charCodeAt(0)));
    }
  };
}
"""
GRAPHS = {
    "react": ("react.mjs", """\
import "./text_encoder.mjs";
import React from "react";
import { renderToString } from "react-dom/server";
const h = React.createElement;
function Row({ n }) { const [v] = React.useState(n * 2); return h("li", { "data-n": n }, `row ${n}: ${v}`); }
const rows = Array.from({ length: 50 }, (_, n) => h(Row, { key: n, n }));
const page = h("main", null, h("h1", null, "Hello"), h("ul", null, rows));
const html = renderToString(page);
console.log(html.length, html.slice(0, 60));
""", ["--conditions", "edge"]),
    "zod": ("zod.mjs", """\
import { z } from "zod";
const User = z.object({ name: z.string().min(2), age: z.number().int().positive(), email: z.string().email(),
  tags: z.array(z.string()).max(3) });
const ok = User.parse({ name: "Ada", age: 36, email: "ada@example.com", tags: ["x"] });
const bad = User.safeParse({ name: "A", age: -1, email: "nope", tags: ["a", "b", "c", "d"] });
console.log(JSON.stringify(ok), bad.error.issues.length);
""", []),
}


def install() -> Path:
    """bench/.cache/npm/packages: the test packages (tests/npm/packages' lockfile), installed by npm."""
    try:
        root = ensure("packages", cache=harness.CACHE_DIR / "npm")
    except Unavailable as reason:
        raise SystemExit(str(reason)) from None
    (root / "text_encoder.mjs").write_text(TEXT_ENCODER)
    for file, source, _ in GRAPHS.values():
        (root / file).write_text(source)
    return root


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    node = node_peers.node()
    if node is None:
        print("node is needed: it is the peer of this benchmark")
        return 1
    root = install()
    env = modrun_env()
    cache = root / "node_modules" / ".modrun"
    results: dict[str, dict[str, dict[str, float]]] = {}
    rows = []
    for graph, (file, _, extra) in GRAPHS.items():
        columns = {
            "node": [node, file],
            "modrun cold": [MODRUN, "run", file, *extra],
            "modrun warm": [MODRUN, "run", file, *extra],
            "modrun warm (wasm)": [MODRUN, "run", file, "--evaluator", "wasm", *extra],
        }
        samples: dict[str, list[float]] = {name: [] for name in columns}
        expected = subprocess.run([node, file], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        run_timed(columns["modrun warm"], root, env)  # the Python side's own bytecode, once
        for _ in range(args.repeat):
            for name, cmd in columns.items():
                if name == "modrun cold":
                    shutil.rmtree(cache, ignore_errors=True)
                elapsed, out = run_timed(cmd, root, env if cmd[0] == MODRUN else None)
                if out != expected:
                    raise SystemExit(f"{graph}: {name} printed {out!r}, node printed {expected!r}")
                samples[name].append(elapsed)
        results[graph] = {name: harness.stats(values) for name, values in samples.items()}
        reference = results[graph]["node"]["median"]
        for name, stat in results[graph].items():
            rows.append([graph, name, stat["median"], stat["mean"], stat["p90"], stat["max"],
                         harness.ratio(stat["median"], reference)])
    print(harness.table(["graph", "run", "median ms", "mean ms", "p90 ms", "max ms", "x node"], rows,
                        title=f"npm packages, whole processes ({args.repeat} interleaved rounds; node "
                              f"{node_peers.node_version()})"))
    harness.write_results("npm_import", {"repeat": args.repeat, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
