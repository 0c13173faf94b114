"""The walk's sieve (sieve.py) leaves out what cannot matter: everything the transform reads of a
sieved walk must equal what the full walk (every node visited, every name recorded) finds.

Compared per module: the references that resolve to the imports (name, position, flags), the
global `arguments` references, the writes counted for the exported locals, the module scope's
bindings and declarations, and the rest of the analysis (early-error sites, top-level await,
`import.meta`, `import()`, direct eval, comments).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.transform.entries import module_entries, module_items
from runner.transform.repair import parse_module
from runner.transform.walker import analyze
from tests.conformance import TEST262, VITE_FIXTURES, conformance_file

# Each names an import `x` (or more) and uses it where the sieve has to tell a reference from a
# look-alike, or where a nested declaration shadows it.
CASES = {
    "no imports": "const a = 1; function f(b) { return a + b + arguments.length }\nexport { f };",
    "no imports, eval and arguments": "export function f() { return eval('arguments') }\nlet g = () => arguments;",
    "only export star": "export * from './a.js';\nexport * as ns from './b.js';",
    "only export star, then code": "export * from './a.js';\nconst x = 1;\nexport const y = x + 1;",
    "import only read": "import { x } from 'm';\nexport const r = x + x.y + x();",
    "shadowed in nested scopes": (
        "import { x, y } from 'm';\n"
        "function f(x) { return x + y }\n"
        "function g() { { let y = 1; return y } }\n"
        "const h = (y) => { const x = () => y; return x() + y };\n"
        "class K { m() { var x; return [x, y] } }\n"
        "try {} catch (x) { x = 2 }\n"
        "for (const x of []) y(x);\n"
        "export { f, g, h, K };"),
    "destructuring": (
        "import { x, y, z } from 'm';\n"
        "const { a: [x1 = x, ...rest], b: { y: yy = y } = {}, ...others } = z;\n"
        "function f({ x = y }, [y2, y = x]) { return x + y + y2 }\n"
        "let u; ({ x: u, y: [u] } = z); [u = x] = [];\n"
        "export { f, x1, rest, yy, others, u };"),
    "writes to exported locals": (
        "export let n = 0; export var v; export function fn() {}\n"
        "function bump() { n++; n += 1; [n] = [n]; ({ n } = { n }); for (n of []); }\n"
        "function keep(n) { n = 2; return n }\n"
        "function reads() { n.x = 1; n(); n[0]; n`t`; n?.y; }\n"
        "fn = null; v = 1;"),
    "class fields and blocks": (
        "import { x, y } from 'm';\n"
        "class K { x = x; static y = y; [x] = 1; #z = x; get x() { return x } set y(v) { y(v) }\n"
        "  static { const x = 1; this.s = x + y } m(x = y) { return x } }\n"
        "export default class extends x { y = arguments }"),
    "labels named like an import": (
        "import { x, loop } from 'm';\n"
        "x: for (;;) { break x }\n"
        "loop: { if (loop) break loop; x; }\n"
        "function f() { x: while (x) continue x; }"),
    "getters and keys named like an import": (
        "import { x, get, set } from 'm';\n"
        "const o = { x, get x() { return x }, set x(v) { x(v) }, get, set, [x]: x, 'x': 1, x() { return x } };\n"
        "const p = o.x ?. x + o?.[x]; export { o, p };"),
    "arguments": (
        "import { arguments as a } from 'm';\n"
        "const f = function () { return arguments[0] }; const g = () => arguments;\n"
        "class K { f = arguments; static { arguments } }\n"
        "typeof arguments; export { f, g, a };"),
    "import.meta, import() and await": (
        "import { x } from 'm';\n"
        "const u = import.meta.url; const m = await import('./m.js'); async function f() { await x }\n"
        "function g() { return import(x) }\nfor await (const v of x) v;"),
    "comments and escapes": (
        "import { x } from 'm';\n"
        "/* x */ function f() { return 1 } // x\n"
        "function g() { return \\u0078 }\n"
        "const s = 'x' + `x ${x}`;\n<!-- html comment\nfunction h() { return 2 }"),
    "function declarations in blocks": (
        "import { x } from 'm';\n{ function x() {} x = 1 }\nif (true) var v = x; else function w() {}\n"
        "switch (x) { case 1: let x = 2; default: x }"),
    "misplaced syntax": (
        "import { x } from 'm';\n"
        "function f() { super.x; new.target; return x }\n"
        "new.target; delete x; eval = 1; arguments = 2;\n"
        "function g() { await; }"),
}


def _facts(src: bytes, sieved: bool) -> dict[str, Any]:
    """What the transform reads of the analysis, sieved (as ssr_transform walks) or full."""
    tree, attributes = parse_module(src)
    root = tree.root_node
    entries = module_entries(module_items(root), src, attributes)
    imports = {name.local for imp in entries.imports for name in imp.names if name.local is not None}
    exported = {e.local for e in entries.exports if e.local is not None and e.import_index is None}
    written = exported - set(entries.constants)
    if sieved:
        analysis = analyze(root, src, imports, written, entries)
    else:
        analysis = analyze(root, src, None, None, entries)
    analysis.count_writes()
    bindings = analysis.module.bindings
    return {
        "import references": sorted((ref.name, ref.start, ref.end, ref.flags)
                                    for ref, b in analysis.module_references() if b.kind == "import"),
        "arguments": sorted((ref.start, ref.flags) for ref in analysis.global_references("arguments")),
        "writes": {name: bindings[name].writes for name in written if name in bindings},
        "module bindings": {name: (b.kind, b.start, b.inits) for name, b in bindings.items()},
        "declarations": analysis.declarations,
        "items": [item.start_byte for item in analysis.items],
        "misplaced": sorted(analysis.misplaced),
        "top-level await": analysis.top_level_await,
        "import.meta": analysis.import_meta,
        "import()": analysis.dynamic_imports,
        "eval": analysis.uses_eval,
        "comments": sorted(analysis.comments),
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_sieved_walk_agrees_with_the_full_walk(name: str) -> None:
    src = CASES[name].encode()
    sieved = _facts(src, sieved=True)
    assert sieved == _facts(src, sieved=False)


def test_cases_reach_what_they_test() -> None:
    """The comparison above is only as good as its cases: they do record imports, shadowing,
    writes and early-error sites (a case the sieve skipped whole would compare empty lists)."""
    shadowed = _facts(CASES["shadowed in nested scopes"].encode(), sieved=True)
    # Only the `y` of `f`, `y` in K.m and the callee `y(x)` are the import; every `x` is shadowed.
    assert [(name, flags) for name, _, _, flags in shadowed["import references"]] == [("y", 1), ("y", 1), ("y", 5)]
    writes = _facts(CASES["writes to exported locals"].encode(), sieved=True)["writes"]
    assert writes == {"n": 5, "v": 1, "fn": 1}
    misplaced = {code for _, code in _facts(CASES["misplaced syntax"].encode(), sieved=True)["misplaced"]}
    assert {"super", "new.target", "delete-identifier", "strict-assign", "await-identifier"} <= misplaced
    assert _facts(CASES["arguments"].encode(), sieved=True)["arguments"]


def _corpus() -> list[Path]:
    if not VITE_FIXTURES.is_dir():
        return []
    files = sorted((VITE_FIXTURES / "ssr-transform-cases").glob("*.input.js"))
    for folder in ("module-code", "import", "export", "expressions/dynamic-import", "expressions/import.meta"):
        files += sorted((TEST262 / "test" / "language" / folder).rglob("*.js"))
    return files


def test_sieved_walk_agrees_on_the_conformance_modules() -> None:
    files = [conformance_file(path) for path in _corpus()]
    assert len(files) > 1000
    compared = 0
    for path in files:
        src = path.read_bytes()
        tree, _ = parse_module(src)
        if tree.root_node.has_error:
            continue  # (negative syntax tests: the transform stops at the syntax error)
        assert _facts(src, sieved=True) == _facts(src, sieved=False), path.name
        compared += 1
    assert compared > 800
