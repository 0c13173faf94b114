// provides: ModuleRunner
// uses: PROTOCOL, EvaluatedModules, ModuleRecord, RESOLVED, whenAll, StackTraces, defineLocalBindings, resolveBindings, moduleNamespace, linkOrder, fetchRequired, linkRequired, defineGetter
// private: isAbsoluteUrl, checkImportOptions, CONSTANT, NO_STAR_EXPORTS, NO_PARENTS

// The module runner: fetches modules from its environment over the transport, links them with
// linker.js and evaluates them in the spec's order, each module's code run by its evaluator
// (esm_evaluator.js); the modules it holds are its evaluatedModules (evaluated_modules.js).
//
// One import goes through three phases, kept apart so that failures are classified right:
//   fetch  - the whole static graph is fetched concurrently (one round of requests per level,
//            not one round trip per module), deduped per url while in flight;
//   link   - every wrapper is compiled, every import and re-export is resolved with the spec's
//            ResolveExport (missing or ambiguous names are SyntaxErrors before anything runs);
//   evaluate - the spec's Evaluate (ECMA-262 16.2.1.5.3): InnerModuleEvaluation's depth-first
//            walk runs every module without top-level await in the same job as its turn, and a
//            module with top-level await (or waiting on one) runs when its last async dependency
//            is done (AsyncModuleExecutionFulfilled), in the order the walk reached them; a
//            module reached again through a cycle gives its partial exports, whose bindings
//            throw ReferenceError until set.
// Modules with imports are started right after linking when they have no top-level await or are
// in a cycle: their prologue defines the export getters and binds their imports (hoisted function
// declarations are live from then on, as in the spec) and they wait at its end, the gate, until it
// is their turn. Others start at their turn: nothing can reach their exports before that.
//
// Every phase costs time in proportion to the graph and none recurses on the engine's stack in
// proportion to its depth: an import chain thousands of modules deep loads on any stack.

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
    this.entryUrls = new Set(); // what the host imported: a full reload imports these again
    this.bindings = null; // the host's bindings (bindings.js), set at boot
    this.hostCompiler = null; // a HostCompiler (host_compiler.js) where the engine compiles wrappers
    this.asyncOrder = 0; // the spec's order of [[AsyncEvaluation]]
    // What this runner forgot since its last fetch (ids; `clear`: all it held), told to the host with
    // the next fetch that asks for its graph, so that the host sends those modules again when they
    // are imported (runner/rpc/graph_fetch.py).
    this.forgotten = { forget: [] };
  }

  // ---- public API (Vite's names) ----

  async import(url) {
    const record = await this.load(url, null);
    this.entryUrls.add(record.url);
    await this.evaluate(record);
    return moduleNamespace(record);
  }

  // The load phase only: fetch the whole static graph and link it. Errors here are load errors.
  async load(url, importer, type) {
    this.assertOpen();
    // A module this runner has linked already (an entry imported again): nothing to fetch or link.
    const known = importer === null && !type ? this.evaluatedModules.getModuleByUrl(url) : undefined;
    if (known !== undefined && known.status !== "fetched") return known;
    // Answers the host sent along with this load's fetches (their static graphs), by url: used
    // where this load would fetch that url, and dropped with the load.
    const batch = new Map();
    const record = await this.fetchRecord(url, importer, type, batch);
    await this.fetchGraph(record, batch);
    const parked = this.link(record);
    if (parked) await parked;
    return record;
  }

  // The module at `url` when importing it again has nothing to do: it and its cycle are evaluated.
  evaluatedModule(url) {
    const record = this.evaluatedModules.getModuleByUrl(url);
    if (record === undefined || record.status !== "evaluated") return undefined;
    return (record.cycleRoot || record).status === "evaluated" ? record : undefined;
  }

  clearCache() {
    for (const record of this.evaluatedModules.idToModuleMap.values()) this.traces.unregister(record);
    this.evaluatedModules.clear();
    this.forgotten = { forget: [], clear: true };
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
    this.forgotten.forget.push(record.id);
  }

  clearModules() {
    this.clearCache();
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

  // `batch`, for the first fetch of a load: it asks for the module's graph too (see load), which
  // joins the batch. Only that one asks: what a batch left out is fetched level by level, and a
  // module sent with one answer could be asked for meanwhile by a request of the same level.
  fetchRecord(specifier, importer, type, batch) {
    const known = this.evaluatedModules.getModuleByUrl(specifier);
    if (known && (importer === null || isAbsoluteUrl(specifier)) && !type) return Promise.resolve(known);
    let key = importer && !isAbsoluteUrl(specifier) ? `${importer.id}\0${specifier}` : specifier;
    if (type) key += `\0${type}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      // Null-prototype: fields added below are the object's own, whatever setter module code put on
      // Object.prototype (which would otherwise be handed the runner's state, and keep it from the host).
      const options = { __proto__: null, cached: false, startOffset: this.evaluator.startOffset, inlineSourceMap: false };
      if (type) options.attributes = { __proto__: null, type };
      if (batch) {
        options.graph = this.forgotten;
        this.forgotten = { forget: [] };
        // Keys to wrappers the engine's host keeps, in place of code or with it (host_compiler.js).
        if (this.hostCompiler && this.hostCompiler.keys) options.codeKeys = this.hostCompiler.keys;
      }
      pending = this.transport
        .invoke("fetchModule", [specifier, importer ? importer.id : undefined, options])
        .then((result) => {
          if (batch && result.graph) {
            for (const module of result.graph) if (!batch.has(module.url)) batch.set(module.url, module);
          }
          return this.recordFor(result, specifier);
        })
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
  // known (a worklist, not a recursion: graphs can be deep); rejects with the first failure. The
  // worklist is first in, first out: the modules a batch left out (those that failed on the host)
  // are asked for level by level, as without batches, so that the same failure comes first.
  fetchGraph(root, batch) {
    return new Promise((resolve, reject) => {
      const seen = new Set();
      const todo = [root];
      let next = 0; // todo's first record not yet taken
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
        while (next < todo.length) {
          const record = todo[next++];
          if (seen.has(record) || record.status !== "fetched") continue;
          seen.add(record);
          const resolved = record.meta && record.meta.resolved;
          const keys = record.staticSpecifiers();
          for (let i = 0; i < keys.length; i++) {
            const key = keys[i];
            const dep = record.deps.get(key);
            if (dep) {
              todo.push(dep);
              continue;
            }
            const url = resolved && Object.hasOwn(resolved, key) ? resolved[key] : undefined;
            // Held already, or sent with the graph: taken here, without a promise per module.
            const ready = url ? this.readyRecord(url, batch) : undefined;
            if (ready !== undefined) {
              record.deps.set(key, ready);
              ready.importers.add(record);
              todo.push(ready);
              continue;
            }
            const [specifier, type] = key.split("\0");
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
        fetchRequired(this, record, visit, batch).then(() => {
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

  // The record for a url this runner holds, or makes from the answer sent in `batch` (a url the
  // server handed out names one module whoever imports it: absolute).
  readyRecord(url, batch) {
    if (!isAbsoluteUrl(url)) return undefined;
    const known = this.evaluatedModules.getModuleByUrl(url);
    if (known !== undefined) return known;
    const sent = batch.get(url);
    return sent === undefined ? undefined : this.recordFor(sent, url);
  }

  // ---- link: the evaluator compiles, the linker resolves ----

  // `walked`: the modules and cycles found before the host compiled their wrappers.
  link(root, walked) {
    // Wrappers the host compiles (or has compiled before) come first; another load may link some
    // of these modules meanwhile, and then the graph is walked again: while none has left the
    // fetched state, the walk would find the same modules in the same order and the same cycles.
    const again = walked !== undefined && walked.pending.every((record) => record.status === "fetched");
    const { pending, cyclic } = again ? walked : linkOrder(root);
    if (pending.length === 0) return null;
    const compiled = this.hostCompiler && this.hostCompiler.request(pending, cyclic);
    if (compiled) return compiled.then(() => this.link(root, { pending, cyclic }));
    const fetched = this.hostCompiler && this.hostCompiler.fetchCode(pending, cyclic, this.transport);
    if (fetched) return fetched.then(() => this.link(root, { pending, cyclic }));
    for (const record of pending) this.compile(record, cyclic.has(record));
    for (const record of pending) resolveBindings(record);
    for (const record of pending) record.status = "linked";
    // Start the modules with a gate: they define their exports (and their hoisted functions become
    // callable, as in the spec), then wait at the gate for their turn. A synchronous module's
    // prologue runs here to its end; one with top-level await (in a cycle: nothing else can reach
    // its exports before its turn) takes ticks, and evaluation begins once each waits at its gate.
    const parked = [];
    for (const record of pending) {
      if (!record.gated) continue;
      record.body = this.start(record);
      if (record.sync) {
        record.body.next();
        continue;
      }
      parked.push(new Promise((resolve) => {
        record.parked = resolve;
        record.body.next().then(resolve, resolve); // a prologue that ends without reaching the gate
      }));
    }
    return parked.length ? whenAll(parked) : null;
  }

  compile(record, early) {
    if (record.wrapper) return;
    // The host's wrapper, where it compiled the same kind of wrapper (early or not) for this module.
    const given = record.hostWrapper && record.hostEarly === early ? record.hostWrapper : null;
    record.hostWrapper = null;
    this.evaluator.compile(record, early, given);
    this.traces.register(record);
    // A gated module is started in link(), whose first statements define every export it has.
    if (!record.gated) defineLocalBindings(record);
  }

  // ---- evaluate ----

  // The spec's Evaluate: a promise that settles when the module and its graph are evaluated.
  evaluate(record) {
    if (record.status === "evaluated" || record.status === "evaluating-async") record = record.cycleRoot || record;
    if (record.status === "errored") return Promise.reject(record.error);
    if (record.status === "evaluated") return RESOLVED;
    if (record.topLevel) return record.topLevel.promise;
    if (record.status === "evaluating") return RESOLVED; // being run by a walk under way: its partial exports
    const topLevel = {};
    topLevel.promise = new Promise((resolve, reject) => {
      topLevel.resolve = resolve;
      topLevel.reject = reject;
    });
    record.topLevel = topLevel;
    const stack = [];
    try {
      this.innerEvaluation(record, stack);
    } catch (error) {
      for (const member of stack) {
        member.status = "errored";
        member.error = error;
      }
      topLevel.reject(error);
      return topLevel.promise;
    }
    if (!record.asyncEvaluation) topLevel.resolve();
    return topLevel.promise;
  }

  // InnerModuleEvaluation, with its recursion kept on a list of frames ({record, deps, next}).
  innerEvaluation(root, stack) {
    if (root.status !== "linked") {
      if (root.status === "errored") throw root.error;
      return;
    }
    let index = 0;
    const frames = [];
    const enter = (record) => {
      record.status = "evaluating";
      record.dfsIndex = record.dfsAncestor = index++;
      record.pendingAsync = 0;
      stack.push(record);
      const deps = [];
      const keys = record.staticSpecifiers();
      for (let i = 0; i < keys.length; i++) {
        const dep = record.deps.get(keys[i]);
        if (dep) deps.push(dep);
      }
      frames.push({ record, deps, next: 0 });
    };
    // What the module learns from one dependency once that dependency's walk is done.
    const required = (record, dep) => {
      if (dep.status === "evaluating") {
        record.dfsAncestor = Math.min(record.dfsAncestor, dep.dfsAncestor);
      } else {
        dep = dep.cycleRoot || dep;
        if (dep.status === "errored") throw dep.error;
      }
      if (dep.asyncEvaluation) {
        record.pendingAsync++;
        (dep.asyncParents ||= []).push(record);
      }
    };
    enter(root);
    while (frames.length) {
      const frame = frames[frames.length - 1];
      const record = frame.record;
      if (frame.next < frame.deps.length) {
        const dep = frame.deps[frame.next++];
        if (dep.status === "errored") throw dep.error;
        if (dep.status === "linked") enter(dep);
        else required(record, dep);
        continue;
      }
      if (record.pendingAsync > 0 || !record.sync) {
        record.asyncEvaluation = ++this.asyncOrder;
        if (record.pendingAsync === 0) this.executeAsync(record);
      } else {
        this.executeSync(record);
      }
      if (record.dfsAncestor === record.dfsIndex) {
        let member;
        do {
          member = stack.pop();
          member.status = member.asyncEvaluation ? "evaluating-async" : "evaluated";
          member.cycleRoot = record;
        } while (member !== record);
      }
      frames.pop();
      if (frames.length) required(frames[frames.length - 1].record, record);
    }
  }

  // A module without top-level await runs its body to its end, here (ExecuteModule()).
  executeSync(record) {
    const body = record.body || this.start(record); // an ES module's generator; CommonJS runs in start()
    record.body = null;
    if (body) body.next();
    this.finalize(record);
  }

  // ExecuteAsyncModule: the body runs up to its first await here; what follows its end is queued.
  executeAsync(record) {
    const body = record.body;
    record.body = null;
    const fulfilled = () => this.asyncFulfilled(record);
    const rejected = (error) => this.asyncRejected(record, error);
    if (!body) {
      this.start(record).then(fulfilled, rejected);
      return;
    }
    // An async generator (esm_evaluator.js): its body's end calls `finished`.
    new Promise((resolve) => { record.finished = resolve; }).then(fulfilled);
    body.next().then(undefined, rejected);
  }

  // AsyncModuleExecutionFulfilled: the importers whose last async dependency this was run now, in
  // the order the walk reached them (those without top-level await here, in this job).
  asyncFulfilled(record) {
    if (record.status === "errored") return;
    this.asyncDone(record);
    const ready = [];
    const todo = [record];
    const gathered = new Set();
    while (todo.length) {
      for (const parent of todo.pop().asyncParents || NO_PARENTS) {
        if (gathered.has(parent) || (parent.cycleRoot || parent).status === "errored") continue;
        if (--parent.pendingAsync !== 0) continue;
        gathered.add(parent);
        ready.push(parent);
        if (parent.sync) todo.push(parent);
      }
    }
    ready.sort((a, b) => a.asyncEvaluation - b.asyncEvaluation);
    for (const module of ready) {
      if (module.status === "errored") continue;
      if (!module.sync) {
        this.executeAsync(module);
        continue;
      }
      try {
        this.executeSync(module);
      } catch (error) {
        this.asyncRejected(module, error);
        continue;
      }
      this.asyncDone(module);
    }
  }

  asyncDone(record) {
    if (!record.sync) this.finalize(record);
    record.asyncEvaluation = 0;
    record.status = "evaluated";
    if (record.topLevel) record.topLevel.resolve();
  }

  // AsyncModuleExecutionRejected: the module and every module waiting on it share the error.
  asyncRejected(record, error) {
    const todo = [record];
    while (todo.length) {
      const module = todo.pop();
      if (module.status === "errored") continue;
      module.status = "errored";
      module.error = error;
      for (const parent of module.asyncParents || NO_PARENTS) todo.push(parent);
      if (module.topLevel) module.topLevel.reject(error);
    }
  }

  // Does `record` wait, through modules not evaluated yet, on `target`? (runtime imports: a cycle)
  waitsOn(record, target) {
    const seen = new Set();
    const stack = [record];
    while (stack.length) {
      const current = stack.pop();
      if (current === target) return true;
      if (seen.has(current) || current.status === "evaluated" || current.status === "errored") continue;
      seen.add(current);
      for (const dep of current.deps.values()) stack.push(dep);
    }
    return false;
  }

  // Runs the module's wrapper (evaluator.run): a gated or synchronous module's generator, else the
  // promise of its body. A module that does not re-export through `export *` at run time (it came
  // with link metadata) gets a shared exportAll; only an async generator's body calls `finished`.
  start(record) {
    const early = record.gated && !record.sync;
    // A module whose code reads import.meta nowhere but at its gate (the host says so) gets none.
    const meta = early || !record.meta || record.meta.importMeta !== false ? this.importMeta(record)
      : this.noImportMeta(record);
    if (early) {
      // A module with top-level await started early (in a cycle) binds all its imports first, as
      // linking does in the spec, so that its hoisted functions can read them when another module
      // calls one; its `yield __vite_ssr_import_meta__` then awaits import.meta, which tells the
      // runner that it waits at its gate.
      Object.defineProperty(meta, "then", {
        configurable: true,
        value: (resolve) => {
          delete meta.then;
          record.parked();
          resolve(undefined);
        },
      });
    }
    return this.evaluator.run(
      record,
      meta,
      this.staticImport(record),
      (specifier, options) => this.dynamicImport(record, specifier, options),
      record.meta ? NO_STAR_EXPORTS : (namespace) => this.exportAll(record, namespace),
      this.exportName(record),
      early ? () => record.finished() : undefined,
    );
  }

  // The module's `__vite_ssr_import__(specifier, options)`, called once per import as it starts (one
  // call each: the engine's calls cost more than this body).
  staticImport(record) {
    const deps = record.deps;
    return (specifier, options) => {
      const type = options && options.attributes && options.attributes.type;
      const dep = deps.get(type ? `${specifier}\0${type}` : specifier);
      if (!dep) return this.runtimeImport(record, specifier);
      // Its imports are ready (linked): no promise beyond the `await` itself.
      return options && options.importedNames ? dep.exports : moduleNamespace(dep);
    };
  }

  // Code that did not come with link metadata (another server's transform): Vite's semantics.
  async runtimeImport(record, specifier) {
    const dep = await this.load(specifier, record);
    record.deps.set(specifier, dep);
    dep.importers.add(record);
    // A cycle back to the importer gives the partial exports, as Vite's runner does.
    if (!this.waitsOn(dep, record)) await this.evaluate(dep);
    return moduleNamespace(dep);
  }

  async dynamicImport(record, specifier, options) {
    const key = String(specifier);
    const type = options !== undefined ? checkImportOptions(options) : undefined;
    const resolved = !type && record.meta && record.meta.resolved;
    const url = resolved && Object.hasOwn(resolved, key) ? resolved[key] : undefined;
    const dep = await this.load(url || key, record, type);
    await this.evaluate(dep);
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

  // The module's `__vite_ssr_exportName__(name, getter)`, called once per export as it starts. With
  // link metadata, re-exports were bound at link time, and a name the module does not declare is not
  // exported; its own are "local" or "var" (linker.js), read here without a call per export.
  exportName(record) {
    const exports = record.exports;
    if (!record.meta) return (name, getter) => defineGetter(exports, name, getter);
    const entries = record.meta.exports;
    return (name, getter) => {
      const sent = Object.hasOwn(entries, name) ? entries[name] : undefined;
      if (typeof sent === "string") {
        defineGetter(exports, name, getter);
      }
    };
  }

  exportAll(record, namespace) {
    for (const key of Object.keys(namespace)) {
      if (key !== "default" && !(key in record.exports)) {
        defineGetter(record.exports, key, () => namespace[key]);
      }
    }
  }

  // After evaluation, bindings that are never reassigned become plain data properties: an
  // imported function called in a hot loop then costs a property read, not a getter call.
  finalize(record) {
    const constants = record.meta ? record.meta.constants : [];
    try {
      for (let i = 0; i < constants.length; i++) {
        const name = constants[i];
        CONSTANT.value = record.exports[name];
        Object.defineProperty(record.exports, name, CONSTANT);
      }
    } finally {
      CONSTANT.value = undefined; // holds no module's value
    }
    // As Vite does: no export appears or disappears after evaluation. Except where names come
    // through `export *`: the linker puts those on the exports object when they are first needed.
    if (!record.meta || record.meta.starExports.length === 0) Object.seal(record.exports);
  }

  // What a module that never reads import.meta is given in its place: nothing (its gate awaits, or
  // yields, undefined), and no hot context where HMR is on.
  noImportMeta(record) {
    if (this.hmrClient) this.hmrClient.release(record.url);
    return undefined;
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

// The importers waiting on a module as an async dependency, where none does (ModuleRecord.asyncParents).
const NO_PARENTS = Object.freeze([]);

// A module with link metadata had its star exports resolved at link time, with the spec's ambiguity
// rules: its `__vite_ssr_exportAll__` calls do nothing.
const NO_STAR_EXPORTS = () => {};

// The descriptor finalize() gives constants, made once (each export would otherwise cost an object
// literal); without a prototype, so that nothing module code puts on Object.prototype is read as a field.
const CONSTANT = Object.create(null);
CONSTANT.value = undefined;
CONSTANT.writable = false;
CONSTANT.enumerable = true;
CONSTANT.configurable = false;

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
