"""`modrun check`'s static analysis (runner/check): the graph walked through the environment's real
resolution, each finding at its file, line and column with the import chain from ENTRY, scope
analysis rather than text search, guards, CommonJS, TypeScript, `imports` maps, cycles, config."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from runner import Server
from runner.check import CheckConfig, Report, analyze, load_check_config
from runner.errors import LoadError
from tests.project_files import write

ENTRY = """\
import { readFileSync } from "node:fs";
import { apiKey, encode } from "dep";
import { local } from "./local.js";

export function run(code) {
  return eval(code) + apiKey + encode(local(readFileSync));
}
"""
LOCAL = """\
export function local(process) {
  const Buffer = process.Buffer;
  return Buffer + process.env + typeof window;
}
"""
DEP = """\
import load from "./loader.cjs";

export const apiKey = process.env.API_KEY;
export const encode = (s) =>
  typeof Buffer !== "undefined" ? Buffer.from(s).toString("base64") : btoa(s);
export { load };
"""
LOADER = """\
module.exports = function load(name) {
  return require(name);
};
"""
PROJECT = {
    "src/entry.js": ENTRY,
    "src/local.js": LOCAL,
    "node_modules/dep/package.json": '{"name": "dep", "type": "module", "exports": "./index.js"}',
    "node_modules/dep/index.js": DEP,
    "node_modules/dep/loader.cjs": LOADER,
}


def check(root: Path, entry: str, config: CheckConfig | None = None, *, profile: str = "edge",
          evaluator: str = "inprocess") -> Report:
    async def main() -> Report:
        async with Server(root=root, cache_dir=False,
                          environments={"edge": {"profile": profile, "evaluator": evaluator}}) as server:
            return await analyze(server.environments["edge"], entry, config or load_check_config(root))

    return asyncio.run(main())


def rows(report: Report) -> list[tuple[str, str, str, int, int, tuple[str, ...], str | None]]:
    return [(f.rule, f.severity, f.location.file, f.location.line, f.location.column, f.chain, f.package)
            for f in report.findings if f.location is not None]


def test_every_finding_of_the_project_with_its_place_and_chain(tmp_path: Path) -> None:
    report = check(write(tmp_path, PROJECT), "src/entry.js")
    dep_chain = ("src/entry.js", "node_modules/dep/index.js")
    assert rows(report) == [
        ("node-builtin-import", "error", "src/entry.js", 1, 30, ("src/entry.js",), None),
        ("eval", "error", "src/entry.js", 6, 10, ("src/entry.js",), None),
        ("node-global", "error", "node_modules/dep/index.js", 3, 23, dep_chain, "dep"),
        ("guarded-node-global", "info", "node_modules/dep/index.js", 5, 35, dep_chain, "dep"),
        ("dynamic-require", "warning", "node_modules/dep/loader.cjs", 2, 10,
         (*dep_chain, "node_modules/dep/loader.cjs"), "dep"),
    ]
    assert (report.modules, report.allowed, report.compatible) == (4, 0, False)
    process = report.findings[2]
    assert "process" in process.message and "bindings" in process.message  # the edge profile's own hint
    assert process.location is not None and process.location.frame.splitlines()[2].startswith("> 3 | export const")
    summary = report.to_json()["summary"]
    assert {k: summary[k] for k in ("error", "warning", "info", "modules", "compatible")} == {
        "error": 3, "warning": 1, "info": 1, "modules": 4, "compatible": False}


def test_the_project_with_those_findings_allowed_in_config_passes(tmp_path: Path) -> None:
    write(tmp_path, {**PROJECT, "pyproject.toml": """\
