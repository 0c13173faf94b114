"""A synthetic but realistic ES module graph for the graph benchmarks.

`generate(directory, modules=500)` writes `entry.js` plus `modules` small modules under `src/`:
a ternary import tree (every module reachable from the entry) with extra cross edges that make
it a DAG, default/named/namespace imports, classes with private fields and `extends` across
modules, a few barrels (`export *`), renamed exports and re-exports, and some top-level work.
The entry prints one JSON line with a checksum, so every peer can be checked to have done the
same work. Deterministic for a given seed; no cycles.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

MOD = 1000003


def _path(i: int) -> str:
    return f"src/d{i // 25:02d}/m{i:03d}.js"


def _rel(from_i: int | None, to_i: int) -> str:
    base = "." if from_i is None else os.path.dirname(_path(from_i))
    rel = os.path.relpath(_path(to_i), base)
    return rel if rel.startswith(".") else "./" + rel


def _plan(modules: int, seed: int) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    rng = random.Random(seed)
    children: dict[int, list[int]] = {i: [] for i in range(modules)}
    for i in range(1, modules):
        children[(i - 1) // 3].append(i)
    extras: dict[int, list[int]] = {}
    for i in range(modules):
        later = [j for j in range(i + 1, modules) if j not in children[i]]
        extras[i] = sorted(rng.sample(later, min(len(later), rng.choice((0, 1, 1, 2)))))
    return children, extras


def _module(i: int, children: list[int], extras: list[int]) -> str:
    n = f"{i:03d}"
    lines = [f"// m{n}: generated benchmark module"]
    for c in children:
        lines.append(f'import run{c:03d}, {{ helper{c:03d} as h{c:03d}, Widget{c:03d} }} from "{_rel(i, c)}";')
    base = None
    for k, e in enumerate(extras):
        if k == 0:
            lines.append(f'import * as ns{e:03d} from "{_rel(i, e)}";')
        else:
            lines.append(f'import {{ Widget{e:03d} }} from "{_rel(i, e)}";')
            base = e
    lines.append("")
    lines.append(f'const TAG = "m{n}";')
    lines.append("const registry = new Map();")
    lines.append(f"export const LIMIT{n} = {i % 7 + 3};")
    lines.append(f"export let counter{n} = 0;")
    lines.append("")
    lines.append(f"export function helper{n}(x) {{")
    lines.append(f"  let acc = LIMIT{n};")
    lines.append(f"  for (let k = 0; k < LIMIT{n}; k++) acc = (acc * 31 + x + k) % {MOD};")
    lines.append(f"  counter{n}++;")
    lines.append("  return acc;")
    lines.append("}")
    lines.append("")
    lines.append(f"export class Widget{n} {{")
    lines.append("  #items = [];")
    lines.append("  constructor(name = TAG) { this.name = name; }")
    lines.append("  add(value) { this.#items.push(value); return this; }")
    lines.append("  get size() { return this.#items.length; }")
    lines.append(f"  total() {{ return this.#items.reduce((a, b) => (a + b) % {MOD}, 0); }}")
    lines.append('  toString() { return `${this.name}[${this.#items.join(",")}]`; }')
    lines.append("  static of(...values) { const w = new this(); for (const v of values) w.add(v); return w; }")
    lines.append("}")
    if base is not None:
        lines.append("")
        lines.append(f"export class Special{n} extends Widget{base:03d} {{")
        lines.append(f"  total() {{ return (super.total() * 3) % {MOD}; }}")
        lines.append("}")
    lines.append("")
    lines.append('const format = (value) => `${TAG}:${String(value).padStart(7, "0")}`;')
    lines.append(f"registry.set(TAG, format(helper{n}(1)));")
    deps = [f"m{d:03d}" for d in children + extras]
    lines.append(f"export const meta{n} = {{ tag: TAG, deps: {json.dumps(deps)}, created: registry.get(TAG) }};")
    lines.append("")
    lines.append(f"export default function run{n}(n) {{")
    lines.append(f"  const w = Widget{n}.of(helper{n}(n), n);")
    lines.append("  let acc = w.total();")
    for c in children:
        lines.append(f"  acc = (acc + run{c:03d}(n + 1) + h{c:03d}(n) + Widget{c:03d}.of(n).size) % {MOD};")
    if extras:
        lines.append(f"  acc = (acc + ns{extras[0]:03d}.helper{extras[0]:03d}(n)) % {MOD};")
    if base is not None:
        lines.append(f"  acc = (acc + new Special{n}().add(n).add(acc).total()) % {MOD};")
    lines.append("  return acc;")
    lines.append("}")
    if i % 10 == 5:
        lines.append(f"export {{ helper{n} as compute{n} }};")
    if children and i % 50 == 0 and i > 0:
        lines.append(f'export * from "{_rel(i, children[0])}";')
    if children and i % 30 == 7:
        c = children[-1]
        lines.append(f'export {{ LIMIT{c:03d} as childLimit{n} }} from "{_rel(i, c)}";')
    return "\n".join(lines) + "\n"


def _entry(modules: int) -> str:
    return (
        f'import run000, {{ counter000 }} from "{_rel(None, 0)}";\n'
        "\n"
        "export const checksum = run000(1);\n"
        f'console.log(JSON.stringify({{ modules: {modules + 1}, checksum, calls: counter000 }}));\n'
        "\n"
        "export function main(n = 1) {\n"
        "  return run000(n);\n"
        "}\n"
    )


def generate(directory: Path, modules: int = 500, seed: int = 20240601) -> Path:
    """Write the graph into `directory` (created if needed); returns the entry's path."""
    directory = Path(directory)
    children, extras = _plan(modules, seed)
    for i in range(modules):
        target = directory / _path(i)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_module(i, children[i], extras[i]))
    (directory / "package.json").write_text('{"name": "bench-graph", "private": true, "type": "module"}\n')
    entry = directory / "entry.js"
    entry.write_text(_entry(modules))
    return entry


def module_count(modules: int = 500) -> int:
    """Modules in the graph, the entry included."""
    return modules + 1


if __name__ == "__main__":
    import sys

    print(generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 500))
