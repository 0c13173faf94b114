"""Differential tests: small module graphs run natively in Node and through modrun, results compared.

Each case is a tiny project written into tmp_path. Node imports the entry through a driver script
(a real subprocess); modrun imports it through the Python API (a few cases also through the
`modrun run --json` command line). Both sides report the same shape:

    {"exports": [names], "values": {name: value}, "results": [...], "reads": {...},
     "error": null | {"stage", "name", "message"}, "logs": [[level, text], ...]}

Values are described the same way on both sides: functions as "<function>", undefined as null,
non-finite numbers, BigInts and symbols as "<type text>"; call results as JSON.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runner import JSFunction, JSOpaque, ModrunError, Server

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not on PATH: differential tests need Node as reference")

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "examples" / "shop"
MODRUN_CLI = Path(sys.executable).with_name("modrun")

DRIVER = r"""
import { pathToFileURL } from "node:url";
import { format } from "node:util";

const [entry, callsJson, readsJson] = process.argv.slice(2);
const calls = JSON.parse(callsJson);
const reads = JSON.parse(readsJson);
const logs = [];
for (const level of ["log", "info", "warn", "error", "debug"]) {
  console[level] = (...args) => { logs.push([level, format(...args)]); };
}

function describe(value, seen = []) {
  switch (typeof value) {
    case "function": return "<function>";
    case "undefined": return null;
    case "bigint": return `<bigint ${value}>`;
    case "symbol": return `<symbol ${value.toString()}>`;
    case "number": return Number.isFinite(value) ? value : `<number ${value}>`;
    case "object": break;
    default: return value;
  }
  if (value === null) return null;
  if (seen.includes(value)) return "<cyclic>";
  const inner = seen.concat([value]);
  if (Array.isArray(value)) return value.map((item) => describe(item, inner));
  if (typeof value.toJSON === "function") return JSON.parse(JSON.stringify(value));
  const out = {};
  for (const key of Object.keys(value)) out[key] = describe(value[key], inner);
  return out;
}

function errorOf(stage, error) {
  const isObject = error !== null && (typeof error === "object" || typeof error === "function");
  const name = isObject && error.constructor ? error.constructor.name : typeof error;
  return { stage, name, message: isObject ? String(error.message) : String(error) };
}