[tool.modrun.check.allow]
dep = ["node-global", "guarded-node-global", "dynamic-require"]
[tool.modrun.check.allow-files]
"src/entry.js" = ["node-builtin-import", "eval"]
"""})
    report = check(tmp_path, "src/entry.js")
    assert (report.findings, report.allowed, report.compatible) == ([], 5, True)


def one(tmp_path: Path, source: str, name: str = "main.js", files: dict[str, str] | None = None
        ) -> list[tuple[str, str, int, int]]:
    """The findings of a one-module project (plus `files`): (rule, severity, line, column)."""
    write(tmp_path, {name: source, **(files or {})})
    return [(f.rule, f.severity, f.location.line, f.location.column) if f.location else (f.rule, f.severity, 0, 0)
            for f in check(tmp_path, name, CheckConfig(commonjs=True)).findings]


@pytest.mark.parametrize(("source", "rule", "severity", "column"), [
    ('import os from "os";', "node-builtin-import", "error", 16),
    ('import "./missing.js";', "unresolved-import", "error", 8),
    ('import "nowhere";', "unresolved-import", "error", 8),
    ("export const a = process.env.X;", "node-global", "error", 18),
    ("export const a = Buffer.from('x');", "node-global", "error", 18),
    ("export const a = __dirname;", "node-global", "error", 18),
    ("export const a = __filename;", "node-global", "error", 18),
    ("export const a = global.x;", "node-global", "error", 18),
    ("export const a = setImmediate;", "node-global", "error", 18),
    ("export const a = clearImmediate;", "node-global", "error", 18),
    ("export const a = require('x');", "node-global", "error", 18),
    ("export const a = module.exports;", "node-global", "error", 18),
    ("export const a = exports;", "node-global", "error", 18),
    ("export const a = new XMLHttpRequest();", "node-global", "error", 22),
    ("export const a = document.title;", "node-global", "error", 18),
    ("export const a = window;", "node-global", "error", 18),
    ("export const a = globalThis.process.env;", "node-global", "error", 18),
    ("export const a = self['Buffer'];", "node-global", "error", 18),
    ("export const a = (0, eval)('1');", "eval", "error", 22),
    ("export const a = new Function('return 1');", "function-constructor", "error", 18),
    ("export const a = Function('return 1');", "function-constructor", "error", 18),
    ("export const a = (async function () {}).constructor;", "function-constructor", "error", 18),
    ("export const a = Object.getPrototypeOf(function* () {}).constructor;", "function-constructor", "error", 18),
    ("export const a = (name) => import(name);", "dynamic-import-expression", "warning", 28),
    ("export const a = WebAssembly.instantiate;", "webassembly", "error", 18),
    ("export const a = typeof Buffer !== 'undefined' && Buffer.from('x');", "guarded-node-global", "info", 51),
])
def test_each_rule_alone(tmp_path: Path, source: str, rule: str, severity: str, column: int) -> None:
    assert one(tmp_path, source) == [(rule, severity, 1, column)]


def test_commonjs_rules(tmp_path: Path) -> None:
    source = "const x = require('./x.cjs');\nmodule.exports = (n) => require(n) + __dirname + x;\n"
    assert one(tmp_path, source, "main.cjs", {"x.cjs": "exports.x = Buffer;\n"}) == [
        ("commonjs-module", "warning", 1, 1), ("dynamic-require", "warning", 2, 25),
        ("commonjs-module", "warning", 1, 1), ("node-global", "error", 1, 13)]
    report = check(tmp_path, "main.cjs")  # commonjs-module is off by default
    assert [(f.rule, f.chain) for f in report.findings] == [
        ("dynamic-require", ("main.cjs",)), ("node-global", ("main.cjs", "x.cjs"))]


def test_locals_and_parameters_named_like_node_globals_are_not_findings(tmp_path: Path) -> None:
    source = """\
import process from "./env.js";
function f(Buffer, { setImmediate }, ...global) { return [Buffer, setImmediate, global]; }
const g = (document) => document.title;
class window { static require() { const __dirname = 1; return __dirname; } }
try { f(); } catch (module) { module.exports; }
export default [process.env, f, g, window, "process.env Buffer eval(x)" /* Buffer process */];
"""
    assert one(tmp_path, source, files={"env.js": "export default { env: {} };"}) == []


def test_guards_by_the_sense_of_their_test(tmp_path: Path) -> None:
    source = """\
