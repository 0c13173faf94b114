"""The runner-format transform, judged by running its output in QuickJS (not by Vite's text)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import quickjs

from runner.errors import ParseError
from runner.transform.sourcemap import (
    SourceMapBuilder,
    compose,
    decode_mappings,
    original_position,
    shift_lines,
    utf8_to_utf16_column,
    vlq_decode,
    vlq_encode,
)
from runner.transform.ssr_transform import ssr_transform
from tests.conformance import VITE_FIXTURES, conformance_file, needs_conformance

CASES = VITE_FIXTURES / "ssr-transform-cases"

# A tiny module runner: the transformed code runs as Vite's runner runs it; imported modules
# are plain objects made by factories `(exports) => module` (so a fake module can poke at the
# importer's exports while it is being imported).
HARNESS = r"""
globalThis.__logs = [];
globalThis.console = { log: (...a) => __logs.push(a.map(String).join(' ')) };
const AsyncFunction = (async function () {}).constructor;
globalThis.__run = function (code, factories, meta) {
  const exports = Object.create(null);
  Object.defineProperty(exports, Symbol.toStringTag, { value: 'Module' });
  const calls = [];
  const load = (spec) => {
    if (!(spec in factories)) throw new Error('no module ' + spec);
    return factories[spec](exports);
  };
  const state = { exports, calls, done: false, error: null };
  const fn = new AsyncFunction('__vite_ssr_exports__', '__vite_ssr_import_meta__', '__vite_ssr_import__',
    '__vite_ssr_dynamic_import__', '__vite_ssr_exportAll__', '__vite_ssr_exportName__',
    '"use strict";\n' + code);
  const record = (call, options) => calls.push(options === undefined ? call : [...call, options]);
  const imp = async (spec, options) => { record([spec], options); return load(spec); };
  const dyn = async (spec, options) => { record(['dynamic', spec], options); return load(spec); };
  const exportAll = (ns) => {
    for (const k in ns) if (k !== 'default' && !(k in exports))
      Object.defineProperty(exports, k, { enumerable: true, configurable: true, get: () => ns[k] });
  };
  const exportName = (name, getter) =>
    Object.defineProperty(exports, name, { enumerable: true, configurable: true, get: getter });
  fn.call(undefined, exports, meta, imp, dyn, exportAll, exportName)
    .then(() => { state.done = true; }, (e) => { state.done = true; state.error = e; });
  return state;
};
// Any name of a generic module is a function (also usable as a class) whose properties are
// such functions again.
const generic = (id) => new Proxy(function () { if (!new.target) return { id }; }, {
  get(target, key) {
    if (key in target || typeof key !== 'string' || key === 'then') return target[key];
    return (target[key] = generic(id + '.' + key));
  },
});
globalThis.__generic = (spec) => new Proxy({}, {
  get(target, key) {
    if (typeof key !== 'string' || key === 'then') return undefined;
    return key in target ? target[key] : (target[key] = generic(spec + ':' + key));
  },
});
"""

GENERIC_GLOBALS = "globalThis.foo = () => {}; globalThis.tests = [1, 2]; globalThis.inMatch = [0, 1, 2];"


class Run:
    def __init__(self, ctx: quickjs.Context, result: Any) -> None:
        self.ctx = ctx
        self.result = result

    def __call__(self, expr: str) -> Any:
        """Evaluate `expr` (JS) with `exports`, `calls`, `error`, `logs` in scope, as JSON."""
        text = self.ctx.eval(
            "JSON.stringify((() => { const exports = __s.exports, calls = __s.calls, error = __s.error, "
            f"logs = __logs; return ({expr}); }})())")
        return None if text is None else json.loads(text)

    @property
    def error(self) -> Any:
        return self("error && {name: error.name, message: error.message, stack: error.stack}")


def run(source: str, modules: dict[str, str] | None = None, *, generic: bool = False, setup: str = "",
        meta: str = "{url: 'file:///src/m.js'}") -> Run:
    """Transform `source`, run it; `modules` maps specifiers to JS factories `(exports) => module`."""
    result = ssr_transform(source, "/src/m.js")
    ctx = quickjs.Context()
    ctx.eval(HARNESS)
    if setup:
        ctx.eval(setup)
    factories = ", ".join(f"{json.dumps(k)}: {v}" for k, v in (modules or {}).items())
    ctx.eval(f'"use strict"; globalThis.__factories = {{{factories}}};')
    if generic:
        ctx.eval("globalThis.__factories = new Proxy(__factories, { has: () => true, "
                 "get: (t, k) => k in t ? t[k] : () => __generic(k) });")
    ctx.eval(f"globalThis.__s = __run({json.dumps(result.code)}, __factories, {meta});")
    while ctx.execute_pending_job():
        pass
    assert ctx.eval("__s.done"), "module did not settle"
    return Run(ctx, result)


def ok(source: str, modules: dict[str, str] | None = None, **kw: Any) -> Run:
    r = run(source, modules, **kw)
    assert r.error is None, r.error
    return r


# --- Vite's ssrTransform inputs ---------------------------------------------------------------

# (One placeholder without the material, so the test is skipped for that reason, not for an empty list.)
FIXTURES = sorted(p.name for p in CASES.glob("*.input.js")) or ["(no fixtures)"]
# Inputs whose evaluation must throw, as it would natively.
EXPECTED_ERRORS = {
    # `export * as bar` binds no local `bar`.
    "071-identity-function-is-declared-before-used.input.js": "ReferenceError",
}


@needs_conformance
def test_fixture_inputs_present() -> None:
    assert len(FIXTURES) > 60


@needs_conformance
@pytest.mark.parametrize("name", FIXTURES)
def test_vite_fixture_runs(name: str) -> None:
    source = (CASES / name).read_text()
    r = run(source, generic=True, setup=GENERIC_GLOBALS)
    expected = EXPECTED_ERRORS.get(name)
    if expected:
        assert r.error and r.error["name"] == expected
    else:
        assert r.error is None, r.error


def fixture(name: str) -> str:
    return conformance_file(CASES / name).read_text()


def test_fixture_label_named_like_import() -> None:
    r = ok(fixture("004-named-import-colliding-with-label.input.js") + "\nexport { foo }",
           {"vue": "() => ({ query: 1 })"})
    assert r("typeof exports.foo") == "function"


def test_fixture_overwrite_bindings() -> None:
    source = fixture("045-overwrite-bindings.input.js") + "\nexport { a, b, d, c, f, e, g }"
    r = ok(source, {"vue": "() => ({ inject: 'INJ' })"})
    assert r("[exports.a.inject, exports.b.test, exports.d]") == ["INJ", "INJ", "INJ"]
    exports_call = r("(exports.c(), exports.f(), exports.e(), exports.g(), logs)")
    assert exports_call == ["true", "INJ", "INJ"]


def test_fixture_nested_destructuring_shadows() -> None:
    source = fixture("052-nested-object-destructure-alias.input.js") + "\nexport { a }"
    mod = "() => { const f = (n) => () => __logs.push('import ' + n); " \
          "return { remove: f('remove'), add: f('add'), get: f('get'), set: f('set'), rest: f('rest'), " \
          "objRest: f('objRest') }; }"
    setup = ("globalThis.foo = { o: { remove: () => __logs.push('local remove') }, a: { b: { c: [() => "
             "__logs.push('local add')] } }, d: [{ get: () => __logs.push('local get') }, () => "
             "__logs.push('local set'), () => __logs.push('local rest')], objRest: 1 };")
    r = ok(source, {"vue": mod}, setup=setup)
    assert r("logs") == ["import remove", "import add", "import get", "import set", "import rest",
                         "import objRest"]
    r("(logs.length = 0, 0)")
    # `...rest` is an array: calling it throws, after the four local calls.
    assert r("(() => { try { exports.a() } catch (e) { return [logs, e.name] } })()") == [
        ["local remove", "local add", "local get", "local set"], "TypeError"]


def test_fixture_declare_scope_hoisting() -> None:
    source = fixture("056-declare-scope.input.js") + "\nexport { foobar }"
    mod = "() => { const f = (n) => () => __logs.push('import ' + n); " \
          "return { aaa: f('aaa'), bbb: f('bbb'), ccc: 0, ddd: f('ddd') }; }"
    r = ok(source, {"vue": mod})
    assert r("logs") == ["import aaa", "import bbb"]
    # Inside foobar every name is local (ddd hoisted; ccc() calls the local number 1).
    assert r("(() => { logs.length = 0; try { exports.foobar() } catch (e) { return [logs, e.name] } })()") \
        == [["hi", "hi"], "TypeError"]


def test_fixture_switch_case_scopes() -> None:
    r = ok(fixture("074-a-switch-case-local-shadows-an-import-only-within-the-case-b.input.js"),
           {"./ast": "() => ({ createObjectProperty: (x) => typeof x === 'function' ? `O(${x()})` : x })"})
    assert r("exports.buildProps({ type: 1, value: 'v' })") == "O(ref_for)"
    assert r("logs") == ["v"]
    r2 = ok(fixture("075-a-switch-case-function-or-class-declaration-is-scoped-to-the.input.js")
            + "\nexport { run }",
            {"./m": "() => ({ f: () => 'imported f', C: class { get v() { return 'C' } } })"})
    assert r2("(() => { const [a, b] = exports.run(2); return [a, b.v] })()") == ["imported f", "C"]


def test_fixture_semicolon_injection_keeps_statements_apart() -> None:
    source = fixture("073-inject-semicolon-for-0-wrapper.input.js")
    r = ok(source, {"./f": "() => ({ f: (...a) => { __logs.push('f' + a.join()); } })"})
    assert r("logs") == ["f"] * 14 + ["f1"]


def test_fixture_var_scope_and_blocks() -> None:
    r = ok(fixture("065-track-var-scope-by-function.input.js") + "\nexport { test }",
           {"foobar": "() => ({ foo: 'F', bar: 'B' })"})
    assert r("(() => { const [f, b] = exports.test(); return [typeof f, b] })()") == ["function", "someone"]
    r = ok(fixture("066-track-scope-by-blocks.input.js") + "\nexport { test }",
           {"foobar": "() => ({ foo: 'F', bar: 'B', baz: 'Z' })"})
    assert r("exports.test()") == "B"
    r = ok(fixture("067-track-scope-in-for-loops.input.js"), {"./test.js": "() => ({ test: 'T' })"},
           setup="globalThis.tests = ['x']")
    assert r("logs") == ["x"] + [str(i) for i in range(10)] + ["0"]


# --- import forms -----------------------------------------------------------------------------

def test_import_forms_and_imported_names() -> None:
    src = """
