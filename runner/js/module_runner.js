// provides: ModuleRunner
// uses: PROTOCOL, EvaluatedModules, ModuleRecord, RESOLVED, whenAll, StackTraces, defineLocalBindings, resolveBindings, moduleNamespace, cyclicRecords, fetchRequired, linkRequired
// private: STACK_BREAK, isAbsoluteUrl, checkImportOptions, onChain, chainRecords

// The module runner: fetches modules from its environment over the transport, links them with
// linker.js and evaluates them in the spec's order, each module's code run by its evaluator
// (esm_evaluator.js); the modules it holds are its evaluatedModules (evaluated_modules.js).
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
//
// Every phase costs time in proportion to the graph and none recurses on the engine's stack in
// proportion to its depth: an import chain thousands of modules deep loads on any stack.

// Evaluating a module starts its first dependency's evaluation synchronously: every this many
// levels down a chain of imports, the descent waits a tick instead, on a fresh stack.
const STACK_BREAK = 32;

class ModuleRunner {
  constructor(transport, options, evaluator) {
    this.transport = transport;
    this.options = options || {};
    this.evaluator = evaluator;
    this.evaluatedModules = new EvaluatedModules();
    this.inflight = new Map(); // fetch dedupe, separate from evaluation promises
    this.traces = new StackTraces(this.options.runnerSource || "", evaluator.startOffset);
    this.traces.install();
    this.closed = false;
    this.scriptImport = null;
    this.hmrClient = null; // an HMRClient (hmr_client.js) where HMR is on
    this.hostCompiler = null; // a HostCompiler (host_compiler.js) where the engine compiles wrappers
    this.entryUrls = new Set(); // what the host imported: a full reload imports these again
    this.bindings = null; // the host's bindings (bindings.js), set at boot
  }

  // ---- public API (Vite's names) ----

  async import(url) {
    const record = await this.load(url, null);
    this.entryUrls.add(record.url);
    await this.evaluate(record, null);
    return moduleNamespace(record);
  }

  // The load phase only: fetch the whole static graph and link it. Errors here are load errors.
  async load(url, importer, type) {
    this.assertOpen();
    const record = await this.fetchRecord(url, importer, type);
    await this.fetchGraph(record);
    const parked = this.link(record);
    if (parked) await parked;
    return record;
  }

  clearCache() {
    for (const record of this.evaluatedModules.idToModuleMap.values()) this.traces.unregister(record);
    this.evaluatedModules.clear();
  }

  close() {
    this.closed = true;
    this.clearCache();
  }

  // ---- what HMR needs (hmr_client.js) ----

  // Forget one module: the next import of its url fetches and evaluates it anew. Its dependencies
  // stop counting it as an importer, so nothing stale stays reachable from the store.
  forget(record) {
    this.traces.unregister(record);
    this.evaluatedModules.invalidateModule(record);
    for (const dep of record.deps.values()) dep.importers.delete(record);
  }

  clearModules() {
    for (const record of this.evaluatedModules.idToModuleMap.values()) this.traces.unregister(record);
    this.evaluatedModules.clear();
  }

  allEntries() {
    return new Set(this.entryUrls);
  }

  // The entries that import (through any chain) a module of `file`; all of them when none is found.
  entriesOf(file) {
    const found = new Set();
    const seen = new Set();
    const stack = [...(this.evaluatedModules.getModulesByFile(file) || [])];
    while (stack.length) {
      const record = stack.pop();
      if (seen.has(record)) continue;
      seen.add(record);
      if (this.entryUrls.has(record.url)) found.add(record.url);
      for (const importer of record.importers) stack.push(importer);
    }
    return found.size ? found : this.allEntries();
  }

  assertOpen() {
    if (this.closed) throw new Error("the module runner is closed");
  }

  // ---- fetch ----

