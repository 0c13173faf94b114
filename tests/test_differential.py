"""Differential tests: small module graphs run natively in Node and through modrun, results compared.

Each case is a tiny project written into tmp_path. Node imports the entry through a driver script
(a real subprocess); modrun imports it through the Python API (a few cases also through the
`modrun run --json` command line). Both sides report the same shape:

    {"exports": [names], "values": {name: value}, "results": [...], "reads": {...},
     "error": null | {"stage", "name", "message"}, "logs": [[level, text], ...]}

Values are described the same way on both sides: functions as "<function>", undefined as null,
non-finite numbers, BigInts and symbols as "<type text>"; call results as JSON. An error's name is
its `name` property (as in its stack and in Vite's transport payload).

Where modrun differs from Node the case is kept, marked xfail(strict=True) with the cause, so that
a fix shows up as an XPASS.
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
  return own(Object.keys(value).map((key) => [key, describe(value[key], inner)]));
}

// Like Object.fromEntries but a key "__proto__" stays an own property.
function own(entries) {
  const out = {};
  for (const [key, value] of entries) {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

// An error's name is its `name` property (what its stack starts with, and what Vite's transport
// carries); an error-like object without one is named by its constructor.
function errorOf(stage, error) {
  const isObject = error !== null && (typeof error === "object" || typeof error === "function");
  if (!isObject) return { stage, name: typeof error, message: String(error) };
  const name = typeof error.name === "string" ? error.name : error.constructor && error.constructor.name;
  return { stage, name, message: String(error.message) };
}

const out = { exports: [], values: {}, results: [], reads: {}, error: null, logs };
let stage = "import";
try {
  const ns = await import(pathToFileURL(entry).href);
  out.exports = Object.keys(ns);
  out.values = own(out.exports.map((name) => [name, describe(ns[name])]));
  stage = "call";
  for (const [name, args] of calls) {
    const result = await ns[name].apply(undefined, args);
    out.results.push(result === undefined ? null : JSON.parse(JSON.stringify(result)));
  }
  out.reads = own(reads.map((name) => [name, describe(ns[name])]));
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
    return json.loads(proc.stdout.strip().split("\n")[-1])


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


async def run_modrun_async(project: Path, case: Case, cache_dir: Path, evaluator: str = "inprocess") -> dict[str, Any]:
    logs: list[list[str]] = []
    out: dict[str, Any] = {"exports": [], "values": {}, "results": [], "reads": {}, "error": None, "logs": logs}
    stage = "import"
    async with Server(root=project, cache_dir=cache_dir, environments={"ssr": {"evaluator": evaluator}},
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


def run_modrun(project: Path, case: Case, cache_dir: Path, evaluator: str = "inprocess") -> dict[str, Any]:
    return asyncio.run(run_modrun_async(project, case, cache_dir, evaluator))


# Every case runs on every evaluator: they must all give what Node gives.
EVALUATORS = ("inprocess", "wasm", "process")


@pytest.fixture
def driver(tmp_path: Path) -> Path:
    path = tmp_path / "driver.mjs"
    path.write_text(DRIVER)
    return path


def compare(case: Case, tmp_path: Path, driver: Path,
            evaluator: str = "inprocess") -> tuple[dict[str, Any], dict[str, Any]]:
    project = write_project(tmp_path / "project", case)
    expected = run_node(project, case, driver)
    actual = run_modrun(project, case, tmp_path / "cache", evaluator)
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
            import { made } from "./base.js";
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

CASES["error-names"] = Case(
    files={
        "main.js": """
            class PlainSubError extends TypeError {}
            export const names = [new PlainSubError("x").name, String(new PlainSubError("x"))];
            export function renamed() { const e = new RangeError("r"); e.name = "Custom"; throw e; }
            export function sub() { throw new PlainSubError("sub"); }
        """,
    },
    calls=[("renamed", [])],
)

CASES["error-subclass-without-name"] = Case(
    files={"main.js": "class PlainSubError extends TypeError {}\nthrow new PlainSubError('sub');\n"},
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


CASES["namespace-in-cycle"] = Case(
    files={
        "a.js": """
            import { readV, readNs } from "./b.js";
            export const early = [readV(), readNs()];
            export var v = "set";
            export function fn() {}
        """,
        "b.js": """
            import { v } from "./a.js";
            import * as a from "./a.js";
            export const readV = () => v;
            export const readNs = () => {
              const out = ["v" in a, "early" in a, typeof a.fn, a.v];
              try { out.push(a.early); } catch (e) { out.push(e.constructor.name); }
              try { out.push(Object.keys(a)); } catch (e) { out.push(e.constructor.name); }
              return out;
            };
        """,
        "main.js": """
            import { early } from "./a.js";
            import { readNs } from "./b.js";
            export const result = [early, readNs()];
        """,
    },
)

CASES["export-star-cycle"] = Case(
    files={
        "a.js": 'export * from "./b.js";\nexport const fromA = "a";\n',
        "b.js": 'export * from "./a.js";\nexport const fromB = "b";\n',
        "main.js": """
            import * as a from "./a.js";
            import * as b from "./b.js";
            export const keys = [Object.keys(a), Object.keys(b)];
            export { fromA, fromB } from "./b.js";
        """,
    },
)

CASES["export-star-live"] = Case(
    files={
        "c.js": "export let n = 0;\nexport const inc = () => ++n;\n",
        "b.js": 'export * from "./c.js";\n',
        "main.js": """
            import { n, inc } from "./b.js";
            import * as b from "./b.js";
            inc();
            export const seen = [n, b.n];
            export { n, inc };
        """,
    },
    calls=[("inc", [])],
    reads=["n"],
)

CASES["re-export-default-forms"] = Case(
    files={
        "x.js": 'export const y = "y";\nexport default "x-default";\n',
        "a.js": 'export { default } from "./x.js";\n',
        "b.js": 'export * as default from "./x.js";\n',
        "c.js": 'export { default as renamed, y as default } from "./x.js";\n',
        "main.js": """
            import a from "./a.js";
            import b from "./b.js";
            import * as c from "./c.js";
            import x, * as ns from "./x.js";
            import { default as x2, y } from "./x.js";
            import {} from "./x.js";
            export {};
            export const result = [a, Object.keys(b), b.y, c.renamed, c.default, x, ns.default, x2, y];
        """,
    },
)

CASES["self-import"] = Case(
    files={
        "main.js": """
            import * as self from "./main.js";
            import { b as selfB } from "./main.js";
            export const a = 1;
            export function b() { return [self.a, selfB === b, "result" in self]; }
            export const result = b();
        """,
    },
)

CASES["destructuring-exports"] = Case(
    files={
        "main.js": """
            const obj = { c: 3, d: [4, 5, 6] };
            export let a, b = 2, { c, d: [e, ...rest] } = obj;
            export const [f = "f", , g] = [undefined, 0, "g"];
            export function setA(v) { a = v; return a; }
        """,
    },
    calls=[("setA", [9])],
    reads=["a"],
)

CASES["function-names"] = Case(
    files={
        "main.js": """
            export const Foo = class {};
            export let f = function () {};
            export const g = () => {};
            export const { h = () => {} } = {};
            export var [i = function () {}] = [];
            export async function j() {}
            export function* k() {}
            export const names = [Foo.name, f.name, g.name, h.name, i.name, j.name, k.name];
        """,
    },
)

CASES["hoisting"] = Case(
    files={
        "main.js": """
            export { later, fn };
            const early = typeof fn;
            function fn() { return "fn"; }
            let later = "later";
            export { early };
            export default class Named { static n = Named.name; }
        """,
    },
)

CASES["import-shadowing"] = Case(
    files={
        "lib.js": 'export const x = "imported";\nexport const y = "y";\nexport default "def";\n',
        "main.js": """
            import { x, y } from "./lib.js";
            import def from "./lib.js";
            function param(x) { return x; }
            const arrow = (x = y) => x;
            function inner() { const x = "block"; { let y = "inner-y"; return [x, y]; } }
            const obj = { x, y: y, [x]: 1, x2() { return x; } };
            class K { x = x; static y = y; get [y]() { return x; } }
            let caught; try { throw "thrown"; } catch (x) { caught = x; }
            const loop = []; for (const x of [1, 2]) loop.push(x);
            const { x: renamed, ...others } = { x: "d", z: 1 };
            x: for (;;) { break x; }
            function x2() { var x = "var"; return x; }
            const k = new K();
            export const result = {
              param: param("arg"), arrow: [arrow(), arrow("given")], inner: inner(), obj,
              kx: k.x, ky: K.y, kget: k[y], caught, loop, renamed, others, x2: x2(),
              tpl: `${x}-${def}`, type: typeof x, local: (() => { var def = "local"; return def; })(), def,
            };
        """,
    },
)

CASES["module-code-semantics"] = Case(
    files={
        "main.js": """
            #!/usr/bin/env node
            var topVar = 1;
            function topFn() {}
            export const result = {
              arguments: typeof arguments,
              topVar: typeof globalThis.topVar,
              topFn: typeof globalThis.topFn,
              strict: (function () { return this; })() === undefined,
            };
        """,
    },
)

CASES["strict-mode-assignment"] = Case(
    files={"main.js": "undeclaredThing = 1;\nexport const a = 1;\n"},
)

CASES["assign-to-import"] = Case(
    files={
        "lib.js": "export let x = 1;\n",
        "main.js": 'import { x } from "./lib.js";\nexport function set() { x = 2; return x; }\n',
    },
    calls=[("set", [])],
    compare_message=False,  # V8: "Assignment to constant variable."
)

# Early errors: nothing of the graph may run (no console output) and the error is a SyntaxError.
EARLY_ERRORS = {
    "top-level-return": "export const a = 1;\nreturn;\n",
    "new-target-at-top-level": "export const a = new.target;\n",
    "html-comment": "export const a = 1;\n<!-- not a comment in module code\n",
    "await-as-identifier": "function f() { var await = 1; return await; }\nexport const a = f();\n",
    "undeclared-export": "export { nothere };\n",
    "duplicate-export": "export const a = 1;\nexport { a };\n",
    "import-redeclared": 'import { y } from "./logs.js";\nlet y = 2;\n',
    "bad-syntax": "export const = 1;\n",
}
for _name, _source in EARLY_ERRORS.items():
    CASES[f"early-error-{_name}"] = Case(
        files={
            "logs.js": 'console.log("logs.js must not run");\nexport const y = 1;\n',
            "lib.js": _source,
            "main.js": 'import "./logs.js";\nimport "./lib.js";\nconsole.log("main must not run");\n',
        },
        compare_message=False,
    )

CASES["link-error-missing-export"] = Case(
    files={
        "logs.js": 'console.log("logs.js must not run");\n',
        "lib.js": 'console.log("lib.js must not run");\nexport const a = 1;\n',
        "main.js": 'import "./logs.js";\nimport { nope } from "./lib.js";\nconsole.log("main", nope);\n',
    },
)

CASES["link-error-missing-module"] = Case(
    files={
        "logs.js": 'console.log("logs.js must not run");\n',
        "main.js": 'import "./logs.js";\nimport "./missing.js";\n',
    },
    compare_message=False,  # Node names the absolute path, modrun the specifier
)

CASES["same-module-two-specifiers"] = Case(
    files={
        "lib.js": 'console.log("lib evaluated once");\nexport const o = {};\n',
        "sub/x.js": 'export { o } from "../lib.js";\n',
        "main.js": """
            import { o } from "./lib.js";
            import { o as o2 } from "./sub/../lib.js";
            import { o as o3 } from "./sub/x.js";
            export const same = o === o2 && o2 === o3 && (await import("./lib.js")).o === o;
        """,
    },
)

CASES["tla-dynamic-import-cycle"] = Case(
    files={
        "a.js": 'import { b } from "./b.js";\nconsole.log("a", b);\nexport const a = "a";\n',
        "b.js": """
            console.log("b start");
            const m = await Promise.resolve("b");
            export const b = m;
            console.log("b end");
        """,
        "c.js": 'import { a } from "./a.js";\nimport { b } from "./b.js";\nconsole.log("c", a, b);\n',
        "main.js": """
            const [x] = await Promise.all([import("./a.js"), import("./c.js")]);
            console.log("main", x.a);
            let rejected;
            try { await import("./bad.js"); } catch (e) { rejected = [e.name, e.message]; }
            export { rejected };
        """,
        "bad.js": 'await null;\nthrow new TypeError("async fail");\n',
    },
)

CASES["tla-async-siblings-order"] = Case(
    files={
        "a.js": 'export const log = [];\nlog.push("a");\nawait 0;\nlog.push("a2");\n',
        "b.js": 'import { log } from "./a.js";\nlog.push("b");\n',
        "c.js": 'import { log } from "./a.js";\nawait 0;\nlog.push("c");\n',
        "d.js": 'import { log } from "./a.js";\nlog.push("d");\n',
        "main.js": """
            import { log } from "./a.js";
            import "./c.js";
            import "./b.js";
            import "./d.js";
            export { log };
        """,
    },
)

CASES["errors-aggregate-and-cause"] = Case(
    files={
        "main.js": """
            export function f() {
              try { null.x; } catch (e) { throw new AggregateError([e], "agg", { cause: e }); }
            }
            export const info = (() => {
              try { f(); } catch (e) { return [e.name, e.message, e.errors.length, e.cause.constructor.name]; }
            })();
            export function throwsObject() { throw { code: 42, message: "plain object" }; }
        """,
    },
    calls=[("throwsObject", [])],
)

CASES["stack-lines"] = Case(
    files={
        "lib.js": """
            export function thrower() {
              // a comment
              const e = new Error("here");
              return e.stack;
            }
        """,
        "main.js": """
            import { thrower } from "./lib.js";
            const frames = (stack) => stack.split("\\n").filter((l) => /\\w+\\.js:\\d+/.test(l))
              .map((l) => l.match(/(\\w+\\.js):(\\d+)/).slice(1, 3).join(":"));
            export const atImport = frames(thrower());
            export function atCall() { return frames(thrower()); }
        """,
    },
    calls=[("atCall", [])],
)

CASES["console-format"] = Case(
    files={
        "main.js": """
            console.log("%s is %d years", "Bob", 42);
            console.log({ a: 1, b: "two", c: [1, 2, { d: null }] });
            console.log([1, "a", undefined, null, true]);
            console.log("plain", 1, true, null, undefined);
            console.info("info");
            console.warn("warn", { w: 1 });
            console.error("error");
            console.debug("debug");
            console.log(new Map([[1, "a"]]), new Set([1]));
            console.log(-0, 1.5, 1e21, NaN);
            console.log("%i", 42.9, "%f", "x");
            console.log(function foo() {}, class Bar {}, () => 1);
            console.log(Symbol("s"), 10n);
            console.log({ "a-b": 1, nested: { deep: { deeper: { deepest: 1 } } } });
            console.log("100%", "%%", "%c styled", "color: red");
            console.log(Object.create(null));
        """,
    },
)

CASES["exotic-export-values"] = Case(
    files={
        "main.js": """
            export const promise = Promise.resolve(1);
            export const date = new Date(0);
            export const regexp = /x/g;
            export const map = new Map([[1, 2]]);
            export const big = 10n;
            export const numbers = [Infinity, -Infinity, NaN, 2 ** 53 + 2, 1e300, 0.1 + 0.2, -0];
            export const cyclic = { name: "loop" };
            cyclic.self = cyclic;
            export const nested = { fn() {}, list: [undefined, () => 1], deep: { deeper: { value: "v" } } };
            export function identity(x) { return x; }
        """,
    },
    calls=[("identity", [[9007199254740993, 1.5, -0.0, "x", None, {"k": [True]}]])],
)


# Differences found by these tests: each is a bug in modrun (see the reasons).
XFAIL_CASES: dict[str, tuple[Case, str]] = {
    "direct-eval-sees-imports": (
        Case(files={
            "x.js": 'export const y = "y";\n',
            "main.js": 'import { y } from "./x.js";\nimport * as ns from "./x.js";\n'
                       'const local = "loc";\nexport const result = [eval("local"), eval("y"), eval("ns.y")];\n',
        }),
        "direct eval() cannot see imported bindings (the runner format rewrites them to "
        "__vite_ssr_import_N__.name): ReferenceError 'y is not defined'",
    ),
}


# Once differences from Node, fixed: kept as ordinary cases.
CASES["lone-surrogate-in-data"] = Case(files={"main.js": """
            const emoji = "\\u{1F600}";
            export const halves = [emoji.slice(0, 1), emoji.slice(1)];
            export const cut = () => "ab" + emoji.slice(0, 1);
        """}, calls=[("cut", [])])

CASES["lone-surrogate-in-console"] = Case(files={"main.js": """
            console.log("cut:", "\\u{1F600}".slice(0, 1));
            export const ok = true;
        """})

CASES["proto-key-in-data"] = Case(files={"main.js": """
            export const parsed = JSON.parse('{"__proto__": {"p": 1}, "a": 2}');
            export const get = () => parsed;
        """}, calls=[("get", [])])

CASES["proto-export-name"] = Case(files={"main.js": """
            const value = { inner: 1 };
            export { value as "__proto__" };
        """})

CASES["console-format-quotes-and-holes"] = Case(files={"main.js": """
            console.log({ s: "it's" });
            console.log([, 1]);
            console.log(["a\\"b", "it's"]);
        """})

CASES["query-string-instances"] = Case(files={
            "lib.js": 'console.log("lib", import.meta.url.split("/").pop());\nexport const o = {};\n',
            "main.js": """
                import { o } from "./lib.js";
                import { o as o2 } from "./lib.js?v=2";
                export const same = o === o2;
            """,
        })


@pytest.mark.parametrize("name", sorted(XFAIL_CASES))
def test_known_differences(name: str, tmp_path: Path, driver: Path, request: pytest.FixtureRequest) -> None:
    case, reason = XFAIL_CASES[name]
    request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    compare(case, tmp_path, driver)


@pytest.mark.parametrize("evaluator", EVALUATORS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_node_and_modrun_agree(name: str, evaluator: str, tmp_path: Path, driver: Path) -> None:
    compare(CASES[name], tmp_path, driver, evaluator)


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
    "console-order": CASES["evaluation-order"],
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
    # --json: stdout carries the envelope only, the module's console output goes to stderr
    assert stderr.splitlines() == [text for _, text in expected["logs"]]
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


# --------------------------------------------------------------------------------------------
# Thrown values and exported data that are not plain: Node as the reference for what happens.

def node_exit_code(project: Path, source: str) -> int:
    """Run `source` as an ES module in Node (cwd = project); its exit code."""
    assert NODE is not None
    proc = subprocess.run([NODE, "--input-type=module", "-e", source], capture_output=True, text=True,
                          timeout=30, cwd=project)
    return proc.returncode


NON_ERRORS = {
    "string": ('throw "a string";', "a string"),
    "number": ("throw 7;", "7"),
    "null": ("throw null;", "null"),
    "plain-object": ('throw { code: 42 };', "42"),
    "rejected-string": ('return Promise.reject("rejected string");', "rejected string"),
    "bigint": ("throw 10n;", "10"),
}


@pytest.mark.parametrize("name", sorted(NON_ERRORS))
def test_thrown_non_errors_are_js_errors(name: str, tmp_path: Path) -> None:
    """Node rejects with the value itself; modrun has no constructor name to give, but the error is a
    JS error whose message shows the value, and the runtime stays usable."""
    statement, shown = NON_ERRORS[name]
    case = Case(files={"main.js": f"export function f() {{ {statement} }}\nexport const ok = () => 'ok';\n"})
    project = write_project(tmp_path / "project", case)
    entry = json.dumps((project / "main.js").as_uri())
    assert node_exit_code(project, f"const m = await import({entry}); try {{ await m.f(); }} catch (e) {{ "
                                   f"process.exit(e instanceof Error ? 3 : 0); }} process.exit(4);") == 0

    async def run() -> None:
        async with Server(root=project, cache_dir=tmp_path / "cache") as server:
            mod = await server.environments["ssr"].import_module("/main.js")
            with pytest.raises(ModrunError) as caught:
                await mod.f()
            assert caught.value.kind == "js"
            assert shown in caught.value.message
            assert await mod.ok() == "ok"

    asyncio.run(run())


HOSTILE_ERRORS = {
    "message-getter-throws-in-call": (
        "class Weird extends Error { get message() { throw new Error('no message for you'); } }\n"
        "export function boom() { throw new Weird(); }\nexport const ok = () => 'ok';\n",
        "boom",
    ),
    "name-getter-throws-at-import": (
        "const e = new Error('x');\nObject.defineProperty(e, 'name', { get() { throw 1; } });\nthrow e;\n",
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_ERRORS))
def test_errors_with_throwing_accessors_are_js_errors(name: str, tmp_path: Path) -> None:
    source, call = HOSTILE_ERRORS[name]
    project = write_project(tmp_path / "project", Case(files={"main.js": source}))
    entry = json.dumps((project / "main.js").as_uri())
    assert node_exit_code(project, f"const m = await import({entry});" + (f" await m.{call}();" if call else "")) == 1
    command = [str(MODRUN_CLI), "run", str(project / "main.js"), "--json"] + (["--call", call] if call else [])
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=project)
    envelope = json.loads(proc.stdout)
    assert (proc.returncode, envelope["error"]["kind"]) == (1, "js"), envelope
    assert "went idle" not in envelope["error"]["message"]
    if call:
        async def run() -> None:
            async with Server(root=project, cache_dir=tmp_path / "cache") as server:
                mod = await server.environments["ssr"].import_module("/main.js")
                with pytest.raises(ModrunError) as caught:
                    await mod[call]()
                assert caught.value.kind == "js"
                assert await mod.ok() == "ok"  # the runtime survives

        asyncio.run(run())


def test_exported_object_with_throwing_getter_can_be_imported(tmp_path: Path) -> None:
    source = ("export const config = { get apiKey() { throw new Error('API_KEY is not set'); } };\n"
              "export const ok = () => 'ok';\n")
    project = write_project(tmp_path / "project", Case(files={"main.js": source}))
    entry = json.dumps((project / "main.js").as_uri())
    assert node_exit_code(project, f"const m = await import({entry}); if (m.ok() !== 'ok') process.exit(2);") == 0

    async def run() -> None:
        async with Server(root=project, cache_dir=tmp_path / "cache") as server:
            mod = await server.environments["ssr"].import_module("/main.js")
            assert mod.exports == ["config", "ok"]
            assert await mod.ok() == "ok"

    asyncio.run(run())