import def from 'a';
import { x, y as why, "a-b" as ab, default as d2 } from 'b';
import * as ns from 'c';
import def2, { z } from 'd';
import def3, * as ns2 from 'e';
import 'f';
import {} from 'g';
export const out = [def, x, why, ab, d2, ns.k, def2, z, def3, ns2.default];
"""
    mods = {"a": "() => ({ default: 'A' })",
            "b": "() => ({ x: 'X', y: 'Y', 'a-b': 'AB', default: 'BD' })",
            "c": "() => ({ k: 'K' })", "d": "() => ({ default: 'D', z: 'Z' })",
            "e": "() => ({ default: 'E' })", "f": "() => ({})", "g": "() => ({})"}
    r = ok(src, mods)
    assert r("exports.out") == ["A", "X", "Y", "AB", "BD", "K", "D", "Z", "E", "E"]
    assert r("calls") == [
        ["a", {"importedNames": ["default"]}],
        ["b", {"importedNames": ["x", "y", "a-b", "default"]}],
        ["c"], ["d", {"importedNames": ["default", "z"]}], ["e"], ["f"], ["g"],
    ]


def test_imports_are_hoisted_and_live() -> None:
    src = """
export const before = count;
inc();
export function read() { return count; }
import { count, inc } from './counter';
"""
    counter = "() => { let n = 0; return { get count() { return n; }, inc() { n++; } }; }"
    r = ok(src, {"./counter": counter})
    assert r("[exports.before, exports.read()]") == [0, 1]


def test_calls_of_imports_have_undefined_this() -> None:
    src = """