export function f() {
  if (typeof Buffer === "function") { Buffer.from("x"); } else { Buffer.alloc(1); }
  const a = typeof process === "undefined" || process.env;
  const b = typeof process !== "undefined" ? process.c : process.d;
  if (typeof __dirname === "undefined") throw new Error("no files");
  const c = globalThis.setImmediate ? globalThis.setImmediate(f) : null;
  return [a, b, c, __dirname];
}
"""
    assert one(tmp_path, source) == [
        ("guarded-node-global", "info", 2, 39), ("node-global", "error", 2, 66),
        ("guarded-node-global", "info", 3, 47), ("guarded-node-global", "info", 4, 46),
        ("node-global", "error", 4, 58), ("guarded-node-global", "info", 6, 39),
        ("guarded-node-global", "info", 7, 20)]


def test_branches_a_defined_constant_never_takes_are_not_reported(tmp_path: Path) -> None:
    source = """\
if (process.env.NODE_ENV !== "production") { setImmediate(() => {}); }
module.exports = process.env.NODE_ENV === "production" ? require("./prod.cjs") : require("./dev.cjs");
"""
    write(tmp_path, {"main.cjs": source, "prod.cjs": "exports.a = 1;", "dev.cjs": "exports.a = Buffer;"})
    report = check(tmp_path, "main.cjs")
    assert (report.findings, report.modules) == ([], 2)


def test_typescript_sources_are_reported_at_their_own_lines_and_columns(tmp_path: Path) -> None:
    source = """\