const out = { exports: [], values: {}, results: [], reads: {}, error: null, logs };
let stage = "import";
try {
  const ns = await import(pathToFileURL(entry).href);
  out.exports = Object.keys(ns);
  for (const name of out.exports) out.values[name] = describe(ns[name]);
  stage = "call";
  for (const [name, args] of calls) {
    const result = await ns[name].apply(undefined, args);
    out.results.push(result === undefined ? null : JSON.parse(JSON.stringify(result)));
  }
  for (const name of reads) out.reads[name] = describe(ns[name]);
} catch (error) {
  out.error = errorOf(stage, error);
}
process.stdout.write(JSON.stringify(out) + "\n");
"""


@dataclass
class Case:
    files: dict[str, str]
    entry: str = "main.js"
    calls: list[tuple[str, list[Any]]] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    # Engines word some messages differently (TDZ, not-found): compare only the error's name then.
    compare_message: bool = True


def write_project(base: Path, case: Case) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    (base / "package.json").write_text('{ "type": "module" }\n')
    for rel, text in case.files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return base


def run_node(project: Path, case: Case, driver: Path) -> dict[str, Any]:
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(driver), str(project / case.entry), json.dumps(case.calls), json.dumps(case.reads)],
        capture_output=True, text=True, timeout=30, cwd=project,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def describe(value: Any) -> Any:
    if isinstance(value, JSFunction):
        return "<function>"
    if isinstance(value, JSOpaque):
        return "<cyclic>" if value.type == "cyclic" else f"<{value.type} {value.text}>"
    if isinstance(value, dict):
        return {k: describe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [describe(v) for v in value]
    return value


async def run_modrun_async(project: Path, case: Case, cache_dir: Path) -> dict[str, Any]:
    logs: list[list[str]] = []
    out: dict[str, Any] = {"exports": [], "values": {}, "results": [], "reads": {}, "error": None, "logs": logs}
    stage = "import"
    async with Server(root=project, cache_dir=cache_dir,
                      on_console=lambda level, text: logs.append([level, text])) as server:
        env = server.environments["ssr"]
        try:
            mod = await env.import_module("/" + case.entry)
            out["exports"] = mod.exports
            out["values"] = {name: describe(mod[name]) for name in mod.exports}
            stage = "call"
            for name, args in case.calls:
                out["results"].append(await mod[name](*args))
            for name in case.reads:
                out["reads"][name] = describe(await mod.get(name))
        except ModrunError as error:
            out["error"] = {"stage": stage, "name": error.name, "message": error.message}
    return out


def run_modrun(project: Path, case: Case, cache_dir: Path) -> dict[str, Any]:
    return asyncio.run(run_modrun_async(project, case, cache_dir))


@pytest.fixture
def driver(tmp_path: Path) -> Path:
    path = tmp_path / "driver.mjs"
    path.write_text(DRIVER)
    return path


def compare(case: Case, tmp_path: Path, driver: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    project = write_project(tmp_path / "project", case)
    expected = run_node(project, case, driver)
    actual = run_modrun(project, case, tmp_path / "cache")
    if not case.compare_message:
        for side in (expected, actual):
            if side["error"]:
                side["error"].pop("message")
    assert actual == expected
    return expected, actual


# --------------------------------------------------------------------------------------------
# The cases. Each returns data that both engines must agree on.

CASES: dict[str, Case] = {}

CASES["live-bindings"] = Case(
    files={
        "counter.js": """
            export let count = 0;
            export function inc() { count++; return count; }
            export var label = "a";
            export function relabel(next) { label = next; }
            let hidden = 1;
            export { hidden as renamed };
            export function bumpHidden() { hidden += 10; }
        """,
        "main.js": """
            import { count, inc, label, relabel, renamed, bumpHidden } from "./counter.js";
            import * as ns from "./counter.js";
            const seen = [count, ns.count];
            inc();
            seen.push(count, ns.count);
            relabel("b");
            bumpHidden();
            seen.push(label, renamed);
            export { seen };
            export { count, inc, label } from "./counter.js";
            export const probe = () => [count, ns.count, label, renamed];
        """,
    },
    calls=[("inc", []), ("inc", []), ("probe", [])],
    reads=["count", "label"],
)

CASES["circular-working"] = Case(
    files={
        "a.js": """
            import { b, bValue } from "./b.js";
            console.log("a runs; b is", typeof b);
            export function fa() { return "fa"; }
            export const resultA = b() + "/" + bValue;
        """,
        "b.js": """
            import { fa } from "./a.js";
            console.log("b runs; fa is", typeof fa, fa());
            export const b = () => "b+" + fa();
            export const bValue = fa();
        """,
        "main.js": """
            import { resultA } from "./a.js";
            import * as b from "./b.js";
            console.log("main runs");
            export const result = resultA;
            export const late = () => b.b();
        """,
    },
    calls=[("late", [])],
)

CASES["circular-tdz"] = Case(
    files={
        "a.js": """
            import { b } from "./b.js";
            export const a = "a";
            export const ab = a + b;
        """,
        "b.js": """
            import { a } from "./a.js";
            console.log("b before a is read");
            export const b = a + "!";
        """,
        "main.js": """
            import { ab } from "./a.js";
            export default ab;
        """,
    },
    compare_message=False,  # V8: "Cannot access 'a' before initialization"; QuickJS: "a is not initialized"
)

CASES["circular-tdz-class"] = Case(
    files={
        "base.js": """
            import { Child } from "./child.js";
            export class Base { kind() { return "base"; } }
            export const made = new Child();
        """,
        "child.js": """
            import { Base } from "./base.js";
            export class Child extends Base {}
        """,
        "main.js": """
            import { made } from "./child.js";
            export { made };
        """,
    },
    compare_message=False,
)

CASES["circular-tdz-caught"] = Case(
    files={
        "a.js": """
            import { readA } from "./b.js";
            export const early = readA();
            export let a = "a";
        """,
        "b.js": """
            import { a } from "./a.js";
            export function readA() {
              try { return a; } catch (e) { return e.constructor.name; }
            }
        """,
        "main.js": """
            import { early } from "./a.js";
            import { readA } from "./b.js";
            export const result = [early, readA()];
        """,
    },
)

CASES["export-star-conflicts"] = Case(
    files={
        "x.js": """
            export const dup = "x";
            export const onlyX = 1;
            export const shadow = "x-shadow";
            export default "x-default";
        """,
        "y.js": """
            export const dup = "y";
            export const onlyY = 2;
            export const shadow = "y-shadow";
        """,
        "z.js": 'export * from "./x.js";\n',
        "reexports.js": """
            export * from "./x.js";
            export * from "./y.js";
            export * from "./z.js";
            export const shadow = "explicit";
        """,
        "main.js": """
            import * as all from "./reexports.js";
            export const keys = Object.keys(all);
            export const hasDup = "dup" in all;
            export const hasDefault = "default" in all;
            export const values = [all.onlyX, all.onlyY, all.shadow, all.dup];
            export * from "./reexports.js";
        """,
    },
)

CASES["export-star-ambiguous-import"] = Case(
    files={
        "x.js": 'export const dup = "x";\n',
        "y.js": 'export const dup = "y";\n',
        "both.js": 'export * from "./x.js";\nexport * from "./y.js";\n',
        "main.js": 'import { dup } from "./both.js";\nexport { dup };\n',
    },
    compare_message=False,  # a link-time SyntaxError; the wording is the engine's
)

CASES["export-star-as-ns"] = Case(
    files={
        "lib.js": """
            export let value = 1;
            export const bump = () => ++value;
            export default "lib-default";
        """,
        "re.js": 'export * as lib from "./lib.js";\nexport * from "./lib.js";\n',
        "main.js": """
            import { lib } from "./re.js";
            import * as direct from "./lib.js";
            const desc = Object.getOwnPropertyDescriptor(lib, "value");
            lib.bump();
            let assignError = null;
            try { lib.value = 5; } catch (e) { assignError = e.constructor.name; }
            let deleteError = null;
            try { delete lib.value; } catch (e) { deleteError = e.constructor.name; }
            export const facts = {
              same: lib === direct,
              tag: Object.prototype.toString.call(lib),
              proto: Object.getPrototypeOf(lib) === null,
              extensible: Object.isExtensible(lib),
              sealed: Object.isSealed(lib),
              frozen: Object.isFrozen(lib),
              keys: Object.keys(lib),
              ownKeys: Reflect.ownKeys(lib).map(String),
              desc: { writable: desc.writable, enumerable: desc.enumerable, configurable: desc.configurable },
              live: lib.value,
              assignError,
              deleteError,
              missing: lib.nope,
              hasDefault: "default" in lib,
            };
            export { lib };
        """,
    },
)

CASES["default-export-forms"] = Case(
    files={
        "fn.js": "export default function () { return 1; }\n",
        "cls.js": "export default class { static which() { return 'cls'; } }\n",
        "arrow.js": "export default () => 3;\n",
        "paren.js": "export default (function () {});\n",
        "named.js": "export default function named() {}\n",
        "gen.js": "export default async function* () {}\n",
        "expr.js": "export default [1, 2].map((n) => n * 2);\n",
        "live.js": """
            let x = 1;
            export { x as default };
            export const setX = (v) => { x = v; };
        """,
        "snapshot.js": """
            let y = 1;
            export default y;
            export const setY = (v) => { y = v; };
        """,
        "hoisted.js": """
            export default function f() { return "original"; }
            export const replace = () => { f = () => "replaced"; };
        """,
        "main.js": """
            import fn from "./fn.js";
            import cls from "./cls.js";
            import arrow from "./arrow.js";
            import paren from "./paren.js";
            import named from "./named.js";
            import gen from "./gen.js";
            import expr from "./expr.js";
            import live, { setX } from "./live.js";
            import snapshot, { setY } from "./snapshot.js";
            import hoisted, { replace } from "./hoisted.js";
            export const names = [fn.name, cls.name, arrow.name, paren.name, named.name, gen.name];
            export const results = [fn(), cls.which(), arrow(), expr];
            const before = [live, snapshot, hoisted()];
            setX(2);
            setY(2);
            replace();
            export const changes = { before, after: [live, snapshot, hoisted()] };
        """,
    },
)

CASES["top-level-await"] = Case(
    files={
        "tla.js": """
            console.log("tla start");
            await null;
            export const value = await Promise.resolve(42);
            console.log("tla end");
        """,
        "sib1.js": """
            import { value } from "./tla.js";
            console.log("sib1", value);
            export const one = value + 1;
        """,
        "sib2.js": """
            import { value } from "./tla.js";
            console.log("sib2", value);
            export const two = value + 2;
        """,
        "plain.js": 'console.log("plain (no await below)");\nexport const plain = true;\n',
        "main.js": """
            import { one } from "./sib1.js";
            import { two } from "./sib2.js";
            import { plain } from "./plain.js";
            console.log("main");
            const late = await import("./sib1.js");
            export const result = [one, two, plain, late.one];
            export const total = await Promise.all([1, 2].map(async (n) => n * one));
        """,
    },
)

CASES["top-level-await-order"] = Case(
    files={
        "slow.js": """
            console.log("slow start");
            await null;
            await null;
            console.log("slow end");
            export const slow = "slow";
        """,
        "fast.js": 'console.log("fast");\nexport const fast = "fast";\n',
        "main.js": """
            import { slow } from "./slow.js";
            import { fast } from "./fast.js";
            console.log("main", slow, fast);
            export { slow, fast };
        """,
    },
)

CASES["top-level-await-rejects"] = Case(
    files={
        "boom.js": """
            await null;
            throw new RangeError("late failure");
        """,
        "main.js": 'import "./boom.js";\nexport const unreachable = true;\n',
    },
)

CASES["dynamic-import"] = Case(
    files={
        "lazy.js": """
            console.log("lazy evaluated");
            export const lazy = "lazy";
            export default function hello(name) { return "hello " + name; }
        """,
        "throws.js": 'throw new TypeError("thrown while evaluating");\n',
        "bad-syntax.js": "export const = 1;\n",
        "main.js": """
            import * as staticNs from "./lazy.js";
            const name = "./la" + "zy.js";
            const ns = await import(name);
            const again = await import("./lazy.js");
            const describeError = (e) => ({
              ctor: e.constructor.name,
              isError: e instanceof Error,
              mentionsFile: String(e.message).includes("missing.js"),
            });
            let missing;
            try { await import("./missing.js"); missing = "loaded?"; } catch (e) { missing = describeError(e); }
            let thrown;
            try { await import("./throws.js"); } catch (e) { thrown = [e.constructor.name, e.message]; }
            let thrownAgain;
            try { await import("./throws.js"); } catch (e) { thrownAgain = [e.constructor.name, e.message]; }
            let syntax;
            try { await import("./bad-syntax.js"); } catch (e) { syntax = e.constructor.name; }
            export const result = {
              same: ns === staticNs && again === ns,
              greeting: ns.default("you"),
              lazy: ns.lazy,
              missing,
              thrown,
              thrownAgain,
              syntax,
              promise: import("./lazy.js") instanceof Promise,
            };
            export const later = async (spec) => (await import(spec)).lazy;
        """,
    },
    calls=[("later", ["./lazy.js"])],
)

CASES["dynamic-import-uncaught"] = Case(
    files={
        "main.js": """
            export async function load() {
              const mod = await import("./missing.js");
              return mod.x;
            }
        """,
    },
    calls=[("load", [])],
    compare_message=False,  # Node: "Cannot find module ..."; the name is what both agree on
)

CASES["import-meta"] = Case(
    files={
        "sub/meta.js": """
            export const meta = {
              type: typeof import.meta,
              url: typeof import.meta.url,
              isFileUrl: import.meta.url.startsWith("file:///"),
              endsWith: import.meta.url.endsWith("/sub/meta.js"),
              nullProto: Object.getPrototypeOf(import.meta) === null,
              same: import.meta === import.meta,
              dir: import.meta.url.slice(0, import.meta.url.lastIndexOf("/")).endsWith("/sub"),
            };
        """,
        "main.js": """
            import { meta } from "./sub/meta.js";
            export const sub = meta;
            export const own = { type: typeof import.meta, url: typeof import.meta.url };
            export const differs = async () => (await import("./sub/meta.js")).meta.url !== "x";
        """,
    },
    calls=[("differs", [])],
)

CASES["json-import"] = Case(
    files={
        "data.json": '{ "name": "modrun", "list": [1, 2, {"nested": true}], "nothing": null }\n',
        "main.js": """
            import data from "./data.json" with { type: "json" };
            import again from "./data.json" with { type: "json" };
            const dynamic = await import("./data.json", { with: { type: "json" } });
            export const result = {
              data,
              same: data === again && dynamic.default === data,
              keys: Object.keys(dynamic),
              frozen: Object.isFrozen(data),
            };
            data.list.push(4);
            export const mutatedIsShared = again.list.length;
        """,
    },
)

CASES["errors-thrown"] = Case(
    files={
        "errors.js": """
            export class ValidationError extends Error {
              constructor(message) { super(message); this.name = "ValidationError"; }
            }
            export class PlainSubError extends Error {}
            export function fail(kind) {
              if (kind === "type") throw new TypeError("bad type: " + kind);
              if (kind === "range") throw new RangeError("out of range");
              if (kind === "validation") throw new ValidationError("invalid input");
              if (kind === "sub") throw new PlainSubError("sub error");
              return "no error";
            }
        """,
        "main.js": """
            import { fail, ValidationError } from "./errors.js";
            export const caught = (() => {
              try { fail("validation"); } catch (e) {
                return [e instanceof ValidationError, e instanceof Error, e.name, e.message, String(e)];
              }
            })();
            export { fail };
            export async function failLater(kind) { await null; return fail(kind); }
        """,
    },
    calls=[("fail", ["none"]), ("failLater", ["range"])],
)

CASES["error-at-top-level"] = Case(
    files={
        "dep.js": 'console.log("dep runs");\nthrow new SyntaxError("thrown, not parsed");\n',
        "main.js": 'import "./dep.js";\nconsole.log("never");\n',
    },
)

CASES["error-custom-class-call"] = Case(
    files={
        "main.js": """
            class ValidationError extends Error {
              constructor(message) { super(message); this.name = "ValidationError"; }
            }
            export function check(value) {
              if (value < 0) throw new ValidationError("negative: " + value);
              return value;
            }
        """,
    },
    calls=[("check", [1]), ("check", [-1])],
)

CASES["class-inheritance"] = Case(
    files={
        "animal.js": """
            let created = 0;
            export class Animal {
              #secret = "hidden";
              static count() { return created; }
              constructor(name) { this.name = name; created++; }
              speak() { return `${this.name} makes a sound`; }
              get secret() { return this.#secret; }
              static create(name) { return new this(name); }
            }
        """,
        "dog.js": """
            import { Animal } from "./animal.js";
            export class Dog extends Animal {
              speak() { return super.speak() + " (woof)"; }
              static create(name) { return super.create(name.toUpperCase()); }
            }
        """,
        "main.js": """
            import { Animal } from "./animal.js";
            import * as dogs from "./dog.js";
            const rex = new dogs.Dog("rex");
            const made = dogs.Dog.create("fido");
            export const result = {
              speak: rex.speak(),
              made: [made.name, made instanceof dogs.Dog, made instanceof Animal],
              proto: Object.getPrototypeOf(dogs.Dog) === Animal,
              names: [Animal.name, dogs.Dog.name, rex.constructor.name],
              secret: rex.secret,
              count: Animal.count(),
            };
            export const speakAs = (name) => new dogs.Dog(name).speak();
        """,
    },
    calls=[("speakAs", ["max"])],
)

CASES["this-and-getters"] = Case(
    files={
        "lib.js": """
            export function whoAmI() { return this === undefined ? "undefined" : typeof this; }
            export function isNamespace() { return this !== undefined && this[Symbol.toStringTag]; }
            export const topThis = typeof this;
            let reads = 0;
            export const obj = {
              base: 2,
              get doubled() { reads++; return this.base * 2; },
              method() { return this.base; },
            };
            export const readCount = () => reads;
        """,
        "main.js": """
            import { whoAmI, isNamespace, topThis, obj } from "./lib.js";
            import * as lib from "./lib.js";
            const { method } = obj;
            let detached;
            try { detached = method(); } catch (e) { detached = e.constructor.name; }
            export const result = {
              bare: whoAmI(),
              viaNamespace: lib.whoAmI(),
              namespaceThis: isNamespace(),
              namespaceThisVia: lib.isNamespace(),
              topThis,
              mainTop: typeof this,
              doubled: obj.doubled,
              method: obj.method(),
              detached,
            };
            export { whoAmI, obj };
            export { readCount } from "./lib.js";
        """,
    },
    calls=[("whoAmI", []), ("readCount", [])],
)

CASES["generators-async-iteration"] = Case(
    files={
        "gen.js": """
            export function* range(n) { for (let i = 0; i < n; i++) yield i; }
            export async function* ticks(n) {
              for (let i = 0; i < n; i++) { await null; yield i * 10; }
            }
            export class Bag {
              constructor(...items) { this.items = items; }
              *[Symbol.iterator]() { yield* this.items; }
              async *[Symbol.asyncIterator]() { for (const item of this.items) yield await item; }
            }
        """,
        "main.js": """
            import { range, ticks, Bag } from "./gen.js";
            const collected = [];
            for await (const t of ticks(3)) collected.push(t);
            const bag = new Bag("a", Promise.resolve("b"), "c");
            const asyncBag = [];
            for await (const item of bag) asyncBag.push(item);
            const it = range(2);
            export const result = {
              range: [...range(4)],
              collected,
              bag: [...new Bag(1, 2)],
              asyncBag,
              steps: [it.next(), it.next(), it.next()],
              tag: Object.prototype.toString.call(ticks(1)),
            };
            export async function collect(n) {
              const out = [];
              for await (const t of ticks(n)) out.push(t);
              return out;
            }
            export function spread(n) { return Array.from(range(n), (i) => i * i); }
        """,
    },
    calls=[("collect", [4]), ("spread", [5])],
)

CASES["evaluation-order"] = Case(
    files={
        "d.js": 'console.log("d");\nexport const d = "d";\n',
        "b.js": 'import "./d.js";\nconsole.log("b");\n',
        "c.js": 'import { d } from "./d.js";\nconsole.log("c", d);\nexport const c = "c";\n',
        "e.js": 'console.log("e");\nexport const e = "e";\n',
        "f.js": 'console.log("f");\nexport default "f";\n',
        "g.js": 'console.log("g");\nexport const g = "g";\n',
        "main.js": """
            console.log("main body starts", typeof c);
            import "./b.js";
            export { e } from "./e.js";
            import { c } from "./c.js";
            export * from "./g.js";
            import f from "./f.js";
            console.log("main body ends", f);
        """,
    },
)

CASES["string-export-names"] = Case(
    files={
        "lib.js": """
            const value = "dashed";
            export { value as "with-dash", value as "😀" };
        """,
        "main.js": """
            import { "with-dash" as dashed } from "./lib.js";
            import * as lib from "./lib.js";
            export { dashed, lib };
            export { "😀" as emoji } from "./lib.js";
        """,
    },
)


@pytest.mark.parametrize("name", sorted(CASES))
def test_node_and_modrun_agree(name: str, tmp_path: Path, driver: Path) -> None:
    compare(CASES[name], tmp_path, driver)


def test_cases_exercise_what_they_claim(tmp_path: Path, driver: Path) -> None:
    """Guards against a vacuous comparison: spot-check some of Node's answers."""
    expected, _ = compare(CASES["export-star-conflicts"], tmp_path, driver)
    assert "dup" not in expected["exports"] and expected["values"]["shadow"] == "explicit"
    names = {name: compare(CASES[name], tmp_path / name, driver)[0] for name in
             ("circular-tdz", "default-export-forms", "top-level-await", "errors-thrown")}
    assert names["circular-tdz"]["error"] == {"stage": "import", "name": "ReferenceError"}
    assert names["default-export-forms"]["values"]["names"][:4] == ["default"] * 4
    assert names["default-export-forms"]["values"]["changes"]["after"] == [2, 1, "replaced"]
    assert names["top-level-await"]["logs"][:2] == [["log", "tla start"], ["log", "plain (no await below)"]]
    assert names["errors-thrown"]["error"] == {"stage": "call", "name": "RangeError", "message": "out of range"}


# --------------------------------------------------------------------------------------------
# The bundled example, and the command line.

def test_shop_example(tmp_path: Path, driver: Path) -> None:
    case = Case(files={}, entry="src/main.js", calls=[("default", ["/"]), ("renderLater", ["/cart"])])
    project = tmp_path / "shop"
    shutil.copytree(SHOP, project, ignore=shutil.ignore_patterns("node_modules"))
    expected = run_node(project, case, driver)
    actual = run_modrun(project, case, tmp_path / "cache")
    assert actual == expected
    assert expected["results"][0]["count"] == 4 and "<h1>modrun shop</h1>" in expected["results"][0]["html"]


def run_cli(project: Path, case: Case) -> tuple[int, dict[str, Any], str]:
    (name, args), = case.calls or [("", [])]
    command = [str(MODRUN_CLI), "run", str(project / case.entry), "--root", str(project), "--json"]
    if name:
        command += ["--call", name, "--args", json.dumps(args)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=project)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


CLI_CASES = {
    "shop": Case(files={}, entry="src/main.js", calls=[("default", ["/"])]),
    "generators": Case(files=CASES["generators-async-iteration"].files, calls=[("collect", [3])]),
    "error-call": Case(files=CASES["errors-thrown"].files, calls=[("fail", ["validation"])]),
    "error-import": CASES["top-level-await-rejects"],
}


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_cli_json_agrees_with_node(name: str, tmp_path: Path, driver: Path) -> None:
    case = CLI_CASES[name]
    project = tmp_path / "project"
    if name == "shop":
        shutil.copytree(SHOP, project, ignore=shutil.ignore_patterns("node_modules"))
    else:
        write_project(project, case)
    expected = run_node(project, case, driver)
    code, envelope, stderr = run_cli(project, case)
    if expected["error"] is None:
        assert code == 0, stderr
        assert envelope["ok"] is True
        assert envelope["exports"] == expected["exports"]
        assert envelope["result"] == (expected["results"][-1] if case.calls else None)
    else:
        assert code == 1, stderr
        assert envelope["ok"] is False
        error = envelope["error"]
        assert error["kind"] == "js"
        assert [error["name"], error["message"]] == [expected["error"]["name"], expected["error"]["message"]]