import f, { g } from 'm';
import * as ns from 'm';
export const r = [f(), g(), (g)(), g`t`, g?.(), ns.g(), ns.g.call(1)];
"""
    mod = "() => ({ default() { return this === undefined }, g() { return this === undefined } })"
    r = ok(src, {"m": mod})
    assert r("exports.r") == [True, True, True, True, True, False, False]


def test_namespace_and_shorthand_properties() -> None:
    src = """
import { a } from 'm';
import * as ns from 'm';
export const o = { a, ns };
export const keys = Object.keys(o);
"""
    r = ok(src, {"m": "() => ({ a: 1 })"})
    assert r("[exports.o.a, exports.o.ns.a, exports.keys]") == [1, 1, ["a", "ns"]]


def test_imported_superclass_and_new() -> None:
    src = """
import { Base } from 'm';
export class A extends Base { who() { return 'A:' + super.who(); } }
export const a = new A().who();
export const b = new Base;
"""
    r = ok(src, {"m": "() => ({ Base: class { who() { return 'base' } } })"})
    assert r("[exports.a, typeof exports.b]") == ["A:base", "object"]


def test_import_attributes() -> None:
    src = """
import j from './x.json' with { type: 'json' };
import * as ns from './y.json' with { "type": "json" };
export { default as z } from './z.json' with { type: "json" };
export * from './w.js' with {};
export const v = [j.a, ns.default.a];
"""
    mods = {k: "() => ({ default: { a: 1 } })" for k in ("./x.json", "./y.json", "./z.json")}
    mods["./w.js"] = "() => ({ w: 2 })"
    r = ok(src, mods)
    assert r("calls") == [
        ["./x.json", {"importedNames": ["default"], "attributes": {"type": "json"}}],
        ["./y.json", {"attributes": {"type": "json"}}],
        ["./z.json", {"importedNames": ["default"], "attributes": {"type": "json"}}],
        ["./w.js"],
    ]
    assert r("[exports.v, exports.z.a, exports.w]") == [[1, 1], 1, 2]
    result = r.result
    assert [imp.attributes for imp in result.imports] == [{"type": "json"}, {"type": "json"},
                                                           {"type": "json"}, {}]


def test_import_meta_and_dynamic_import() -> None:
    src = """
export const url = import.meta.url;
export const p = import('./lazy').then((m) => m.v);
export const q = import('./lazy', { with: { type: 'js' } });
const name = './lazy';
export const r = import(name);
"""
    r = ok(src, {"./lazy": "() => ({ v: 42 })"})
    assert r("exports.url") == "file:///src/m.js"
    assert r("calls") == [["dynamic", "./lazy"], ["dynamic", "./lazy", {"with": {"type": "js"}}],
                          ["dynamic", "./lazy"]]
    assert r.result.dynamic_deps == ["./lazy"]


# --- export forms -----------------------------------------------------------------------------

def test_export_declarations_and_clauses() -> None:
    src = """
export function f() { return 'f'; }
export async function af() {}
export function* gen() {}
export class C {}
export var v = 1;
export let l = 2;
export const c = 3, { d, e: [e1, ...rest] } = { d: 4, e: [5, 6, 7] };
const local = 8, other = 9;
export { local, other as renamed, local as "string name" };
"""
    r = ok(src)
    assert r("Object.keys(exports)") == ["f", "af", "gen", "C", "v", "l", "c", "d", "e1", "rest", "local",
                                         "renamed", "string name"]
    assert r("[exports.f(), typeof exports.C, exports.v, exports.l, exports.c, exports.d, exports.e1, "
             "exports.rest, exports.local, exports.renamed, exports['string name']]") == \
        ["f", "function", 1, 2, 3, 4, 5, [6, 7], 8, 9, 8]


def test_reexports() -> None:
    src = """
