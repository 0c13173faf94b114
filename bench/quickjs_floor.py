"""Floors for loading a module graph in bare QuickJS-ng, with no modrun runtime around it.

Given the runner-format modules the environment serves (`{url: {code, resolved}}`), these time
what the engine alone needs:

- `compile_ms`: compiling every module as the runner's wrapper (`new AsyncFunction(...)`);
- `load_ms`: compiling and evaluating the whole graph with a minimal loader written here for
  the benchmark (Vite's run-time semantics: no link-time checks, no cycle handling, no
  source maps, no stack traces) — what any runner on this engine has to spend at least;
- `bytecode_load_ms`: the same loader given the wrappers as bytecode compiled beforehand (read with
  JS_ReadObject in the fresh context, as the in-process evaluator's compiled-code cache does), split
  into reading the bytecode and evaluating: what a runner with every wrapper cached spends at least.
"""

from __future__ import annotations

import json
import time
from typing import Any

import quickjs

from evaluators import quickjs_bytecode as qb

CONTEXT_NAMES = ("__vite_ssr_exports__", "__vite_ssr_import_meta__", "__vite_ssr_import__",
                 "__vite_ssr_dynamic_import__", "__vite_ssr_exportAll__", "__vite_ssr_exportName__")

_COMPILE = """
(function () {
  const AsyncFunction = (async function () {}).constructor;
  const names = %s;
  return (modules) => {
    for (const url of Object.keys(modules)) new AsyncFunction(...names, '"use strict";\\n' + modules[url].code);
  };
})()
"""

_LOAD = """
(function () {
  const AsyncFunction = (async function () {}).constructor;
  const names = %s;
  const define = (target, name, get) =>
    Object.defineProperty(target, name, { get, enumerable: true, configurable: true });
  return (modules, entry, exportName, wrappers) => {
    const loaded = new Map();
    const load = (url) => {
      let record = loaded.get(url);
      if (record) return record.done;
      const module = modules[url];
      const exports = Object.create(null);
      record = { exports };
      loaded.set(url, record);
      const wrapper = wrappers ? wrappers[url] : new AsyncFunction(...names, '"use strict";\\n' + module.code);
      const importDep = (specifier) => {
        const target = module.resolved[specifier];
        return load(target).then(() => loaded.get(target).exports);
      };
      const exportAll = (namespace) => {
        for (const key of Object.keys(namespace)) {
          if (key !== "default" && !(key in exports)) define(exports, key, () => namespace[key]);
        }
      };
      record.done = wrapper(exports, { url }, importDep, null, exportAll, (name, get) => define(exports, name, get))
        .then(() => exports);
      return record.done;
    };
    const result = { value: undefined, error: undefined };
    load(entry).then((e) => { result.value = e[exportName]; }, (e) => { result.error = String(e && e.stack || e); });
    return result;
  };
})()
"""


def _context() -> quickjs.Context:
    context = quickjs.Context()
    context.eval("globalThis.console = { log() {}, info() {}, warn() {}, error() {}, debug() {} };")
    return context


def compile_ms(modules: dict[str, Any], repeat: int = 5) -> list[float]:
    samples = []
    for _ in range(repeat):
        context = _context()
        compile_all = context.eval(_COMPILE % json.dumps(CONTEXT_NAMES))
        data = context.parse_json(json.dumps(modules))
        started = time.perf_counter()
        compile_all(data)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def load_ms(modules: dict[str, Any], entry: str, export: str, expected: Any, repeat: int = 5) -> list[float]:
    samples = []
    for _ in range(repeat):
        context = _context()
        load = context.eval(_LOAD % json.dumps(CONTEXT_NAMES))
        data = context.parse_json(json.dumps(modules))
        started = time.perf_counter()
        result = load(data, entry, export)
        while context.execute_pending_job():
            pass
        samples.append((time.perf_counter() - started) * 1000)
        outcome = result.json()
        got = json.loads(outcome) if isinstance(outcome, str) else outcome
        if got.get("error") or got.get("value") != expected:
            raise RuntimeError(f"minimal loader: {got}, expected {export} = {expected!r}")
    return samples


# Each wrapper's text as the Function constructor makes it, in parentheses: a script whose value is
# the function (what the compiled-code cache compiles, evaluators/quickjs_bytecode.py).
_SOURCES = """
(function () {
  const AsyncFunction = (async function () {}).constructor;
  const names = %s;
  return (modules) => JSON.stringify(Object.keys(modules).map((url) =>
    [url, "(" + String(new AsyncFunction(...names, '"use strict";\\n' + modules[url].code)) + ")"]));
})()
"""


def _bytecode(modules: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Every module's wrapper compiled to bytecode, by url."""
    api = qb._api()
    if isinstance(api, str):
        raise RuntimeError(api)
    context = _context()
    sources = json.loads(context.eval(_SOURCES % json.dumps(CONTEXT_NAMES))(context.parse_json(json.dumps(modules))))
    ctx = qb._pointers(context)[1]
    codes = []
    for url, source in sources:
        text = source.encode("utf-8", "surrogatepass")
        script = api.eval(ctx, text, len(text), qb.FILENAME, qb.JS_EVAL_TYPE_GLOBAL | qb.JS_EVAL_FLAG_COMPILE_ONLY)
        size = qb.ctypes.c_size_t()
        buffer = api.write_object(ctx, qb.ctypes.byref(size), script, qb.JS_WRITE_OBJ_BYTECODE)
        codes.append((url, qb.ctypes.string_at(buffer, size.value)))
        api.free(ctx, buffer)
        api.free_value(ctx, script)
    return codes


def bytecode_load_ms(modules: dict[str, Any], entry: str, export: str, expected: Any,
                     repeat: int = 5) -> dict[str, list[float]]:
    """The minimal loader over wrappers read from bytecode: `read_ms` (JS_ReadObject and the script's
    evaluation, whose value is the function, for every module), `evaluate_ms` (the loader), `total_ms`."""
    api = qb._api()
    assert not isinstance(api, str)
    codes = _bytecode(modules)
    samples: dict[str, list[float]] = {"read_ms": [], "evaluate_ms": [], "total_ms": []}
    for _ in range(repeat):
        context = _context()
        load = context.eval(_LOAD % json.dumps(CONTEXT_NAMES))
        data = context.parse_json(json.dumps(modules))
        holder = context.eval("({})")
        ctx = qb._pointers(context)[1]
        target = qb._value(holder)
        started = time.perf_counter()
        api.update_stack_top(qb._pointers(context)[0])
        for url, code in codes:
            script = api.read_object(ctx, code, len(code), qb.JS_READ_OBJ_BYTECODE)
            function = api.eval_function(ctx, script)
            if function.tag == qb.JS_TAG_EXCEPTION:
                raise RuntimeError(f"bytecode of {url} did not load")
            api.set_property_str(ctx, target, url.encode(), function)
        read = time.perf_counter()
        result = load(data, entry, export, holder)
        while context.execute_pending_job():
            pass
        done = time.perf_counter()
        samples["read_ms"].append((read - started) * 1000)
        samples["evaluate_ms"].append((done - read) * 1000)
        samples["total_ms"].append((done - started) * 1000)
        outcome = result.json()
        got = json.loads(outcome) if isinstance(outcome, str) else outcome
        if got.get("error") or got.get("value") != expected:
            raise RuntimeError(f"minimal loader: {got}, expected {export} = {expected!r}")
    return samples
