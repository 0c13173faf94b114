"""Module graphs of a given shape and size, for the scaling benchmark (scaling.py).

- `tree`: the realistic graph of graph.py (an import tree with cross edges, classes, a few
  barrels and re-exports), `size` modules plus the entry;
- `barrel`: an index of `size` lines `export * from './fN.js'`, each module exporting one
  function and a default (which `export *` leaves out); the entry imports one name and the
  namespace, and calls every function through it;
- `star-chain`: `size` modules, each `export * from` the next and exporting a function of its own,
  so the first one's namespace holds `size` + 1 names; the entry imports the deepest name and
  the namespace;
- `named-chain`: `size` modules, each `export { value } from` the next; the last defines it.

Every entry prints one JSON line with a checksum, the same in every runtime, so each peer can be
checked to have done the same work. `write(shape, size, directory)` writes a graph once (a marker
file says it is complete) and returns its entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from graph import generate, module_count

MOD = 1000003
COMPLETE = ".complete"


def _files(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (directory / "package.json").write_text('{"name": "bench-shape", "private": true, "type": "module"}\n')


def _report(modules: int, names: str, checksum: str) -> str:
    return (f"console.log(JSON.stringify({{ modules: {modules}, names: {names}, checksum: {checksum} }}));\n"
            f"export const checksum = {checksum};\n")


def _barrel(directory: Path, size: int) -> None:
    files = {f"lib/f{i}.js": f"export function f{i}() {{ return {i * 7919 % MOD}; }}\nexport default {i};\n"
             for i in range(size)}
    files["lib/index.js"] = "".join(f"export * from './f{i}.js';\n" for i in range(size))
    files["entry.js"] = (
        "import { f0 } from './lib/index.js';\n"
        "import * as lib from './lib/index.js';\n"
        "const names = Object.keys(lib);\n"
        "let acc = f0();\n"
        f"for (const name of names) acc = (acc * 31 + lib[name]()) % {MOD};\n"
        + _report(size + 2, "names.length", "acc")
    )
    _files(directory, files)


def _star_chain(directory: Path, size: int) -> None:
    files = {f"chain/c{i}.js": f"export * from './c{i + 1}.js';\nexport function v{i}() {{ return {i}; }}\n"
             for i in range(size)}
    files[f"chain/c{size}.js"] = f"export function v{size}() {{ return {size}; }}\n"
    files["entry.js"] = (
        f"import {{ v{size} }} from './chain/c0.js';\n"
        "import * as chain from './chain/c0.js';\n"
        "const names = Object.keys(chain);\n"
        f"let acc = v{size}();\n"
        f"for (const name of names) acc = (acc * 31 + chain[name]()) % {MOD};\n"
        + _report(size + 2, "names.length", "acc")
    )
    _files(directory, files)


def _named_chain(directory: Path, size: int) -> None:
    files = {f"chain/c{i}.js": f"export {{ value }} from './c{i + 1}.js';\n" for i in range(size)}
    files[f"chain/c{size}.js"] = f"export const value = {size};\n"
    files["entry.js"] = "import { value } from './chain/c0.js';\n" + _report(size + 2, "1", "value")
    _files(directory, files)


def _tree(directory: Path, size: int) -> None:
    generate(directory, size)


def _empty(directory: Path, size: int) -> None:
    _files(directory, {"entry.js": _report(1, "0", "0")})


SHAPES: dict[str, Callable[[Path, int], None]] = {
    "tree": _tree, "barrel": _barrel, "star-chain": _star_chain, "named-chain": _named_chain,
}


def modules(shape: str, size: int) -> int:
    """Modules in the graph, the entry included."""
    return module_count(size) if shape == "tree" else size + 2 if shape != "empty" else 1


def write(shape: str, size: int, directory: Path) -> Path:
    """The graph's entry, writing the graph first unless a complete one is there."""
    marker = directory / COMPLETE
    if not marker.exists():
        (SHAPES[shape] if shape != "empty" else _empty)(directory, size)
        marker.write_text(json.dumps({"shape": shape, "size": size}) + "\n")
    return directory / "entry.js"
