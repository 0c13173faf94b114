"""Floors for loading a module graph in bare QuickJS-ng, with no modrun runtime around it.

Given the runner-format modules the environment serves (`{url: {code, resolved}}`), these time
what the engine alone needs:

- `compile_ms`: compiling every module as the runner's wrapper (`new AsyncFunction(...)`);
- `load_ms`: compiling and evaluating the whole graph with a minimal loader written here for
  the benchmark (Vite's run-time semantics: no link-time checks, no cycle handling, no
  source maps, no stack traces) — what any runner on this engine has to spend at least.
"""

from __future__ import annotations

import json
import time
from typing import Any

import quickjs

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
  return (modules, entry, exportName) => {
    const loaded = new Map();
    const load = (url) => {
      let record = loaded.get(url);
      if (record) return record.done;
      const module = modules[url];
      const exports = Object.create(null);
      record = { exports };
      loaded.set(url, record);
      const wrapper = new AsyncFunction(...names, '"use strict";\\n' + module.code);
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
