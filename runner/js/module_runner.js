// The module runner: fetches modules from its environment over the transport, links them the way
// the spec does, and evaluates runner-format code.
//
// One import goes through three phases, kept apart so that failures are classified right:
//   fetch  - the whole static graph is fetched concurrently (one round of requests per level,
//            not one round trip per module), deduped per url while in flight;
//   link   - every wrapper is compiled, every import and re-export is resolved with the spec's
//            ResolveExport (missing or ambiguous names are SyntaxErrors before anything runs);
//   evaluate - depth-first, dependencies before importers; a module reached again through a
//            cycle gives its partial exports, whose bindings throw ReferenceError until set.
// Modules with imports are started right after linking: their prologue defines the export
// getters (hoisted function declarations are live from then on, as in the spec) and they wait
// at their first import until it is their turn.

const AsyncFunction = (async function () {}).constructor;
const CONTEXT_NAMES = [
  "__vite_ssr_exports__", "__vite_ssr_import_meta__", "__vite_ssr_import__",
  "__vite_ssr_dynamic_import__", "__vite_ssr_exportAll__", "__vite_ssr_exportName__",
];
const WRAPPER_START = `async function anonymous(${CONTEXT_NAMES.join(",")}\n) {\n"use strict";\n`;
const AMBIGUOUS = { ambiguous: true };
const RESOLVED = Promise.resolve();

class ModuleRecord {
  constructor(result) {
    this.url = result.url;
    this.id = result.id;
    this.file = result.file || result.id;
    this.code = result.code;
    this.meta = result.modrun || null;
    this.map = result.map ? new SourceMap(result.map) : null;
    this.exports = Object.create(null);
    Object.defineProperty(this.exports, Symbol.toStringTag, { value: "Module" });
    this.namespaceObject = null;
    this.exportedNames = null;
    this.status = "fetched"; // fetched -> linked -> evaluating -> evaluated | errored
    this.deps = new Map(); // specifier -> ModuleRecord (static imports and re-exports)
    this.importers = new Set();
    this.wrapper = null;
    this.wrapperSource = "";
    this.started = null; // the wrapper's promise once it runs
    this.gate = RESOLVED;
    this.openGate = null;
    this.evaluation = null;
    this.error = undefined;
    this.importMeta = null;
  }

  namespace() {
    if (!this.namespaceObject) {
      const names = this.exportedNames || Object.keys(this.exports);
      this.namespaceObject = createNamespace(this, names);
    }
    return this.namespaceObject;
  }

  originalPosition(line, column) {
    if (!this.map) return null;
    try {
      return this.map.originalPosition(line, column);
    } catch {
      return null;
    }
  }

  staticSpecifiers() {
    return this.meta ? this.meta.deps : [];
  }
}

class ModuleRunner {
  constructor(transport, options) {
    this.transport = transport;
    this.options = options || {};
    this.byUrl = new Map();
    this.byId = new Map();
    this.inflight = new Map(); // fetch dedupe, separate from evaluation promises
    this.traces = new StackTraces(this.options.runnerSource || "");
    this.traces.install();
    this.closed = false;
    this.scriptImport = null;
  }

  // ---- public API (Vite's names) ----

  async import(url) {
    const record = await this.load(url, null);
    await this.evaluate(record, []);
    return record.namespace();
  }

  // The load phase only: fetch the whole static graph and link it. Errors here are load errors.
  async load(url, importer) {
    this.assertOpen();
    const record = await this.fetchRecord(url, importer);
    await this.fetchGraph(record);
    this.link(record);
    return record;
  }

  clearCache() {
    for (const record of this.byId.values()) this.traces.unregister(record);
    this.byUrl.clear();
    this.byId.clear();
  }

  close() {
    this.closed = true;
    this.clearCache();
  }

  get evaluatedModules() {
    return this.byId;
  }

  assertOpen() {
    if (this.closed) throw new Error("the module runner is closed");
  }

  // ---- fetch ----

