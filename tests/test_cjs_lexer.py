"""runner/transform/cjs_lexer.py against Node's own cjs-module-lexer (npm, the version Node 20.20
ships): the same named exports and re-exports for every CommonJS file of the test packages and
for the patterns the lexer's documentation lists, edge cases included."""

from __future__ import annotations

import json
import subprocess

import pytest

from runner.transform.cjs_lexer import detect_exports
from runner.transform.parser import parse_javascript
from tests.npm_cache import NODE, install

SNIPPETS = [
    "exports.a = 1; exports['b'] = 2; module.exports.c = 3; module.exports['d-e'] = 4;",
    "(function (exports) { exports.a = 'a'; })(exports); if (false) exports.c = 'c';",
    "(function (e) { e.a = 'a'; })(exports);",
    "if (exports.x == null) {} foo.exports.y = 1; exports.z += 1;",
    "Object.defineProperty(exports, 'a', { enumerable: true, get: function () { return q.p; } });\n"
    "Object.defineProperty(exports, 'b', { enumerable: true, get: function () { return q['p']; } });\n"
    "Object.defineProperty(exports, 'c', { enumerable: true, get () { return b; } });\n"
    "Object.defineProperty(exports, 'd', { value: 'd' });\n"
    "Object.defineProperty(module.exports, '__esModule', { value: true });",
    "Object.defineProperty(exports, 'a', { get () { return 'nope'; } }); exports.a = 1;",
    "Object.defineProperty(exports, 'a', { enumerable: false, get () { return p; } });\n"
    "Object.defineProperty(exports, 'b', { configurable: true, get () { return p; } });\n"
    "Object.defineProperty(exports, 'c', { get: () => p });",
    "module.exports = { a, 'b': b, c: c, ...d };",
    "module.exports = { a, ...d, b: require('c'), c: 'no' };",
    "module.exports = { a: b , c };",
    "module.exports = { a() {}, b };",
    "module.exports = require('a');\n(module => module.exports = require('b'))(NOT_MODULE);\n"
    "if (false) module.exports = require('c');",
    "module.exports = require('ignored');\nmodule.exports = { ...require('a'), ...require('b') };",
    '"use strict";\nexports.__esModule = true;\nvar _external = require("external");\n'
    'Object.keys(_external).forEach(function (key) {\n  if (key === "default" || key === "__esModule") return;\n'
    "  exports[key] = _external[key];\n});",
    '"use strict";\nvar _x = require("x");\nObject.keys(_x).forEach(function (k) {\n'
    '  if (k === "default" || k === "__esModule") return;\n  if (k in exports && exports[k] === _x[k]) return;\n'
    "  Object.defineProperty(exports, k, { enumerable: true, get: function () { return _x[k]; } });\n});",
    'var _y = _interopRequireWildcard(require("y"));\nObject.keys(_y).forEach(function (key) {\n'
    '  if (key !== "default" && !Object.prototype.hasOwnProperty.call(exports, key)) exports[key] = _y[key];\n});',
    "function __export(m) { for (var p in m) if (!exports.hasOwnProperty(p)) exports[p] = m[p]; }\n"
    '__export(require("external"));\ntslib.__exportStar(require("./other"), exports);\n'
    '__exportStar( require("spaced"));',
    "if (x) { __export(require('nested')); }",
    "const s = 'exports.fake = 1'; /* exports.c = 1 */ // exports.d = 1\nconst t = `${exports.e = 1}`;\n"
    "const r = /exports.f = 1/; exports.g = s;",
    "0 && (module.exports = { esbuildHint, other });",
    "exports['\\u0061b'] = 1; exports['\\ud800'] = 2; exports[\"q\\\"uote\"] = 3;",
    "#!/usr/bin/env node\nexports.shebang = 1;",
    "module.exports == x; exports.after = 1;",
]


def _reference(sources: list[str]) -> list[dict]:
    root = install("packages")
    done = subprocess.run([NODE or "node", "lexer_dump.mjs"], cwd=root, input=json.dumps(sources),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _ours(source: str) -> dict:
    src = source.encode("utf-8", "surrogatepass")
    found = detect_exports(src, parse_javascript(src).root_node)
    return {"exports": sorted(found.exports), "reexports": sorted(found.reexports)}


def _same(reference: dict, source: str) -> bool:
    return _ours(source) == {"exports": sorted(reference["exports"]), "reexports": sorted(reference["reexports"])}


@pytest.fixture(scope="module")
def packages():
    return install("packages")


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_documented_patterns(packages, index):
    reference = _reference([SNIPPETS[index]])[0]
    assert "error" not in reference
    assert _ours(SNIPPETS[index]) == {"exports": sorted(reference["exports"]),
                                      "reexports": sorted(reference["reexports"])}


def test_every_commonjs_file_of_the_packages(packages):
    files = sorted(p for p in (packages / "node_modules").rglob("*") if p.suffix in (".js", ".cjs") and p.is_file())
    sources = [p.read_text(encoding="utf-8", errors="surrogateescape") for p in files]
    compared = 0
    differing = []
    for path, source, reference in zip(files, sources, _reference(sources), strict=True):
        if "error" in reference:
            continue  # ES module syntax: not CommonJS
        compared += 1
        if not _same(reference, source):
            differing.append(str(path.relative_to(packages)))
    assert compared > 300
    assert differing == []
