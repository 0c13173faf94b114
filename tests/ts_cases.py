"""Small TypeScript and JSX programs whose results modrun must share with Node running TypeScript's
own build of them (tests/test_typescript_node.py). Each case is a folder of files; its `main`
module exports `result` (JSON data). JSX cases render with `fakejsx`, a runtime that records
every call it gets (which function, type, props, key) instead of building elements."""

from __future__ import annotations

# node_modules/fakejsx: the automatic runtime (jsx-runtime, jsx-dev-runtime) and the classic one.
FAKE_JSX = {
    "node_modules/fakejsx/package.json": '{"name": "fakejsx", "type": "module", "exports": {".": "./index.js", '
                                         '"./jsx-runtime": "./runtime.js", "./jsx-dev-runtime": "./dev.js"}}',
    "node_modules/fakejsx/shared.js": (
        "export const Fragment = 'Fragment';\n"
        "const name = (type) => typeof type === 'function' ? `<${type.name}>` : type;\n"
        "export function record(fn, type, props, key, extra) {\n"
        "  const out = { fn, type: name(type), props: props == null ? props : { ...props } };\n"
        "  if (key !== undefined) out.key = key;\n"
        "  if (extra !== undefined) out.extra = extra;\n"
        "  return out;\n"
        "}\n"),
    "node_modules/fakejsx/runtime.js": (
        "import { record } from './shared.js';\nexport { Fragment } from './shared.js';\n"
        "export const jsx = (type, props, key) => record('jsx', type, props, key);\n"
        "export const jsxs = (type, props, key) => record('jsxs', type, props, key);\n"),
    "node_modules/fakejsx/dev.js": (
        "import { record } from './shared.js';\nexport { Fragment } from './shared.js';\n"
        "export const jsxDEV = (type, props, key, isStatic, source) =>\n"
        "  record('jsxDEV', type, props, key, [isStatic, source.lineNumber, source.columnNumber]);\n"),
    "node_modules/fakejsx/index.js": (
        "import { record } from './shared.js';\nexport { Fragment } from './shared.js';\n"
        "export const createElement = (type, props, ...children) =>\n"
        "  record('createElement', type, props, undefined, children);\n"
        "export const h = createElement;\n"),
}

JSX_TSCONFIG = '{"compilerOptions": {"jsx": "react-jsx", "jsxImportSource": "fakejsx"}}'