  fetchRecord(specifier, importer) {
    const known = this.byUrl.get(specifier);
    if (known && (importer === null || isAbsoluteUrl(specifier))) return Promise.resolve(known);
    const key = importer && !isAbsoluteUrl(specifier) ? `${importer.id}\0${specifier}` : specifier;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.transport
        .invoke("fetchModule", [specifier, importer ? importer.id : undefined, { cached: false, startOffset: 3, inlineSourceMap: false }])
        .then((result) => this.recordFor(result, specifier))
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  recordFor(result, specifier) {
    if (result.externalize) {
      const error = new Error(
        `"${result.externalize}" would have to be loaded by the runtime itself (${result.type}), ` +
        "which a sandboxed runtime cannot do");
      error.code = "ERR_MODULE_EXTERNAL";
      throw error;
    }
    let record = this.byId.get(result.id);
    if (!record) {
      record = new ModuleRecord(result);
      this.byId.set(record.id, record);
      this.byUrl.set(record.url, record);
    }
    if (isAbsoluteUrl(specifier)) this.byUrl.set(specifier, record);
    return record;
  }

  async fetchGraph(root) {
    const visiting = new Set();
    const visit = async (record) => {
      if (visiting.has(record) || record.status !== "fetched") return;
      visiting.add(record);
      const resolved = (record.meta && record.meta.resolved) || {};
      await Promise.all(record.staticSpecifiers().map(async (specifier) => {
        let dep = record.deps.get(specifier);
        if (!dep) {
          dep = await this.fetchRecord(resolved[specifier] || specifier, record);
          record.deps.set(specifier, dep);
          dep.importers.add(record);
        }
        await visit(dep);
      }));
    };
    await visit(root);
  }

  // ---- link ----

  link(root) {
    const pending = [];
    const collect = (record) => {
      if (record.status !== "fetched" || pending.includes(record)) return;
      pending.push(record);
      for (const dep of record.deps.values()) collect(dep);
    };
    collect(root);
    if (pending.length === 0) return;
    for (const record of pending) this.compile(record);
    for (const record of pending) this.resolveBindings(record);
    for (const record of pending) record.status = "linked";
    // Start modules that import something: they define their exports, then wait at the gate.
    for (const record of pending) {
      if (record.staticSpecifiers().length > 0) {
        record.gate = new Promise((resolve) => { record.openGate = resolve; });
        this.start(record);
      }
    }
  }

  compile(record) {
    if (record.wrapper) return;
    let wrapper;
    try {
      wrapper = new AsyncFunction(...CONTEXT_NAMES, `"use strict";\n${record.code}`);
    } catch (error) {
      throw this.compileError(record, error);
    }
    record.wrapper = wrapper;
    record.wrapperSource = WRAPPER_START + record.code + "\n}";
    this.traces.register(record);
    if (record.meta) {
      for (const [name, entry] of Object.entries(record.meta.exports)) {
        if (entry.kind === "local") defineTdzBinding(record.exports, name);
      }
    }
  }

  compileError(record, error) {
    // QuickJS reports "<input>:line:col" for the wrapper source; map it to the module.
    const match = /<input>:(\d+):(\d+)/.exec(String(error.stack || ""));
    const located = new SyntaxError(error.message);
    let where = record.file;
    if (match) {
      const line = Number(match[1]);
      const column = Number(match[2]);
      const original = record.originalPosition(line, column);
      const loc = original
        ? { file: original.source || record.file, line: original.line, column: original.column }
        : { file: record.file, line: line - 3, column };
      located.loc = loc;
      where = `${loc.file}:${loc.line}:${loc.column}`;
    }
    located.code = "ERR_PARSE";
    located.id = record.id;
    Object.defineProperty(located, "stack", { value: `SyntaxError: ${error.message}\n    at ${where}`, writable: true, configurable: true });
    return located;
  }

  resolveBindings(record) {
    if (!record.meta) return; // code from a server without link metadata: Vite's run-time semantics
    const meta = record.meta;
    for (const entry of meta.imports) {
      const dep = record.deps.get(entry.specifier);
      for (const name of entry.names) {
        const resolution = this.resolveExport(dep, name, []);
        if (resolution === null || resolution === AMBIGUOUS) {
          throw linkError(record, dep, name, resolution === AMBIGUOUS, entry);
        }
      }
    }
    const names = [];
    for (const name of this.exportedNames(record, [])) {
      const resolution = this.resolveExport(record, name, []);
      if (resolution === AMBIGUOUS || resolution === null) {
        const entry = meta.exports[name];
        if (entry) throw linkError(record, record.deps.get(entry.specifier), entry.import, resolution === AMBIGUOUS, entry);
        continue; // an ambiguous star export is simply not exported
      }
      names.push(name);
      if (resolution.record === record && !resolution.namespace && resolution.name === name) continue;
      defineForwardingBinding(record.exports, name, resolution);
    }
    record.exportedNames = names;
  }

  exportedNames(record, starSet) {
    if (starSet.includes(record)) return [];
    starSet.push(record);
    const names = Object.keys(record.meta ? record.meta.exports : record.exports);
    if (!record.meta) return names;
    for (const specifier of record.meta.starExports) {
      const dep = record.deps.get(specifier);
      for (const name of this.exportedNames(dep, starSet)) {
        if (name !== "default" && !names.includes(name)) names.push(name);
      }
    }
    return names;
  }

  resolveExport(record, name, resolveSet) {
    for (const [r, n] of resolveSet) if (r === record && n === name) return null;
    resolveSet.push([record, name]);
    if (!record.meta) return name in record.exports ? { record, name } : null;
    const entry = record.meta.exports[name];
    if (entry) {
      if (entry.kind === "local") return { record, name };
      const dep = record.deps.get(entry.specifier);
      if (entry.import === "*") return { record: dep, namespace: true };
      return this.resolveExport(dep, entry.import, resolveSet);
    }
    if (name === "default") return null;
    let found = null;
    for (const specifier of record.meta.starExports) {
      const resolution = this.resolveExport(record.deps.get(specifier), name, resolveSet);
      if (resolution === AMBIGUOUS) return AMBIGUOUS;
      if (resolution === null) continue;
      if (found === null) found = resolution;
      else if (found.record !== resolution.record || found.name !== resolution.name ||
        Boolean(found.namespace) !== Boolean(resolution.namespace)) return AMBIGUOUS;
    }
    return found;
  }

  // ---- evaluate ----

  evaluate(record, chain) {
    if (record.status === "evaluated") return RESOLVED;
    if (record.status === "errored") return Promise.reject(record.error);
    if (record.status === "evaluating") {
      if (chain.includes(record) || this.waitsOn(record, chain)) return RESOLVED; // a cycle: partial exports
      return record.evaluation;
    }
    record.status = "evaluating";
    const inner = chain.concat([record]);
    record.evaluation = (async () => {
      try {
        for (const specifier of record.staticSpecifiers()) await this.evaluate(record.deps.get(specifier), inner);
        if (record.openGate) record.openGate();
        else this.start(record);
        await record.started;
        this.finalize(record);
        record.status = "evaluated";
      } catch (error) {
        record.status = "errored";
        record.error = error;
        throw error;
      }
    })();
    return record.evaluation;
  }

  // Does `record` (being evaluated elsewhere) wait, through modules still evaluating, on one in `chain`?
  waitsOn(record, chain) {
    const seen = new Set();
    const stack = [record];
    while (stack.length) {
      const current = stack.pop();
      if (seen.has(current)) continue;
      seen.add(current);
      for (const dep of current.deps.values()) {
        if (chain.includes(dep)) return true;
        if (dep.status === "evaluating") stack.push(dep);
      }
    }
    return false;
  }

  start(record) {
    record.started = record.wrapper.call(
      undefined,
      record.exports,
      this.importMeta(record),
      (specifier, options) => this.staticImport(record, specifier, options),
      (specifier, options) => this.dynamicImport(record, specifier, options),
      (namespace) => this.exportAll(record, namespace),
      (name, getter) => this.exportName(record, name, getter),
    );
    // The rejection is handled by evaluate(); keep an unobserved one from being reported twice.
    record.started.catch(() => {});
  }

  staticImport(record, specifier, options) {
    const dep = record.deps.get(specifier);
    if (!dep) return this.runtimeImport(record, specifier);
    const value = options && options.importedNames ? dep.exports : dep.namespace();
    return record.gate.then(() => value);
  }

  // Code that did not come with link metadata (another server's transform): Vite's semantics.
  async runtimeImport(record, specifier) {
    const dep = await this.load(specifier, record);
    record.deps.set(specifier, dep);
    dep.importers.add(record);
    await this.evaluate(dep, [record]);
    return dep.namespace();
  }

  async dynamicImport(record, specifier, options) {
    const key = String(specifier);
    if (options !== undefined) checkImportOptions(options);
    const resolved = record.meta && record.meta.resolved && record.meta.resolved[key];
    const dep = await this.load(resolved || key, record);
    await this.evaluate(dep, []);
    return dep.namespace();
  }

  installScriptImport() {
    if (this.scriptImport) return;
    const scripts = new Map();
    this.scriptImport = (url, specifier, options) => {
      let record = scripts.get(url);
      if (!record) {
        record = new ModuleRecord({ url, id: url, file: url, code: "" });
        scripts.set(url, record);
      }
      return this.dynamicImport(record, specifier, options);
    };
    Object.defineProperty(globalThis, "__modrun_dynamic_import__", {
      value: this.scriptImport, writable: true, configurable: true, enumerable: false,
    });
  }

  exportName(record, name, getter) {
    if (record.meta) {
      const entry = record.meta.exports[name];
      if (entry && entry.kind !== "local") return; // re-exports were bound at link time
    }
    Object.defineProperty(record.exports, name, { get: getter, enumerable: true, configurable: true });
  }

  exportAll(record, namespace) {
    if (record.meta) return; // star exports were resolved at link time, with the spec's ambiguity rules
    for (const key of Object.keys(namespace)) {
      if (key !== "default" && !(key in record.exports)) {
        Object.defineProperty(record.exports, key, { get: () => namespace[key], enumerable: true, configurable: true });
      }
    }
  }

  // After evaluation, bindings that are never reassigned become plain data properties: an
  // imported function called in a hot loop then costs a property read, not a getter call.
  finalize(record) {
    const constants = record.meta ? record.meta.constants : [];
    for (const name of constants) {
      const value = record.exports[name];
      Object.defineProperty(record.exports, name, { value, writable: false, enumerable: true, configurable: false });
    }
    Object.preventExtensions(record.exports);
  }

  importMeta(record) {
    if (!record.importMeta) {
      const meta = Object.create(null);
      const file = record.file;
      const slash = file.lastIndexOf("/");
      meta.url = file.startsWith("/") ? `file://${encodeURI(file)}` : record.url;
      meta.filename = file;
      meta.dirname = slash > 0 ? file.slice(0, slash) : "/";
      meta.env = this.options.env || { MODE: "production", DEV: false, PROD: true, SSR: true };
      record.importMeta = meta;
    }
    return record.importMeta;
  }
}

function isAbsoluteUrl(specifier) {
  return specifier.startsWith("/") || specifier.startsWith("\0") || /^[a-z][a-z0-9+.-]*:/i.test(specifier);
}

function defineTdzBinding(exportsObject, name) {
  Object.defineProperty(exportsObject, name, {
    get() { throw new ReferenceError(`Cannot access '${name}' before initialization`); },
    enumerable: true, configurable: true,
  });
}

function defineForwardingBinding(exportsObject, name, resolution) {
  const source = resolution.record;
  const get = resolution.namespace ? () => source.namespace() : () => source.exports[resolution.name];
  Object.defineProperty(exportsObject, name, { get, enumerable: true, configurable: true });
}

function linkError(record, dep, name, ambiguous, entry) {
  const target = dep ? dep.url : entry.specifier;
  const message = ambiguous
    ? `The requested module '${entry.specifier}' contains conflicting star exports for name '${name}'`
    : `The requested module '${entry.specifier}' does not provide an export named '${name}'`;
  const error = new SyntaxError(message);
  error.code = "ERR_LINK";
  error.importer = record.file;
  error.id = target;
  if (entry.line) error.loc = { file: record.file, line: entry.line, column: entry.column };
  const where = entry.line ? `${record.file}:${entry.line}:${entry.column}` : record.file;
  Object.defineProperty(error, "stack", { value: `SyntaxError: ${message}\n    at ${where}`, writable: true, configurable: true });
  return error;
}

function checkImportOptions(options) {
  if (options === null || (typeof options !== "object" && typeof options !== "function")) {
    throw new TypeError("The second argument of import() must be an object");
  }
  const attributes = options.with;
  if (attributes === undefined) return;
  if (attributes === null || (typeof attributes !== "object" && typeof attributes !== "function")) {
    throw new TypeError("The 'with' option of import() must be an object");
  }
  for (const key of Object.keys(attributes)) {
    if (typeof attributes[key] !== "string") {
      throw new TypeError(`Import attribute '${key}' must be a string`);
    }
  }
}