export { x, y as why, default as def, "a-b" as "c-d" } from 'a';
export * as ns from 'b';
export * as "str ns" from 'b';
export * from 'c';
import { k } from 'd';
import * as dn from 'd';
export { k, k as k2, dn };
export const x2 = 1;
"""
    mods = {"a": "() => ({ x: 'X', y: 'Y', default: 'D', 'a-b': 'AB' })", "b": "() => ({ b: 'B' })",
            "c": "() => ({ c1: 'C1', x2: 'not me', default: 'not me' })", "d": "() => ({ k: 'K' })"}
    r = ok(src, mods)
    assert r("[exports.x, exports.why, exports.def, exports['c-d'], exports.ns.b, exports['str ns'].b, "
             "exports.c1, exports.k, exports.k2, exports.dn.k, exports.x2, 'default' in exports]") == \
        ["X", "Y", "D", "AB", "B", "B", "C1", "K", "K", "K", 1, False]
    assert r("calls") == [["a", {"importedNames": ["x", "y", "default", "a-b"]}], ["b"], ["b"], ["c"],
                          ["d", {"importedNames": ["k"]}], ["d"]]


def test_export_default_live_and_snapshot() -> None:
    r = ok("export default function f() { return 1 }\nf = () => 2;")
    assert r("exports.default()") == 2
    r = ok("export default class C { static v = 1 }\nC = class { static v = 2 };")
    assert r("exports.default.v") == 2
    r = ok("let x = 1;\nexport default x;\nx = 2;\nexport { x };")
    assert r("[exports.default, exports.x]") == [1, 2]
    r = ok("export default 1 + 2;")
    assert r("exports.default") == 3
    r = ok("let o = {a: 1};\nexport { o as default };\no = {a: 2};")
    assert r("exports.default.a") == 2


def test_default_name_is_default_for_anonymous_definitions() -> None:
    cases = {
        "export default function () {}": "default",
        "export default async function () {}": "default",
        "export default function* () {}": "default",
        "export default async function* () {}": "default",
        "export default class {}": "default",
        "export default (class {});": "default",
        "export default (function () {});": "default",
        "export default () => {};": "default",
        "export default async () => {};": "default",
        "export default ((() => {}));": "default",
        "export default class { static name = 'own' }": "own",
        "export default function named() {}": "named",
        "export default (0, function () {});": "",
        "export default class A {}": "A",
    }
    for src, name in cases.items():
        assert ok(src)("exports.default.name") == name, src


def test_anonymous_default_function_is_hoisted() -> None:
    r = ok("export const early = typeof __vite_ssr_exports__.default;\n"
           "export default function () { return 7 }")
    assert r("[exports.early, exports.default()]") == ["function", 7]


def test_export_default_then_next_statement() -> None:
    r = ok("var count = 0;\nexport default class {} if (true) { count += 1; }\nexport { count }")
    assert r("exports.count") == 1
    r = ok("export default function () {}\n(function () { __logs.push('iife') })()")
    assert r("logs") == ["iife"]


def test_tdz_through_export_getter() -> None:
    src = "import './probe';\nexport const x = 1;\nexport let y;\nexport class K {}\nexport function f() {}"
    probe = ("(exports) => { for (const k of ['x', 'y', 'K', 'f']) { try { __logs.push(k + ':' + "
             "typeof exports[k]) } catch (e) { __logs.push(k + ':' + e.name) } } return {}; }")
    r = ok(src, {"./probe": probe})
    assert r("logs") == ["x:ReferenceError", "y:ReferenceError", "K:ReferenceError", "f:function"]
    assert r("[exports.x, exports.y, typeof exports.K]") == [1, None, "function"]


def test_export_of_unicode_and_surrogate_pair_names() -> None:
    r = ok('const a = 1;\nexport { a as "é😀" };\nexport const ñ = 2;')
    assert r("[exports['é😀'], exports['ñ']]") == [1, 2]


# --- shadowing --------------------------------------------------------------------------------

SHADOW_MODULE = {"m": "() => ({ x: 'IMPORT', f: () => 'IMPORT', C: class { static v = 'IMPORT' } })"}


@pytest.mark.parametrize(("body", "expected"), [
    ("function t(x) { return x } export const r = t('param');", "param"),
    ("function t({ x }) { return x } export const r = t({ x: 'destructured' });", "destructured"),
    ("function t([, x]) { return x } export const r = t([0, 'array']);", "array"),
    ("function t(a, ...x) { return x[0] } export const r = t(0, 'rest');", "rest"),
    ("function t(a = x) { return a } export const r = t();", "IMPORT"),
    ("function t(x = 'default') { return x } export const r = t();", "default"),
    ("function t(a = () => x) { let x = 'body'; return a() } export const r = t();", "IMPORT"),
    ("function t() { if (true) { var x = 'hoisted' } return x } export const r = t();", "hoisted"),
    ("function t() { const g = () => x; var x = 'late var'; return g() } export const r = t();", "late var"),
    ("function t() { { let x = 'block' } return x } export const r = t();", "IMPORT"),
    ("let r0; { const x = 'block'; r0 = x } export const r = r0;", "block"),
    ("let r0; { function x() { return 'fn in block' } r0 = x() } export const r = r0 + ':' + x;",
     "fn in block:IMPORT"),
    ("let r0; try { throw 'caught' } catch (x) { r0 = x } export const r = r0;", "caught"),
    ("let r0; try { throw { x: 'caught' } } catch ({ x }) { r0 = x } export const r = r0;", "caught"),
    ("const g = function x() { return typeof x } ; export const r = g() + ':' + x;", "function:IMPORT"),
    ("const K = class x { m() { return typeof x } }; export const r = new K().m() + ':' + x;",
     "function:IMPORT"),
    ("const o = { x: 1, f() { return 'm' }, C: 2 }; export const r = o.x + o.f() + x;", "1mIMPORT"),
    ("class K { x = 'field'; f() { return this.x } static C = 1 } export const r = new K().f() + x;",
     "fieldIMPORT"),
    ("x: for (;;) { break x } export const r = x;", "IMPORT"),
    ("let s = []; for (const x of ['of']) s.push(x); for (const x in { in: 1 }) s.push(x); "
     "for (let x = 0; x < 1; x++) s.push(x); export const r = s.join() + x;", "of,in,0IMPORT"),
    ("function t(v) { switch (v) { case 1: let x = 'case'; return x; default: try { return x } "
     "catch (e) { return e.name } } } export const r = t(1) + t(2);", "caseReferenceError"),
    ("const t = (x) => x; export const r = t('arrow');", "arrow"),
    ("const t = x => x; export const r = t('arrow1');", "arrow1"),
    ("export const r = (({ a: { x } }) => x)({ a: { x: 'nested' } });", "nested"),
    ("function t() { function x() { return 'decl' } return x() } export const r = t();", "decl"),
    ("function t() { return typeof f } export const r = t();", "function"),
    ("const obj = { x }; export const r = obj.x;", "IMPORT"),
    ("export const r = `${x}`;", "IMPORT"),
    ("let y; ({ x: y } = { x: 'assigned' }); export const r = y + x;", "assignedIMPORT"),
    ("export const r = C.v + new (class extends C {})().constructor.v;", "IMPORTIMPORT"),
    ("class K { static { var x = 'static'; this.s = x } } export const r = K.s + x;", "staticIMPORT"),
    # Vite case 064: condition blocks, also inside a class constructor.
    ("let s = ''; if (false) { const x = 1 } else if (s) { const [x] = [2] } else { s += x } "
     "class T { constructor() { if (false) { const x = 1 } else { this.v = x } } } "
     "export const r = s + new T().v;", "IMPORTIMPORT"),
])
def test_shadowing(body: str, expected: str) -> None:
    r = ok("import { x, f, C } from 'm';\n" + body, SHADOW_MODULE)
    assert r("exports.r") == expected


def test_member_and_key_positions_are_not_rewritten() -> None:
    src = """
