"""Module graphs for differential fuzzing: a model hypothesis generates (and shrinks), and its rendering
as ES module files that run unchanged in Node and in modrun.

A graph is a few modules `m0.js … mN.js` plus `log.js` (a shared log and a `safe` reader) and
`main.js`, which imports `m0.js` dynamically and exports `result`: the outcome (the namespace described,
or the error's name), the evaluation log and what dynamic imports settled with. Everything that can
differ only by host timing (when a dynamic import settles) is recorded apart from the ordered log.

What the modules do, drawn per module: export bindings of every declaration kind (let, const, var,
function, class) under names shared across modules (so that `export *` conflicts arise), every default
form, named re-exports (sometimes of names that do not exist), `export *` and `export * as`, imports of
every form (sometimes of names that do not exist) and of a JSON module (import attributes), and a body
that logs reads of its imports (TDZ errors in cycles included), reassigns its own `let`/`var` bindings
(live bindings), calls imported functions, awaits at top level, starts dynamic imports, and sometimes
throws (a module that throws may be shared by several importers: each sees its error).

Compared is only what the spec fixes. When a dynamic import's loading completes is the host's to decide
(HostLoadImportedModule may finish at any time), so dynamic imports reach only modules outside m0's
static graph, their modules log apart (`dlog`, compared module by module) and what they settled with
is compared as a sorted set, never in the order they settled. Dynamic imports also run one after
another (`later` in log.js): of two at once into one cycle, the one whose loading completes first
becomes the cycle's root and decides which module runs first, which is the host's timing too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

NAMES = ("a", "b", "c", "d")
DECLARATION_KINDS = ("let", "const", "var", "function", "class")
DEFAULT_KINDS = ("none", "value", "function", "named-function", "class", "named-class", "alias")
IMPORT_KINDS = ("named", "default", "namespace", "bare", "json")


@dataclass(frozen=True)
class Import:
    target: int
    kind: str  # named | default | namespace | bare | json (data.json with { type: "json" }; target unused)
    name: str = ""  # the imported name, for `named`


@dataclass(frozen=True)
class Reexport:
    target: int
    kind: str  # star | star-as | named
    name: str = ""  # named: the name exported there
    alias: str = ""  # star-as / named: the name exported here


@dataclass(frozen=True)
class Step:
    kind: str  # read | set | call | await | dynamic
    index: int = 0  # which import (read/call), which own binding (set), which module (dynamic)
    value: int = 0


@dataclass(frozen=True)
class Module:
    declarations: tuple[tuple[str, str], ...]  # (kind, name)
    default: str
    imports: tuple[Import, ...] = ()
    reexports: tuple[Reexport, ...] = ()
    body: tuple[Step, ...] = ()
    throws: bool = False


@dataclass(frozen=True)
class Graph:
    modules: tuple[Module, ...]
    files: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@st.composite
def _declarations(draw: st.DrawFn) -> tuple[tuple[str, str], ...]:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3))
    return tuple((draw(st.sampled_from(DECLARATION_KINDS)), name) for name in names)


@st.composite
def _name_in(draw: st.DrawFn, known: list[str]) -> str:
    """Mostly a name the module declares; sometimes one that only `export *`, or nothing, provides
    (shrinking goes towards the declared ones)."""
    if known and draw(st.integers(0, 4)) != 4:
        return draw(st.sampled_from(known))
    return draw(st.sampled_from(NAMES))


@st.composite
def graphs(draw: st.DrawFn, max_modules: int = 5) -> Graph:
    count = draw(st.integers(1, max_modules))
    shapes = [(draw(_declarations()), draw(st.sampled_from(DEFAULT_KINDS))) for _ in range(count)]

    def exported_names(index: int) -> list[str]:
        declarations, default = shapes[index]
        return [name for _, name in declarations] + ([] if default == "none" else ["default"])

    modules = []
    for declarations, default in shapes:
        imports = []
        for _ in range(draw(st.integers(0, 3))):
            target = draw(st.integers(0, count - 1))
            kind = draw(st.sampled_from(IMPORT_KINDS))
            name = draw(_name_in(exported_names(target)))
            imports.append(Import(target, kind, name if kind == "named" else ""))
        reexports = []
        for _ in range(draw(st.integers(0, 2))):
            target = draw(st.integers(0, count - 1))
            kind = draw(st.sampled_from(("star", "star", "star-as", "named")))
            name = draw(_name_in(exported_names(target)))
            alias = draw(st.sampled_from(NAMES + ("ns", "default")))
            reexports.append(Reexport(target, kind, name if kind == "named" else "", alias if kind != "star" else ""))
        body = []
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(("read", "read", "set", "call", "await", "dynamic")))
            index = draw(st.integers(0, count - 1 if kind == "dynamic" else 3))
            body.append(Step(kind, index, draw(st.integers(0, 99))))
        modules.append(Module(declarations, default, tuple(imports), tuple(reexports), tuple(body),
                              draw(st.integers(0, 9)) == 9))
    return Graph(tuple(modules))


LOG_MODULE = """\
export const log = [];
export const dlog = [];
export const settled = [];
export const pending = [];
// Dynamic imports one at a time, each once the one before has settled (see graphs.py).
let queue = Promise.resolve();
export function later(load) {
  const loaded = queue.then(load);
  queue = loaded.then(() => undefined, () => undefined);
  return loaded;
}
// An error's name as the spec has it. Node 20 answers a second link of a module whose link failed
// before with its own ERR_VM_MODULE_LINK_FAILURE ("request for ... is not in cache"), where the spec
// links the module again and throws what its link threw the first time: in these graphs, always the
// SyntaxError of an import no module provides (a link error is a SyntaxError).
export function errorName(error) {
  return error && error.code === "ERR_VM_MODULE_LINK_FAILURE" ? "SyntaxError" : error && error.name;
}
// A value as both sides can print it; a read that throws (TDZ in a cycle) gives the error's name.
export function safe(read) {
  try {
    return shape(read(), 0);
  } catch (error) {
    return error === null || typeof error !== "object" ? "throw:" + String(error) : "throw:" + error.name;
  }
}
export function shape(value, depth) {
  if (typeof value === "function") return ["fn", value.name];
  if (value === undefined) return "undefined";
  if (value === null || typeof value !== "object") return value;
  if (depth > 1) return "object";
  const out = {};
  for (const key of Object.keys(value).sort()) out[key] = safe(() => shape(value[key], depth + 1));
  return out;
}
"""

MAIN_MODULE = """\
import { log, dlog, settled, pending, safe, errorName, later } from "./log.js";
let outcome;
try {
  const ns = await import("./m0.js");
  const described = {};
  for (const key of Object.keys(ns)) {
    const value = safe(() => ns[key]);
    described[key] = typeof ns[key] === "function" ? [value, safe(() => ns[key]())] : value;
  }
  outcome = { ok: described, tag: ns[Symbol.toStringTag] };
} catch (error) {
  const message = String(error && error.message);
  outcome = { error: errorName(error), boom: message.startsWith("boom") ? message : null };
}
// Dynamic imports started by the modules settle when the host has loaded them: wait for them (and
// for those they start), and compare what they settled with, not when.
for (let seen = 0; seen < pending.length;) {
  const batch = pending.slice(seen);
  seen = pending.length;
  await Promise.allSettled(batch);
}
// What modules outside m0's static graph log depends on when the host loaded them: compared module
// by module (a stable sort keeps each module's own order).
const byModule = dlog.slice().sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
export const result = { outcome, log, dlog: byModule, settled: settled.slice().sort() };
"""


def static_graph(graph: Graph) -> set[int]:
    """The modules m0 imports statically, directly or not (m0 included)."""
    seen = {0}
    stack = [0]
    while stack:
        module = graph.modules[stack.pop()]
        for target in [i.target for i in module.imports if i.kind != "json"] + [r.target for r in module.reexports]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def render(graph: Graph) -> dict[str, str]:
    """The files of the graph (relative path -> text)."""
    files = {"log.js": LOG_MODULE, "main.js": MAIN_MODULE, "package.json": json.dumps({"type": "module"}),
             "data.json": json.dumps({"v": [1, 2], "s": "json"})}
    static = static_graph(graph)
    # Dynamic imports reach only modules outside m0's static graph: when one inside it would be
    # evaluated by a dynamic import (during a top-level await) is up to the host's loading.
    outside = [i for i in range(len(graph.modules)) if i not in static]
    for index, module in enumerate(graph.modules):
        files[f"m{index}.js"] = _module_source(index, module, outside, index not in static)
    return files


def _module_source(index: int, module: Module, outside: list[int], dynamic_only: bool) -> str:
    me = f"m{index}"

    def log(entry: str) -> str:
        # A module outside the static graph logs [module, entry]: compared module by module.
        return f'dlog.push(["{me}", {entry}]);' if dynamic_only else f"log.push({entry});"

    lines = ['import { log, dlog, settled, pending, safe, errorName, later } from "./log.js";']
    locals_: list[tuple[str, str]] = []  # (local name, kind of import)
    for n, imp in enumerate(module.imports):
        source = f'"./m{imp.target}.js"'
        local = f"i{n}"
        if imp.kind == "named":
            lines.append(f"import {{ {imp.name} as {local} }} from {source};")
        elif imp.kind == "default":
            lines.append(f"import {local} from {source};")
        elif imp.kind == "namespace":
            lines.append(f"import * as {local} from {source};")
        elif imp.kind == "json":
            lines.append(f'import {local} from "./data.json" with {{ type: "json" }};')
        else:
            lines.append(f"import {source};")
            continue
        locals_.append((local, imp.kind))
    for reexport in module.reexports:
        source = f'"./m{reexport.target}.js"'
        if reexport.kind == "star":
            lines.append(f"export * from {source};")
        elif reexport.kind == "star-as":
            lines.append(f"export * as {reexport.alias} from {source};")
        else:
            lines.append(f"export {{ {reexport.name} as {reexport.alias} }} from {source};")
    lines.append(log(f'"enter {me}"'))
    reads = ", ".join(f"safe(() => {local})" for local, _ in locals_)
    own: list[str] = []
    for n, (kind, name) in enumerate(module.declarations):
        value = index * 10 + n
        if kind in ("let", "const", "var"):
            lines.append(f"export {kind} {name} = {value};")
            if kind != "const":
                own.append(name)
        elif kind == "function":
            lines.append(f"export function {name}() {{ return [{value}, {reads}]; }}")
        else:
            lines.append(f"export class {name} {{ static v = {value}; }}")
    lines.append(_default(module.default, index, module.declarations, reads))
    for step in module.body:
        lines.append(_step(step, me, locals_, own, outside, log))
    if module.throws:
        lines.append(f'throw new Error("boom {me}");')
    lines.append(log(f'"leave {me}"'))
    return "\n".join(line for line in lines if line) + "\n"


def _default(kind: str, index: int, declarations: tuple[tuple[str, str], ...], reads: str) -> str:
    value = index * 10 + 9
    if kind == "value":
        return f"export default {value};"
    if kind == "function":
        return f"export default function () {{ return [{value}, {reads}]; }}"
    if kind == "named-function":
        return f"export default function named{index}() {{ return [{value}, {reads}]; }}"
    if kind == "class":
        return f"export default class {{ static v = {value}; }}"
    if kind == "named-class":
        return f"export default class Named{index} {{ static v = {value}; }}"
    if kind == "alias" and declarations:
        return f"export {{ {declarations[0][1]} as default }};"
    return ""


def _step(step: Step, me: str, locals_: list[tuple[str, str]], own: list[str], outside: list[int],
          log: Callable[[str], str]) -> str:
    if step.kind == "read" and locals_:
        local = locals_[step.index % len(locals_)][0]
        return log(f'["{me}", "{local}", safe(() => {local})]')
    if step.kind == "call" and locals_:
        local = locals_[step.index % len(locals_)][0]
        return log(f'["{me}", "call {local}", safe(() => {local}())]')
    if step.kind == "set" and own:
        return f"{own[step.index % len(own)]} = {100 + step.value};"
    if step.kind == "await":
        return "await null; " + log(f'"{me} resumed"')
    if step.kind == "dynamic" and outside:
        target = outside[step.index % len(outside)]
        return (f'pending.push(later(() => import("./m{target}.js")).then('
                f'(ns) => settled.push("{me}->m{target} " + Object.keys(ns).join()),'
                f' (error) => settled.push("{me}->m{target} " + errorName(error))));')
    return ""


def write(graph: Graph, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in render(graph).items():
        (directory / name).write_text(text)
    return directory