  fetchRecord(specifier, importer, type) {
    const known = this.evaluatedModules.getModuleByUrl(specifier);
    if (known && (importer === null || isAbsoluteUrl(specifier)) && !type) return Promise.resolve(known);
    let key = importer && !isAbsoluteUrl(specifier) ? `${importer.id}\0${specifier}` : specifier;
    if (type) key += `\0${type}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      const options = { cached: false, startOffset: this.evaluator.startOffset, inlineSourceMap: false };
      if (type) options.attributes = { type };
      pending = this.transport
        .invoke("fetchModule", [specifier, importer ? importer.id : undefined, options])
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
    return this.evaluatedModules.ensureModule(result, isAbsoluteUrl(specifier) ? specifier : undefined);
  }

  // Every module not yet linked that the root reaches, each fetched as soon as its importer is
  // known (a worklist, not a recursion: graphs can be deep); rejects with the first failure.
  fetchGraph(root) {
    return new Promise((resolve, reject) => {
      const seen = new Set();
      const todo = [root];
      let waiting = 0;
      let failed = false;
      let done = false;
      const fetched = (record, key, dep) => {
        waiting--;
        if (failed) return;
        record.deps.set(key, dep);
        dep.importers.add(record);
        todo.push(dep);
        expand();
      };
      const fail = (error) => {
        if (!failed) reject(error);
        failed = true;
      };
      const expand = () => {
        while (todo.length) {
          const record = todo.pop();
          if (seen.has(record) || record.status !== "fetched") continue;
          seen.add(record);
          const resolved = record.meta && record.meta.resolved;
          for (const key of record.staticSpecifiers()) {
            const dep = record.deps.get(key);
            if (dep) {
              todo.push(dep);
              continue;
            }
            const [specifier, type] = key.split("\0");
            const url = resolved && Object.hasOwn(resolved, key) ? resolved[key] : undefined;
            waiting++;
            (url ? this.fetchRecord(url, record) : this.fetchRecord(specifier, record, type))
              .then((found) => fetched(record, key, found), fail);
          }
          if (record.meta && record.meta.requires) fetchRequires(record);
        }
        settle();
      };
      // A CommonJS module's require() calls are fetched with it (commonjs.js), their targets
      // walked like imports.
      const fetchRequires = (record) => {
        waiting++;
        const visit = (dep) => {
          todo.push(dep);
          expand();
        };
        fetchRequired(this, record, visit).then(() => {
          waiting--;
          expand();
        }, fail);
      };
      const settle = () => {
        if (waiting !== 0 || failed || done) return;
        done = true;
        linkRequired(seen);
        resolve();
      };
      expand();
    });
  }

  // ---- link: the evaluator compiles, the linker resolves ----

  // The modules to link, depth first in import order (the order link errors are found in).
  toLink(root) {
    const pending = [];
    const seen = new Set();
    const todo = [root];
    while (todo.length) {
      const record = todo.pop();
      if (record.status !== "fetched" || seen.has(record)) continue;
      seen.add(record);
      pending.push(record);
      const deps = [...record.deps.values()];
      for (let i = deps.length - 1; i >= 0; i--) todo.push(deps[i]);
    }
    return pending;
  }

  link(root) {
    const pending = this.toLink(root);
    if (pending.length === 0) return null;
    // Wrappers the host compiles (or has compiled before) come first; another load may link
    // some of these modules meanwhile, so the graph is walked again after.
    const compiled = this.hostCompiler && this.hostCompiler.request(pending);
    if (compiled) return compiled.then(() => this.link(root));
    for (const record of pending) this.compile(record);
    for (const record of pending) resolveBindings(record);
    for (const record of pending) record.status = "linked";
    // Start the modules that are part of a cycle: they define their exports (and their hoisted
    // functions become callable, as in the spec), then wait at the gate for their turn. Others
    // start at their turn: nothing can reach their exports before that. Evaluation begins once
    // every started module waits at its gate (its prologue's imports take ticks): a module's turn
    // then runs its body in as many ticks whether it was started early or not.
    const parked = [];
    for (const record of cyclicRecords(pending)) {
      record.gate = new Promise((resolve) => { record.openGate = resolve; });
      parked.push(new Promise((resolve) => {
        record.parked = resolve;
        this.start(record);
        record.started.then(resolve, resolve); // a prologue that ends without reaching the gate
      }));
    }
    return parked.length ? whenAll(parked) : null;
  }

  compile(record) {
    if (record.wrapper) return;
    if (record.hostWrapper) {
      record.wrapper = record.hostWrapper;
      record.hostWrapper = null;
      record.wrapperSource = this.evaluator.wrapperSource(record);
    } else {
      this.evaluator.compile(record);
    }
    this.traces.register(record);
    defineLocalBindings(record);
  }

  // ---- evaluate ----

  // `chain`: the modules whose evaluation led here, innermost first ({record, parent, depth} or null).
  evaluate(record, chain) {
    if (record.status === "errored") return Promise.reject(record.error);
    if (record.status === "evaluating" && (onChain(chain, record) || this.waitsOn(record, chain))) {
      this.joinCycle(chain, record);
      return RESOLVED; // a cycle: partial exports
    }
    // A member of a cycle is done only when the cycle's root is (the spec's [[CycleRoot]]).
    const root = record.cycleRoot;
    const cycle = root && root.status === "evaluating" && !onChain(chain, root) ? root.evaluation : RESOLVED;
    if (record.status === "evaluated") return cycle;
    if (record.status === "evaluating") return cycle === RESOLVED ? record.evaluation : record.evaluation.then(() => cycle);
    this.planAsync(record);
    record.status = "evaluating";
    record.cycleMembers = [];
    const inner = { record, parent: chain, depth: chain ? chain.depth + 1 : 1 };
    record.evaluation = (async () => {
      try {
        if (inner.depth % STACK_BREAK === 0) await RESOLVED;
        // Dependencies run one after another, except that one with top-level await (in it or
        // below it) does not hold up its siblings: the importer waits for it at the end.
        const pendingAsync = [];
        for (const specifier of record.staticSpecifiers()) {
          const dep = record.deps.get(specifier);
          const done = this.evaluate(dep, inner);
          if (done === RESOLVED) continue; // finished already (or a cycle): no tick to wait
          if (record.asyncDeps.has(dep)) pendingAsync.push(done);
          else await done;
        }
        if (pendingAsync.length) await whenAll(pendingAsync);
        if (record.openGate) {
          record.openGate();
          record.gate = RESOLVED;
        } else {
          this.start(record);
        }
        await record.started;
        this.finalize(record);
        record.status = "evaluated";
      } catch (error) {
        record.status = "errored";
        record.error = error;
        // Every module of a cycle shares the error of the cycle it belongs to.
        for (const member of record.cycleMembers) {
          member.status = "errored";
          member.error = error;
        }
        throw error;
      }
    })();
    return record.evaluation;
  }

  // The spec's [[AsyncEvaluation]], decided before anything runs by InnerModuleEvaluation's walk:
  // which dependencies each module waits for as async ones (`asyncDeps`). A dependency counts when
  // it, or the root of its cycle once that cycle is done, has top-level await in it or in an async
  // dependency; a module still walking its own dependencies (an ancestor on the stack) does not
  // count yet. Done once per module, from the first root that reaches it (as the spec's flag is set once).
  planAsync(root) {
    if (root.asyncDeps) return;
    const index = new Map();
    const ancestor = new Map();
    const stack = [];
    const onStack = new Set();
    const visit = (record) => {
      index.set(record, index.size);
      ancestor.set(record, index.get(record));
      stack.push(record);
      onStack.add(record);
      record.asyncEvaluation = false; // until its dependencies are walked
      record.asyncDeps = new Set();
      for (const key of record.staticSpecifiers()) {
        const dep = record.deps.get(key);
        if (!dep || dep.status === "errored" || dep.status === "evaluated") continue;
        if (!dep.asyncDeps) visit(dep);
        let counted = dep.asyncRoot || dep;
        if (onStack.has(dep)) {
          ancestor.set(record, Math.min(ancestor.get(record), ancestor.get(dep)));
          counted = dep;
        }
        if (counted.asyncEvaluation) record.asyncDeps.add(dep);
      }
      record.asyncEvaluation = record.asyncDeps.size > 0 || Boolean(record.meta && record.meta.hasTLA);
      if (ancestor.get(record) === index.get(record)) {
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          member.asyncRoot = record;
        } while (member !== record);
      }
    };
    visit(root);
  }

  // `target` was reached again through `chain`: every module on the chain after it belongs to the
  // cycle rooted at the earliest such module.
  joinCycle(innermost, target) {
    const chain = chainRecords(innermost);
    let index = chain.indexOf(target);
    if (index < 0) return;
    let root = chain[index];
    while (root.cycleRoot && root.cycleRoot !== root && chain.includes(root.cycleRoot)) root = root.cycleRoot;
    index = chain.indexOf(root);
    for (const member of chain.slice(index + 1)) {
      if (member.cycleRoot === root) continue;
      member.cycleRoot = root;
      root.cycleMembers.push(member);
    }
  }

  // Does `record` (being evaluated elsewhere) wait, through modules still evaluating, on one in `chain`?
  waitsOn(record, innermost) {
    const chain = new Set(chainRecords(innermost));
    const seen = new Set();
    const stack = [record];
    while (stack.length) {
      const current = stack.pop();
      if (seen.has(current)) continue;
      seen.add(current);
      for (const dep of current.deps.values()) {
        if (chain.has(dep)) return true;
        if (dep.status === "evaluating") stack.push(dep);
      }
    }
    return false;
  }

  start(record) {
    const meta = this.importMeta(record);
    if (record.gate !== RESOLVED) {
      // A module started early (in a cycle) binds all its imports first, as linking does in the
      // spec, so that its hoisted functions can read them when another module calls one; then it
      // waits for its turn at the `await __vite_ssr_import_meta__` that ends its prologue.
      const gate = record.gate;
      Object.defineProperty(meta, "then", {
        configurable: true,
        value: (resolve) => {
          delete meta.then;
          if (record.parked) record.parked();
          gate.then(() => resolve(undefined));
        },
      });
    }
    record.started = this.evaluator.run(
      record,
      meta,
      (specifier, options) => this.staticImport(record, specifier, options),
      (specifier, options) => this.dynamicImport(record, specifier, options),
      (namespace) => this.exportAll(record, namespace),
      (name, getter) => this.exportName(record, name, getter),
    );
    // The rejection is handled by evaluate(); keep an unobserved one from being reported twice.
    record.started.catch(() => {});
  }

  staticImport(record, specifier, options) {
    const type = options && options.attributes && options.attributes.type;
    const dep = record.deps.get(type ? `${specifier}\0${type}` : specifier);
    if (!dep) return this.runtimeImport(record, specifier);
    // Its imports are ready (linked): no promise beyond the `await` itself.
    return options && options.importedNames ? dep.exports : moduleNamespace(dep);
  }

  // Code that did not come with link metadata (another server's transform): Vite's semantics.
  async runtimeImport(record, specifier) {
    const dep = await this.load(specifier, record);
    record.deps.set(specifier, dep);
    dep.importers.add(record);
    await this.evaluate(dep, { record, parent: null, depth: 1 });
    return moduleNamespace(dep);
  }

  async dynamicImport(record, specifier, options) {
    const key = String(specifier);
    const type = options !== undefined ? checkImportOptions(options) : undefined;
    const resolved = !type && record.meta && record.meta.resolved;
    const url = resolved && Object.hasOwn(resolved, key) ? resolved[key] : undefined;
    const dep = await this.load(url || key, record, type);
    await this.evaluate(dep, null);
    return moduleNamespace(dep);
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
      // Re-exports were bound at link time; a name the module does not declare is not exported.
      const entry = Object.hasOwn(record.meta.exports, name) ? record.meta.exports[name] : undefined;
      if (!entry || entry.kind !== "local") return;
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
    // As Vite does: no export appears or disappears after evaluation. Except where names come
    // through `export *`: the linker puts those on the exports object when they are first needed.
    if (!record.meta || record.meta.starExports.length === 0) Object.seal(record.exports);
  }

  importMeta(record) {
    if (!record.importMeta) {
      const meta = Object.create(null);
      const file = record.file;
      const slash = file.lastIndexOf("/");
      const query = record.id.indexOf("?");
      meta.url = file.startsWith("/") ? `file://${encodeURI(file)}${query >= 0 ? record.id.slice(query) : ""}` : record.url;
      meta.filename = file;
      meta.dirname = slash > 0 ? file.slice(0, slash) : "/";
      meta.env = this.options.env || { MODE: "production", DEV: false, PROD: true, SSR: true };
      // Only the module the host generates for `modrun:env` (runner/plugins/env_module.py) reads the bindings here.
      if (record.id === PROTOCOL.envModuleId) meta.modrunEnv = () => this.bindings.env();
      if (this.hmrClient) {
        // As Vite's import analysis does for a browser: a hot context for the modules whose code
        // uses import.meta.hot (the server says so), made as the module starts, and nothing for
        // the others, whose import.meta.hot is undefined.
        if (record.meta && record.meta.hot) meta.hot = this.hmrClient.contextFor(record);
        else this.hmrClient.release(record.url);
      }
      record.importMeta = meta;
    }
    return record.importMeta;
  }
}

function onChain(chain, record) {
  for (let link = chain; link !== null; link = link.parent) if (link.record === record) return true;
  return false;
}

// The chain's records, outermost first.
function chainRecords(chain) {
  const records = [];
  for (let link = chain; link !== null; link = link.parent) records.push(link.record);
  return records.reverse();
}

function isAbsoluteUrl(specifier) {
  return specifier.startsWith("/") || specifier.startsWith("\0") || /^[a-z][a-z0-9+.-]*:/i.test(specifier);
}

function checkImportOptions(options) {
  if (options === null || (typeof options !== "object" && typeof options !== "function")) {
    throw new TypeError("The second argument of import() must be an object");
  }
  const attributes = options.with;
  if (attributes === undefined) return undefined;
  if (attributes === null || (typeof attributes !== "object" && typeof attributes !== "function")) {
    throw new TypeError("The 'with' option of import() must be an object");
  }
  const values = Object.create(null);
  for (const key of Object.keys(attributes)) {
    const value = attributes[key]; // read once: the spec reads each attribute a single time
    if (typeof value !== "string") throw new TypeError(`Import attribute '${key}' must be a string`);
    values[key] = value;
  }
  return values.type; // the module type asked for, if any
}