import { a, b, c } from 'm';
const o = { a: 1, b() { return 2 }, get c() { return 3 }, [a]: 4 };
class K { a = 5; b() { return 6 } static c = 7; #a = 8; get p() { return this.#a } }
export const r = [o.a, o.b(), o.c, o.A, new K().a, new K().b(), K.c, new K().p, o?.a];
"""
    r = ok(src, {"m": "() => ({ a: 'A', b: 'B', c: 'C' })"})
    assert r("exports.r") == [1, 2, 3, 4, 5, 6, 7, 8, 1]


def test_top_level_arguments_and_this() -> None:
    r = ok("export const t = typeof arguments;\nexport const th = this;\n"
           "export function f() { return arguments.length }")
    assert r("[exports.t, exports.th, exports.f(1, 2)]") == ["undefined", None, 2]
    r = run("export const a = arguments;")
    assert r.error["name"] == "ReferenceError"
    r = ok("export const a = arguments;\nexport const b = (() => arguments)();",
           setup="globalThis.arguments = 'global'")
    assert r("[exports.a, exports.b]") == ["global", "global"]


def test_hashbang() -> None:
    src = "#!/usr/bin/env node\nimport { x } from 'm';\nexport const y = x;\nthrow new Error('line 4')"
    result = ssr_transform(src, "/h.js")
    assert result.code.splitlines()[0].endswith("///usr/bin/env node")
    r = run(src, {"m": "() => ({ x: 1 })"})
    assert r.error["message"] == "line 4"
    assert r("exports.y") == 1
    assert _stack_position(r, r.result) == (4, 10)


def test_top_level_await() -> None:
    r = ok("export const v = await Promise.resolve(5);")
    assert r("exports.v") == 5
    assert r.result.has_tla
    assert ssr_transform("for await (const x of []) {}", "a.js").has_tla
    assert not ssr_transform("async function f() { await 1 }\nimport 'x'", "a.js").has_tla
    assert not ssr_transform("const f = async () => { for await (const x of []); }", "a.js").has_tla


# --- metadata ---------------------------------------------------------------------------------

def test_deps_and_import_records() -> None:
    src = ('import a from "a";\nexport { b } from "b";\nexport * from "c";\n'
           'export * as d from "d";\nimport("e")\nexport * as A from "a";\nimport * as n, { x } from "n";\n'
           'import(`t`); import("e");')
    with pytest.raises(ParseError):
        ssr_transform(src, "/x.js")  # `import * as n, {x}` is not a valid clause
    src = src.replace('import * as n, { x } from "n";', 'import n, * as nn from "n";')
    result = ssr_transform(src, "/x.js")
    assert result.deps == ["a", "b", "c", "d", "n"]
    assert result.dynamic_deps == ["e"]
    assert result.star_exports == ["c"]
    assert [(i.specifier, i.imported_names, i.namespace, i.line, i.column) for i in result.imports] == [
        ("a", ["default"], False, 1, 15), ("b", ["b"], False, 2, 19), ("c", [], True, 3, 15),
        ("d", [], True, 4, 20), ("a", [], True, 6, 20), ("n", ["default"], True, 7, 24)]
    assert {k: (v.kind, v.specifier, v.import_name) for k, v in result.exports.items()} == {
        "b": ("indirect", "b", "b"), "d": ("indirect", "d", "*"), "A": ("indirect", "a", "*")}



def test_import_records_of_a_large_index() -> None:
    """An index of hundreds of re-exports (lodash-es's lodash.js, date-fns's index): each record's
    namespace flag is its own line's, whatever the others re-export."""
    lines = []
    for n in range(300):
        lines.append([f'export {{ f{n} }} from "./m{n}.js";', f'export * as ns{n} from "./m{n}.js";',
                      f'export * from "./m{n}.js";', f'export {{ default as d{n}, g{n} }} from "./m{n}.js";'][n % 4])
    result = ssr_transform("\n".join(lines) + "\n", "/index.js")
    assert [(i.line, i.imported_names, i.namespace) for i in result.imports] == [
        (n + 1, [[f"f{n}"], [], [], ["default", f"g{n}"]][n % 4], n % 4 in (1, 2)) for n in range(300)]
    assert result.star_exports == [f"./m{n}.js" for n in range(2, 300, 4)]
    assert result.exports["ns1"].import_name == "*" and result.exports["d3"].import_name == "default"

def test_export_records_and_constant_flags() -> None:
    src = """
import { imp } from 'i';
import * as ns from 'n';
export const c = 1;
export let never = 2;
export let later = 3;
later++;
export var v = 1;
export var twice = 1;
var twice = 2;
export function fn() {}
export function fn2() {}
fn2 = null;
export class K {}
export let destr = 0;
[destr] = [1];
export let shadowed = 0;
function g(shadowed) { shadowed = 2 }
export let forIn;
for (forIn in {}) ;
export default function () {}
export { imp, ns, imp as imp2 };
"""
    exports = ssr_transform(src, "/x.js").exports
    flags = {k: v.constant for k, v in exports.items() if v.kind == "local"}
    assert flags == {"c": True, "never": True, "later": False, "v": True, "twice": False, "fn": True,
                     "fn2": False, "K": True, "destr": False, "shadowed": True, "forIn": False,
                     "default": True}
    assert exports["default"].local == "__vite_ssr_export_default__"
    assert exports["fn"].local == "fn"
    assert (exports["imp"].kind, exports["imp"].specifier, exports["imp"].import_name) == \
        ("indirect", "i", "imp")
    assert (exports["ns"].kind, exports["ns"].import_name) == ("indirect", "*")
    assert list(exports) == ["c", "never", "later", "v", "twice", "fn", "fn2", "K", "destr", "shadowed",
                             "forIn", "default", "imp", "ns", "imp2"]
    with_eval = ssr_transform("export const c = 1;\neval('1');", "/x.js").exports
    assert not with_eval["c"].constant


@pytest.mark.parametrize(("src", "constant"), [
    # Only reads: member access, call, index, tag, optional chaining (in code the analysis may skip).
    ("export let x = 1; function g() { x.y = 1; x(); x[0] = 2; x`t`; x?.z; x\n(1) }", True),
    ("export let x = 1; function g() { [x] = [1] }", False),
    ("export let x = 1; function g() { ({ x } = {}) }", False),
    ("export let x = 1; function g() { for (x of []); }", False),
    ("export let x = 1; function g() { x\n= 2 }", False),
    ("export let x = 1; class K { static { x ??= 2 } }", False),
    # Writes to an inner declaration of the name, whatever form it takes.
    ("export function h() {}\nfunction outer() {\n  function h() {}\n  h = 5;\n}", True),
    ("export let w = 1;\nfunction outer(foo) {\n  let w\n  w = 2\n  w\n  (foo)\n}", True),
    ("export let w = 1;\nfunction outer() { try {} catch (w) { w = 2 } }", True),
    ("export let w = 1;\nfunction outer() { const f = (w) => { w = 5 }; }", True),
    ("export function h() {}\nfunction outer() { { function h() {} } h = 5; }", False),
    ("export function h() {}\nfunction outer() { h = 5 }", False),
])
def test_constant_flags_with_inner_scopes(src: str, constant: bool) -> None:
    exports = ssr_transform(src, "/x.js").exports
    assert [e.constant for e in exports.values()] == [constant]


def test_imports_inside_nested_functions_and_classes() -> None:
    # Functions, classes and statements without an import's name are not walked: the ones with
    # it are, however deep, and their own declarations still shadow.
    src = """
import { f, g } from 'm';
const unrelated = (a) => { const b = a * 2; return [b, a].map((c) => c + 1); };
class K { m(v) { return v + 1 } n() { return f() } static s = g; }
function outer() {
  const keep = 1;
  function inner() { return keep + f() }
  { let g = () => 'local'; return [inner(), g()] }
}
export const r = [unrelated(1), new K().n(), K.s(), outer()];
"""
    r = ok(src, {"m": "() => ({ f: () => 'F', g: () => 'G' })"})
    assert r("exports.r") == [[3, 2], "F", "G", ["1F", "local"]]


# --- source maps ------------------------------------------------------------------------------

def _stack_position(r: Run, result: Any) -> tuple[int, int]:
    """The first stack frame inside the module, mapped back: (1-based line, 0-based column)."""
    stack = r.error["stack"]
    frames = re.findall(r"at (\S+) \(<input>:(\d+):(\d+)\)", stack)
    module_frames = [(int(line), int(col)) for fn, line, col in frames if fn in ("anonymous", "<anonymous>")]
    assert module_frames, stack
    line, column = module_frames[0]
    source_map = shift_lines(result.map, 3)  # the AsyncFunction header and "use strict"
    gen_line = result.code.split("\n")[line - 4]
    pos = original_position(source_map, line, utf8_to_utf16_column(gen_line, column - 1))
    assert pos is not None and pos.source == "/src/m.js"
    return pos.line, pos.column


@pytest.mark.parametrize(("src", "where"), [
    ("import { f } from 'm';\nconst a = 1;\n  f.nope();", (3, 4)),
    ("import { f } from 'm';\nconst a = 1;\nnull.foo", (3, 0)),
    ("const a = 1; import { f } from 'm'; const b = 2;   undefinedThing + f()", (1, 51)),
    ("import { f } from 'm';\nexport default   f.nope(1)", (2, 19)),
    ("import { f, g } from 'm';\nconst s = '\u00e9\U0001F600'; const t = f(g(), g(), missing.x)", (2, 39)),
    ("export const x = () => 1;\n/* a\n comment */ undefinedThing()", (3, 12)),
    ("import { f } from 'm';\nexport const x = [1,\n  2].map((v) => f(v).nope.x);", (3, 18)),
    ("import { throws } from 'm';\n\n  throws();", (3, 2)),
    ("#!/usr/bin/env node\nimport { f } from 'm';\nthrow new Error('line 3')", (3, 10)),
])
def test_source_map_positions(src: str, where: tuple[int, int]) -> None:
    mod = {"m": "() => ({ f: () => 1, g: () => 2, throws() { throw new Error('x') } })"}
    r = run(src, mod)
    assert r.error is not None
    assert _stack_position(r, r.result) == where


def test_source_map_shape_and_line_preservation() -> None:
    src = "import { a } from 'x';\n\nexport const b = a;\nexport { b as c };\nconsole.log(b)\n"
    result = ssr_transform(src, "/src/m.js")
    assert result.map["version"] == 3
    assert result.map["sources"] == ["/src/m.js"]
    assert result.map["sourcesContent"] == [src]
    assert result.code.count("\n") == src.count("\n")
    assert result.code.splitlines()[4] == "console.log(b)"
    for line in range(1, 6):
        for col in range(0, 20):
            pos = original_position(result.map, line, col)
            if pos is not None and line > 1:
                assert pos.line == line


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("src", "line", "column", "message"), [
    ("let x = 1;\nx = ) 2;", 2, 5, "Unexpected token ')'"),
    ("const a = 1;\nfoo(", 2, 5, "Unexpected end of input"),
    ("if (x) {\n  y", 2, 4, "Unexpected end of input"),
    ("export const a = 1;\nexport { a };", 2, 10, "Duplicate export of 'a'"),
    ("export default 1;\nexport default 2;", 2, 1, "Duplicate export of 'default'"),
    ("export { nope };", 1, 10, "Export 'nope' is not defined in module"),
    ('export { "a" };', 1, 10, "without `from`"),
    ("import { a } from 'x';\nlet a;", 2, 5, "Identifier 'a' has already been declared"),
    ("import { a, b as a } from 'x';", 1, 18, "Identifier 'a' has already been declared"),
    ("function f() {}\nvar f;", 2, 5, "Identifier 'f' has already been declared"),
    ("function f() {}\nfunction f() {}", 2, 10, "Identifier 'f' has already been declared"),
    ("const await = 1;", 1, 7, "'await'"),
    ("function f() { await: 1 }", 1, 16, "'await'"),
    ("function f() { await g() }", 1, 16, "only valid in async functions"),
    ("return 1;", 1, 1, "Illegal return"),
    ("const t = () => new.target;", 1, 21, "new.target"),
    ("const s = super.x;", 1, 11, "'super'"),
    ("{ import x from 'y'; }", 1, 3, "top level"),
    ("function f() { export const a = 1 }", 1, 16, "top level"),
    ("import eval from 'x';", 1, 8, "eval or arguments"),
    ("import { arguments } from 'x';", 1, 10, "eval or arguments"),
    ("x = 1;\n<!-- comment", 2, 1, ""),
    ("x = 1;\n--> comment", 2, 1, "HTML-like comments"),
    ('export { a as "\\uD800" } from "x";', 1, 15, "lone surrogate"),
    ("import x from 'y' with { type: 'json', type: 'json' };", 1, 40, "Duplicate import attribute"),
    ("export default function () {}();", 1, 30, "Unexpected token '('"),
    ("export default const a = 1;", 1, 16, "Unexpected token 'const'"),
    ("import { x } from 'm';\ndelete x;", 2, 8, "Delete of an unqualified identifier"),
    ("arguments = 1;", 1, 1, "eval or arguments"),
    ("import.meta++;", 1, 1, "Invalid assignment target"),
    ("const el = <div>hi</div>;", 1, 12, "JSX"),
    ("const s = 'é😀';\nlet t = é = ) 2;", 2, 13, "Unexpected token ')'"),
    ("yield;", 1, 1, "'yield'"),
    ("function* g() { const f = (a = yield) => a; }", 1, 32, "'yield'"),
    ("function* g() { return () => { yield 1; }; }", 1, 32, "'yield'"),
])
def test_parse_errors(src: str, line: int, column: int, message: str) -> None:
    with pytest.raises(ParseError) as info:
        ssr_transform(src, "/src/bad.js")
    err = info.value
    assert err.loc is not None
    assert (err.loc.file, err.loc.line, err.loc.column) == ("/src/bad.js", line, column), err.message
    assert message in err.message
    assert err.name == "SyntaxError" and err.kind == "load"
    assert err.frame and f"> {line} |" in err.frame and "^" in err.frame