CASES: dict[str, dict[str, str]] = {
    # ---- type erasure ----
    "erasure": {"main.ts": """
import type { Shape } from "./types.js";
import { type Named, describe, unusedType } from "./types.js";
interface Local<T> { value: T }
type Pair<A, B = A> = [A, B];
declare const ambient: number;
declare module "nowhere" { export const x: number }
declare global { interface Window { extra: string } }
abstract class Base<T> implements Named {
  abstract area(): number;
  declare readonly tag: string;
  protected static count?: number = 0;
  name!: string;
  [key: string]: unknown;
  constructor() { this.name = "base"; }
  public get label(): string { return `${this.name}:${this.area()}`; }
  override toString(): string { return this.label; }
}
class Square extends Base<number> {
  constructor(private readonly side: number) { super(); this.name = "square"; }
  area(): number { return this.side ** 2; }
}
function first<T extends unknown[]>(this: void, items: T, fallback?: T[number]): T[number] | undefined {
  return items.length ? items[0]! : fallback;
}
function over(a: string): string;
function over(a: number): number;
function over(a: any): any { return typeof a === "string" ? a + "!" : a * 2; }
const pick = <K extends keyof Shape,>(shape: Shape, key: K): Shape[K] => shape[key];
const shape = { kind: "circle", size: 2 } satisfies Shape as Shape;
const point: Local<Pair<number>> = { value: [1, 2] as const as unknown as Pair<number> };
let definite!: number;
definite = <number>(<unknown>7);
const generic = first<number[]>;
let x = 1
interface AfterAsi {}
;(() => { x += 1 })()
type Fn = () => void
;[1].forEach(() => { x += 10 })
export const result = {
  area: new Square(3).area(), label: String(new Square(2)), first: first([5, 6]), empty: first([], 9),
  over: [over("a"), over(4)], pick: pick(shape, "kind"), point: point.value, definite, generic: generic([8]),
  describe: describe(shape), x, unusedType: typeof unusedType,
};
""", "types.ts": """
export interface Shape { kind: string; size: number }
export interface Named { name: string }
export type unusedTypeAlias = string;
export const unusedType = 1;
export function describe(s: Shape): string { return `${s.kind}/${s.size}`; }
"""},
    "type-only-module": {"main.ts": """
import { Config, Mode } from "./types";
import Default from "./types";
import * as AllTypes from "./types";
export type { Config };
export { type Mode };
const config: Config = { mode: "fast" };
export const result = config.mode;
""", "types.ts": """
export interface Config { mode: Mode }
export type Mode = "fast" | "slow";
export default interface Unused {}
"""},
    "mts-and-extensions": {"main.mts": """
import { twice } from "./lib.mjs";
import { thrice } from "./other.js";
export const result: number[] = [twice(2), thrice(2)];
""", "lib.mts": "export const twice = (n: number): number => n * 2;\n",
        "other.ts": "export function thrice(n: number): number { return n * 3; }\n"},
    # ---- enums ----
    "enums": {"main.ts": """
import { Remote } from "./remote.js";
enum Direction { Up = 1, Down, Left = Up + 10, Right }
enum Mixed { A, B = "bee", C = 5, D, E = C * 2, F = -3, G, "dash-key" = 100 }
const enum Flags { None = 0, One = 1 << 0, Two = 1 << 1, Both = One | Two }
enum Merged { X = 1 }
enum Merged { Y = 2 }
export enum Exported { P = "p", Q = "q" }
function local() { enum Inner { M = 3, N } return [Inner.N, Inner[4]]; }
export const result = {
  direction: [Direction.Up, Direction.Down, Direction.Left, Direction.Right, Direction[2], Direction[12]],
  mixed: Object.entries(Mixed), flags: [Flags.None, Flags.Both], merged: [Merged.X, Merged.Y, Merged[2]],
  exported: Object.keys(Exported), local: local(), remote: [Remote.Far, Remote[Remote.Far]],
};
""", "remote.ts": "export enum Remote { Near, Far }\n"},
    # ---- namespaces ----
    "namespaces": {"main.ts": """
namespace Shapes {
  export const sides = 4;
  export let counter = 0;
  export function bump(by: number = sides): number { counter += by; return counter; }
  export class Box { constructor(public size: number) {} area() { return this.size * sides; } }
  export enum Kind { Square, Round }
  const hidden = "hidden";
  export function reveal() { return hidden; }
  export namespace Deep { export const level: number = sides + 1; }
  export interface TypeOnly { a: number }
}
namespace Shapes {
  export function fromOtherBlock(): number { return sides * 10 + bump(1); }
}
namespace A.B.C { export const path = "A.B.C"; }
function tool() { return "tool"; }
namespace tool { export const version = 2; }
namespace Shadow {
  export const value = 1;
  export function read(value: number) { return value; }
  export function outer() { return value; }
}
namespace OnlyTypes { export interface X {} export type Y = number; }
export const result = {
  sides: Shapes.sides, bump: Shapes.bump(), counter: Shapes.counter, area: new Shapes.Box(2).area(),
  kind: Shapes.Kind[1], reveal: Shapes.reveal(), deep: Shapes.Deep.level, other: Shapes.fromOtherBlock(),
  path: A.B.C.path, tool: [tool(), tool.version], shadow: [Shadow.read(5), Shadow.outer()],
  onlyTypes: typeof (globalThis as any).OnlyTypes,
};
"""},
    # ---- parameter properties ----
    "parameter-properties": {"main.ts": """
class Animal {
  legs = 4;
  constructor(public name: string, protected readonly sound = "...", private secret?: string) {}
  speak() { return `${this.name} says ${this.sound} on ${this.legs} legs`; }
  tell() { return this.secret ?? "none"; }
}
class Dog extends Animal {
  constructor(name: string, public override readonly legs: number = 4, readonly tricks: string[] = []) {
    super(name, "woof");
  }
}
export const result = {
  animal: new Animal("cat", "meow", "s").speak(), secret: new Animal("x").tell(),
  dog: new Dog("rex", 3, ["sit"]).speak(), tricks: new Dog("a").tricks, keys: Object.keys(new Dog("b")),
};
"""},
    "import-alias": {"main.ts": """
namespace Geometry { export namespace Units { export const meter = 1; export const km = 1000; } }
import Units = Geometry.Units;
import km = Geometry.Units.km;
export import Exported = Geometry.Units;
export const result = [Units.meter, km, Exported.km];
"""},
    # ---- CommonJS in .cts (TypeScript builds them with module CommonJS) ----
    "commonjs-cts": {"main.ts": """
import util from "./util.cjs";
import { three, kind } from "./other.cjs";
import * as other from "./other.cjs";
// TypeScript's CommonJS emit marks every .cts file __esModule; Node's type stripping would not.
export const result = { twice: util.twice({ n: 21 }), green: util.Color.Green, file: util.file, three, kind,
                        names: Object.keys(other).filter((name) => name !== "__esModule").sort() };
""", "util.cts": """
import helper = require("./helper.cjs");
interface Options { n: number }
enum Color { Red, Green }
function twice(options: Options): number { return helper.double(options.n); }
export = { twice, Color, file: typeof __filename, dir: typeof __dirname };
""", "helper.cts": """
exports.double = (n: number): number => n * 2;
""", "other.cts": """
const util: { twice(o: { n: number }): number } = require("./util.cjs");
exports.three = util.twice({ n: 1.5 }) as number;
exports.kind = typeof module.exports as string;
"""},
    # ---- JSX ----
    "jsx-automatic": {"tsconfig.json": JSX_TSCONFIG, "main.tsx": """
import { Fragment } from "fakejsx";
function Item({ label }: { label: string }) { return <li>{label}</li>; }
const rest = { title: "t", "data-x": 1 };
const list = ["a", "b"];
export const result = [
  <div />,
  <div className="c" id={`i${1}`} hidden data-role="main" aria-label='l' />,
  <p>plain text</p>,
  <p>  leading and trailing  </p>,
  <p>
    multi   line
    text &amp; entities &lt;&gt; &#65;&#x42; &nbsp;&copy;
  </p>,
  <p>{"a"}{1}{null}{undefined}{false}{/* comment */}{}</p>,
  <p>one {"two"} three</p>,
  <span {...rest} title="override" />,
  <span title="first" {...rest} />,
  <ul>{list.map((x) => <Item key={x} label={x} />)}</ul>,
  <div key="k1" a="1" />,
  <div {...rest} key="after-spread" b={2} />,
  <><b>x</b><i>y</i></>,
  <Fragment key="f">z</Fragment>,
  <Item label="direct" />,
  <div>
    <b>bold</b> <i>italic</i>
  </div>,
  <a b:c="ns" d-e="dash" f={<b>inner</b>} />,
  <p>{...list}</p>,
  <p>quote " and 'single' and \\backslash</p>,
  <input value="tab	and  spaces" />,
];
"""},
    "jsx-classic-pragma": {"tsconfig.json": '{"compilerOptions": {"jsx": "react"}}', "main.tsx": """
/** @jsx h */
/** @jsxFrag Fragment */
import { h, Fragment } from "fakejsx";
const name = "world";
export const result = [
  <div id="x">hello {name}</div>,
  <>
    <span key="s" />
    text
  </>,
  <div />,
  <div {...{ a: 1 }} key="k" />,
];
"""},
    "jsx-import-source-pragma": {"tsconfig.json": '{"compilerOptions": {"jsx": "react-jsx"}}', "main.jsx": """
/** @jsxImportSource fakejsx */
export const result = [<div a="1">x</div>, <><b /></>];
"""},
}

# Cases built by TypeScript in development mode (jsxDEV), and run by modrun in development mode.
DEV_CASES: dict[str, dict[str, str]] = {
    "jsx-dev": {"tsconfig.json": JSX_TSCONFIG, "main.tsx": """
const items = [1, 2];
export const result = [
  <div a="1">one</div>,
  <div>{items.map((i) => <b key={i}>{i}</b>)} tail</div>,
    <span {...{ x: 1 }} />,
];
"""},
}