interface Options { name: string }
type Id = number;
export function f(options: Options, id: Id): string {
  const value: string = process.env.NAME as string;
  return value + options.name + id;
}
"""
    assert one(tmp_path, source, "main.ts") == [("node-global", "error", 4, 25)]


def test_tsx_and_its_jsx_runtime_are_followed(tmp_path: Path) -> None:
    write(tmp_path, {
        "tsconfig.json": '{"compilerOptions": {"jsx": "react-jsx", "jsxImportSource": "tiny"}}',
        "main.tsx": 'import { hello } from "./lib/hello.ts";\nexport const view = (): unknown => <p>{hello}</p>;\n',
        "lib/hello.ts": "export const hello: string = __filename;\n",
        "node_modules/tiny/package.json": '{"name": "tiny", "exports": {"./jsx-runtime": "./jsx.js"}}',
        "node_modules/tiny/jsx.js": "export const jsx = (t, p) => ({ t, p, at: setImmediate });\n",
    })
    report = check(tmp_path, "main.tsx")
    assert [(f.rule, f.location.file, f.location.line, f.location.column, f.chain) for f in report.findings
            if f.location] == [
        # The JSX runtime first: the lowering adds its import before the module's own.
        ("node-global", "node_modules/tiny/jsx.js", 1, 43, ("main.tsx", "node_modules/tiny/jsx.js")),
        ("node-global", "lib/hello.ts", 1, 30, ("main.tsx", "lib/hello.ts"))]
    assert report.modules == 3


def test_imports_maps_and_export_conditions_pick_the_edge_build(tmp_path: Path) -> None:
    write(tmp_path, {
        "package.json": '{"type": "module", "imports": {"#env": {"worker": "./env.edge.js", '
                        '"default": "./env.node.js"}}}',
        "main.js": 'import env from "#env";\nimport lib from "lib";\nexport default [env, lib];\n',
        "env.edge.js": "export default {};\n",
        "env.node.js": "export default process.env;\n",
        "node_modules/lib/package.json": '{"name": "lib", "exports": {"node": "./node.js", "worker": "./edge.js"}}',
        "node_modules/lib/edge.js": "export default 1;\n",
        "node_modules/lib/node.js": 'import fs from "node:fs";\nexport default fs;\n',
    })
    report = check(tmp_path, "main.js")
    assert (report.findings, report.modules) == ([], 3)


def test_a_cycle_is_walked_once_with_the_shortest_chains(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.js": 'import "./a.js";\nimport "./c.js";\n',
        "a.js": 'import "./b.js";\n',
        "b.js": 'import "./a.js";\nimport "./c.js";\nexport const x = setImmediate;\n',
        "c.js": 'import "./b.js";\nexport const y = Buffer;\n',
    })
    report = check(tmp_path, "main.js")
    assert report.modules == 4
    assert [(f.location.file, f.chain) for f in report.findings if f.location] == [
        ("c.js", ("main.js", "c.js")), ("b.js", ("main.js", "a.js", "b.js"))]


def test_the_bare_profile_lacks_what_edge_provides(tmp_path: Path) -> None:
    write(tmp_path, {"main.js": "export default [fetch, URL, crypto, setTimeout];\n"})
    assert check(tmp_path, "main.js").findings == []
    assert [f.message.split("`")[1] for f in check(tmp_path, "main.js", profile="bare").findings] == [
        "fetch", "URL", "crypto"]


@pytest.mark.parametrize("evaluator", ["wasm", "process"])
def test_other_evaluators_provide_the_same_globals(tmp_path: Path, evaluator: str) -> None:
    write(tmp_path, {"main.js": "export default [fetch, process];\n"})
    assert [f.rule for f in check(tmp_path, "main.js", evaluator=evaluator).findings] == ["node-global"]


def test_an_entry_that_does_not_resolve_is_a_load_error(tmp_path: Path) -> None:
    write(tmp_path, {"main.js": ""})
    with pytest.raises(LoadError, match="missing.js"):
        check(tmp_path, "missing.js")


def test_a_module_that_cannot_be_loaded_is_a_finding(tmp_path: Path) -> None:
    write(tmp_path, {"main.js": 'import "./bad.json";\n', "bad.json": "{ not json"})
    assert [f.rule for f in check(tmp_path, "main.js").findings] == ["load-error"]


def test_a_syntax_error_is_a_finding_where_the_transform_puts_it(tmp_path: Path) -> None:
    write(tmp_path, {"main.js": 'import "./broken.js";\nexport const a = Buffer;\n',
                     "broken.js": "export const ok = 1;\nexport const = 2;\n"})
    report = check(tmp_path, "main.js")
    assert [(f.rule, f.location.file, f.location.line, f.chain) for f in report.findings if f.location] == [
        ("node-global", "main.js", 2, ("main.js",)), ("load-error", "broken.js", 2, ("main.js", "broken.js"))]
    assert "SyntaxError" not in report.findings[1].message and "Unexpected" in report.findings[1].message


def test_a_feature_test_kept_in_a_variable_guards(tmp_path: Path) -> None:
    source = """\
const hasStorage = "function" === typeof AsyncLocalStorage, noBuffer = typeof Buffer === "undefined";
export const storage = hasStorage ? new AsyncLocalStorage() : null;
export const bytes = (s) => noBuffer ? new TextEncoder().encode(s) : Buffer.from(s);
export const other = !hasStorage && new AsyncLocalStorage();
"""
    assert one(tmp_path, source) == [
        ("guarded-node-global", "info", 2, 41), ("guarded-node-global", "info", 3, 70),
        ("node-global", "error", 4, 41)]


UMD = """\
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else if (typeof define === "function" && define.amd) define([], factory);
  else window.lib = factory();
})(this, () => 1);
"""


def test_the_browser_arm_of_a_umd_wrapper_is_unreached_in_commonjs_only(tmp_path: Path) -> None:
    write(tmp_path, {"umd.cjs": UMD})
    assert check(tmp_path, "umd.cjs").findings == []
    # In an ES module `module` is absent: the guarded arms are info (one per name and line), the last runs.
    assert one(tmp_path, "export {};\n" + UMD, "umd.mjs") == [
        ("guarded-node-global", "info", 3, 37), ("guarded-node-global", "info", 4, 44), ("node-global", "error", 5, 8)]