def test_valid_module_syntax_is_accepted() -> None:
    sources = [
        "export { x as if, y as class, z as default } from 'm';",
        "import { if as x, class as y } from 'm';\nexport { x, y };",
        "export * as class from 'm';",
        "export\n{\n};",
        "export//c\n{//c\n};",
        "import * as x from 'm'\nwith\n{};",
        "export * from 'm' with { type: 'json' };",
        "let await2 = 1; const o = { await: 1 }; o.await;",
        "export default class {}\nexport const x = 1;",
        "var a; var a; { var a; }",
        "label: { break label; }",
        "class K { static { this.x = 1 } #p = 1; static m() { return new.target } }",
        "const f = async () => { await 1 }; async function g() { for await (const x of []) {} }",
        "function* g() { yield 1; }\nclass C { *m() { yield* g(); } }\nconst o = { *p() { yield; } };",
        "export let x = 1;\nexport { x as y };",
        "x = a\nb <!--c\n",
    ]
    for src in sources:
        ssr_transform(src, "/ok.js")


def test_call_wrapper_in_single_statement_positions() -> None:
    src = """
import { f } from 'm';
let n = 0;
if (n) f()
if (!n) f(); else f()
for (const i of [1]) f()
while (n++ < 1) f()
do f(); while (false)
label: f()
f()
"""
    r = ok(src, {"m": "() => ({ f: () => { __logs.push('f') } })"})
    assert r("logs") == ["f"] * 6


