"""CommonJS modules in the runtime, compared with Node: require of CommonJS, ES modules and JSON,
cycles with partial exports, `module`/`exports`/`this`/`__filename`/`__dirname`, require.resolve
and require.cache, errors thrown at the require, import() from CommonJS, the named exports an
ES module sees (Node's lexer), dual packages (require and import conditions), sloppy mode; and
the errors of what cannot work in a sandbox (a computed require, a Node built-in)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.node_compare import EVALUATORS, modrun_lines, node_lines
from tests.npm_cache import NODE
from tests.project_files import write

pytestmark = pytest.mark.skipif(NODE is None, reason="node is needed: Node is the reference these tests compare with")

FILES = {
    "package.json": json.dumps({"name": "cjs-fixture", "private": True}),
    "main.mjs": """\
import results, { early, late, fromGetter, value, __esModule } from "./lib/main.cjs";
import * as babel from "./lib/babel.cjs";
import babelDefault from "./lib/babel.cjs";
import fn, { helper } from "./lib/function.cjs";
import * as star from "./lib/star.cjs";
import * as reexported from "./lib/reexport.cjs";
import dual from "dual";
import json from "./lib/data.json" with { type: "json" };
console.log(JSON.stringify(results));
console.log(early, late, fromGetter, value, __esModule);
console.log(Object.keys(babel).join(), typeof babelDefault, babelDefault.default, babel.named);
console.log(typeof fn, fn(2), helper(), Object.keys(star).join(), Object.keys(reexported).join());
console.log(dual, json.list.length);
const later = await import("./lib/lazy.cjs");
console.log(Object.keys(later).join(), later.default.ready, await later.default.load());
""",
    "lib/main.cjs": """\
exports.early = "early";
const order = [];
const a = require("./a.cjs");
order.push("after a", a.done, require("./b.cjs").sawA);
const esm = require("./esm.mjs");
const data = require("./data.json");
let failures = 0;
for (let i = 0; i < 2; i++) {
  try { require("./throws.cjs"); } catch (error) { failures += 1; order.push(error.message); }
}
const dual = require("dual");
const counted = [require("./counted.cjs")];
delete require.cache[require.resolve("./counted.cjs")];
counted.push(require("./counted.cjs"), require("./counted.cjs"));
module.exports.results = 1;
exports.late = "late";
Object.defineProperty(exports, "fromGetter", { enumerable: true, get: function () { return order.length; } });
Object.defineProperty(exports, "value", { value: 42 });
Object.defineProperty(exports, "__esModule", { value: true });
const summary = {
  order,
  esm: [Object.keys(esm).join(), esm.default, esm.named, esm.__esModule],
  data: data === require("./data.json") && data.list,
  failures,
  dual,
  thisIsExports: this === module.exports,
  names: [__filename.split("/").slice(-2).join("/"), __dirname.split("/").pop(), module.id === __filename],
  loaded: module.loaded,
  cache: require.cache[require.resolve("./a.cjs")] !== undefined,
  resolve: require.resolve("./b.cjs").split("/").pop(),
  main: require.main === undefined,
  sloppy: (function () { return this === undefined; })(),
  octal: 010,
  children: module.children.length > 0,
  counted,
};
module.exports = Object.assign(summary, exports);
""",
    "lib/a.cjs": """\
exports.done = false;
const b = require("./b.cjs");
exports.fromB = b.sawA;
exports.done = true;
""",
    "lib/b.cjs": """\
const a = require("./a.cjs");
exports.sawA = JSON.stringify(a);
""",
    "lib/esm.mjs": 'export default "esm default";\nexport const named = "esm named";\n',
    "lib/data.json": '{"list": [1, 2, 3]}\n',
    "lib/throws.cjs": """\
globalThis.__throwCount = (globalThis.__throwCount || 0) + 1;
throw new Error("thrown " + globalThis.__throwCount);
""",
    "lib/counted.cjs": "globalThis.__counted = (globalThis.__counted || 0) + 1;\n"
                       "module.exports = globalThis.__counted;\n",
    "lib/babel.cjs": """\
"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.named = exports.default = void 0;
var _default = exports.default = "babel default";
const named = exports.named = "babel named";
""",
    "lib/function.cjs": """\
module.exports = function double(x) { return x * 2; };
module.exports.helper = () => "helped";
""",
    "lib/star.cjs": """\
"use strict";
var __exportStar = (this && this.__exportStar) || function (m, e) {
  for (var p in m) if (p !== "default" && !Object.prototype.hasOwnProperty.call(e, p)) e[p] = m[p];
};
Object.defineProperty(exports, "__esModule", { value: true });
__exportStar(require("./star-a.cjs"), exports);
exports.own = 1;
""",
    "lib/star-a.cjs": 'exports.fromA = "a"; exports.alsoA = "b";\n',
    "lib/reexport.cjs": 'module.exports = require("./star-a.cjs");\n',
    "lib/lazy.cjs": 'module.exports = { ready: true, load: () => import("./esm.mjs").then((ns) => ns.named) };\n',
    "node_modules/dual/package.json": json.dumps({
        "name": "dual", "exports": {"import": "./index.mjs", "require": "./index.cjs"}}),
    "node_modules/dual/index.mjs": 'export default "dual via import";\n',
    "node_modules/dual/index.cjs": 'module.exports = "dual via require";\n',
    "cjs-entry.cjs": """\