# --- the source-map helpers ---------------------------------------------------------------------

def test_vlq_round_trip() -> None:
    values = [0, 1, -1, 15, 16, -16, 31, 32, 1023, -1024, 123456, -987654]
    for v in values:
        assert vlq_decode(vlq_encode(v)) == [v]
    assert vlq_encode(0) == "A" and vlq_encode(1) == "C" and vlq_encode(-1) == "D" and vlq_encode(16) == "gB"
    assert vlq_decode("AAgBC") == [0, 0, 16, 1]


def test_builder_decode_shift_and_lookup() -> None:
    b = SourceMapBuilder(["a.js"], ["x\ny"])
    b.add(0, 4, 0, 0)
    b.add(0, 0, 0, 2, name="n")  # out of order on purpose
    b.add(2, 3, 1, 1)
    m = b.to_dict()
    assert m["version"] == 3 and m["sources"] == ["a.js"] and m["sourcesContent"] == ["x\ny"]
    assert m["names"] == ["n"]
    lines = decode_mappings(m["mappings"])
    assert [[(s.column, s.line, s.source_column) for s in line] for line in lines] == [
        [(0, 0, 2), (4, 0, 0)], [], [(3, 1, 1)]]
    assert original_position(m, 1, 5) == ("a.js", 1, 0, None)
    assert original_position(m, 1, 2) == ("a.js", 1, 2, "n")
    assert original_position(m, 2, 0) is None
    assert original_position(m, 3, 2) is None
    shifted = shift_lines(m, 3)
    assert original_position(shifted, 6, 3) == ("a.js", 2, 1, None)