const lib = require("./lib/function.cjs");
console.log(lib(21), require.main === module, module.parent === undefined || module.parent === null);
""",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return write(tmp_path_factory.mktemp("cjs"), FILES)


@pytest.fixture(scope="module")
def node_output(project):
    return {entry: node_lines(project, entry) for entry in ("main.mjs", "cjs-entry.cjs")}


@pytest.mark.parametrize("evaluator", EVALUATORS)
@pytest.mark.parametrize("entry", ["main.mjs", "cjs-entry.cjs"])
def test_same_as_node(project, node_output, entry, evaluator):
    lines, fetched = modrun_lines(project, entry, evaluator)
    assert lines == node_output[entry]
    assert len(fetched) == len(set(fetched))  # one fetch per module, none per require


def _modrun_json(root, entry):
    done = subprocess.run([sys.executable, "-m", "runner", "run", entry, "--json"], cwd=root, capture_output=True,
                          text=True, timeout=120)
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize(("source", "code", "needles"), [
    # a computed require cannot be fetched ahead of time: a clear error where it is called
    ("const name = './lib/a.cjs'; require(name);", 1, ["Cannot find module './lib/a.cjs'", "literal string"]),
    # a Node built-in is refused where it is required, naming it and the importer
    ("require('fs');", 1, ["'fs' is a Node.js built-in module", "required from", "bad.cjs"]),
    ("require('node:path');", 1, ["'node:path' is a Node.js built-in module"]),
    ("require('no-such-package');", 1, ["Cannot find package 'no-such-package'", "looked for it in"]),
    # a syntax error of a CommonJS module is a load error located in it
    ("const x = ;", 3, ["SyntaxError", "bad.cjs:1"]),
    # ES module syntax in a file CommonJS by its extension: Node's messages, located, what to do instead
    ("const a = 1;\nexport const x = a;", 3, ["Unexpected token 'export'", "is CommonJS by its .cjs extension",
                                             "name it .mjs", "bad.cjs:2"]),
    ("import a from './lib/a.cjs';", 3, ["Cannot use import statement outside a module", "bad.cjs:1"]),
])
def test_errors(project, source, code, needles):
    (project / "bad.cjs").write_text(source + "\n")
    status, out = _modrun_json(project, "bad.cjs")
    assert status == code, out
    text = out["error"]["message"] + out["error"].get("stack", "")
    for needle in needles:
        assert needle in text


def test_module_syntax_in_a_cts_file(project):
    (project / "bad.cts").write_text("const n: number = 1;\nexport default n;\n")
    status, out = _modrun_json(project, "bad.cts")
    assert status == 3 and out["error"]["name"] == "SyntaxError"
    assert out["error"]["message"].startswith("Unexpected token 'export'")
    assert "is CommonJS by its .cts extension" in out["error"]["message"] and "name it .mts" in out["error"]["message"]
    assert out["error"]["loc"]["line"] == 2


def test_missing_named_export_has_nodes_message(project):
    (project / "named.mjs").write_text('import { nope } from "./lib/function.cjs";\n')
    status, out = _modrun_json(project, "named.mjs")
    assert status == 3 and out["error"]["name"] == "SyntaxError"
    assert out["error"]["message"].startswith("Named export 'nope' not found. The requested module "
                                              "'./lib/function.cjs' is a CommonJS module")
    assert "import pkg from './lib/function.cjs';" in out["error"]["message"]


def test_require_in_a_dead_branch_is_not_fetched(tmp_path):
    root = write(tmp_path, {
        "entry.cjs": 'if (process.env.NODE_ENV !== "production") { require("./dev.cjs"); }\n'
                     'module.exports = process.env.NODE_ENV === "production" ? require("./prod.cjs") '
                     ': require("./dev.cjs");\nconsole.log(module.exports);\n',
        "prod.cjs": 'module.exports = "prod";\n',
        "dev.cjs": 'module.exports = "dev";\n',
    })
    lines, fetched = modrun_lines(root, "entry.cjs")
    assert lines == ["prod"]
    assert [f.rsplit("/", 1)[-1] for f in fetched] == ["entry.cjs", "prod.cjs"]
    lines, fetched = modrun_lines(root, "entry.cjs", mode="development")
    assert lines == ["dev"]
    assert sorted(f.rsplit("/", 1)[-1] for f in fetched) == ["dev.cjs", "entry.cjs"]


def test_remote_vite_runner_gets_commonjs_externalized(project):
    """Vite's runner evaluates only ES modules: served over WebSocket, a CommonJS module is handed
    to the Node it runs in (`externalize`), an ES module keeps its code."""
    import asyncio

    from runner import Server, serve_environment

    async def main():
        async with Server(root=project, cache_dir=False) as server:
            async with serve_environment(server.environments["ssr"]) as endpoint:
                fetch = endpoint.handlers["fetchModule"]
                return await fetch("/lib/function.cjs"), await fetch("/lib/esm.mjs")

    commonjs, esm = asyncio.run(main())
    assert commonjs == {"externalize": f"file://{project}/lib/function.cjs", "type": "commonjs"}
    assert "code" in esm and "externalize" not in esm