def test_compose_with_a_plugin_map() -> None:
    # A "plugin" that moved everything one line down and two columns right.
    plugin = SourceMapBuilder(["orig.ts"], ["const a = 1;\nfoo(a);\n"])
    plugin.add(1, 2, 0, 0)
    plugin.add(2, 2, 1, 0)
    plugin.add(2, 6, 1, 4)
    plugin_code = "\n  const a = 1;\n  foo(a);\n"
    ours = ssr_transform(plugin_code, "/mid.js").map
    composed = compose(ours, plugin.to_dict())
    assert composed["sources"] == ["orig.ts"]
    assert composed["sourcesContent"] == ["const a = 1;\nfoo(a);\n"]
    assert original_position(composed, 3, 2) == ("orig.ts", 2, 0, None)
    assert original_position(composed, 3, 6) == ("orig.ts", 2, 4, None)


def test_source_map_columns_are_utf16_units() -> None:
    src = 'import { "\\u00f1" as n } from "m";\nconst s = "😀é"; n(s)'
    result = ssr_transform(src, "/u.js")
    line2 = result.code.split("\n")[1]
    col = line2.index("(0,")
    assert original_position(result.map, 2, len(line2[:col].encode("utf-16-le")) // 2) == \
        ("/u.js", 2, len('const s = "😀é"; '.encode("utf-16-le")) // 2, None)
    assert '(0,__vite_ssr_import_0__["ñ"])(s)' in result.code
    ok(src, {"m": "() => ({ 'ñ': (x) => x })"})


def test_a_non_ascii_shorthand_maps_its_member_to_the_reference() -> None:
    src = 'import { x as ñé } from "m";\nexport const o = { ñé };'
    result = ssr_transform(src, "/u.js")
    line2 = result.code.split("\n")[1]
    member = line2.index("__vite_ssr_import_0__.x") + len("__vite_ssr_import_0__.")
    reference = len("export const o = { ")  # UTF-16 columns: ñé are one unit each
    segments = {segment.column: segment for segment in decode_mappings(result.map["mappings"])[1]}
    assert (segments[member].line, segments[member].source_column) == (1, reference)  # a segment right there
    assert original_position(result.map, 2, line2.index("ñé")) == ("/u.js", 2, reference, None)


def test_removed_statements_do_not_join_neighbours() -> None:
    src = """
import { f } from 'm';
let x = () => 0
export { x }
f()
let y = x
import 'n'
;[1].forEach(() => f())
let z = x
export * from 'n'
(f)()
"""
    r = ok(src, {"m": "() => ({ f: () => { __logs.push('f') } })", "n": "() => ({})"})
    assert r("logs") == ["f"] * 3
