// provides: EvaluatedModules, ModuleRecord, RESOLVED, whenAll
// uses: SourceMap
// private: MODULE_TAG

// The modules a runner has fetched (Vite's EvaluatedModules), and the record of one module (Vite's
// EvaluatedModuleNode, here also with its link and evaluation state).

// A settled promise that also means "nothing to wait for": compared by identity, so that a module
// that is ready costs no extra tick.
const RESOLVED = Promise.resolve();

// Promise.all without its array of values, in as many ticks: Promise.all settles with a new Array,
// whose `then` module code may have put on Object.prototype (the runner would then wait on it).
function whenAll(promises) {
  return new Promise((resolve, reject) => {
    let left = promises.length;
    if (left === 0) resolve();
    for (const promise of promises) promise.then(() => { if (--left === 0) resolve(); }, reject);
  });
}

// The exports object's @@toStringTag, one descriptor for every module (without a prototype, so
// that nothing module code puts on Object.prototype is read as a field).
const MODULE_TAG = Object.create(null);
MODULE_TAG.value = "Module";

class ModuleRecord {
  constructor(result) {
    this.url = result.url;
    this.id = result.id;
    this.file = result.file || result.id;
    this.code = result.code; // undefined where the host sent a key in its place, until needed (host_compiler.js)
    this.codeKey = result.codeKey;
    this.meta = result.modrun || null;
    this.map = result.map || null; // as sent; a SourceMap once an error is first mapped
    this.exports = Object.create(null);
    Object.defineProperty(this.exports, Symbol.toStringTag, MODULE_TAG);
    this.status = "fetched"; // fetched -> linked -> evaluating -> [evaluating-async ->] evaluated | errored
    this.deps = new Map(); // specifier -> ModuleRecord (static imports and re-exports)
    this.importers = new Set();
    this.wrapper = null;
    this.wrapperSource = ""; // null for a wrapper taken by key: its text, when asked for, is the function's own
    this.shaped = null; // the evaluator's wrapper shape, made for the host's compiler, until compiled
    // The host's compiler (host_compiler.js): the source asked for (null once answered), whether it
    // was asked for as a module started early, and its answer.
    this.hostSource = undefined;
    this.hostEarly = false;
    this.hostWrapper = null;
    this.sync = false; // no top-level await: the wrapper runs the body in one go (set by the evaluator)
    this.gated = false; // its prologue ends at a gate, where it waits for its turn once started
    this.body = null; // a gated or synchronous module's generator, once started
    // The spec's evaluation state (ModuleRunner.evaluate): its place in the depth-first walk, the
    // root of its cycle and how many async dependencies it waits on (more on the prototype, below).
    this.dfsIndex = 0;
    this.dfsAncestor = 0;
    this.linkWalk = 0; // linker.js's linkOrder (which also uses dfsIndex and dfsAncestor)
    this.linkOpen = false;
    this.cycleRoot = null;
    this.pendingAsync = 0;
    this.importMeta = null;
  }

  originalPosition(line, column) {
    if (!this.map) return null;
    try {
      if (!(this.map instanceof SourceMap)) this.map = new SourceMap(this.map);
      return this.map.originalPosition(line, column);
    } catch {
      return null;
    }
  }

  staticSpecifiers() {
    return this.meta ? this.meta.deps : [];
  }
}

// Records settle the runner's promises: none may inherit a `then` that module code put on Object.prototype.
Object.setPrototypeOf(ModuleRecord.prototype, null);

// The fields most records never set, at their defaults: one becomes a record's own when first set
// (a record is made for every module a runtime imports: each field made here is a property added to
// each). None is a mutable object: those are made where first needed.
Object.assign(ModuleRecord.prototype, {
  namespaceObject: null,
  resolutions: null, // name -> ResolveExport's answer, kept by the linker
  table: null, // the export table (names and answers), built by the linker when needed
  parked: null, // called once a module with top-level await started early waits at its gate
  finished: null, // called when such a module's body has run to its end
  error: undefined,
  // [[AsyncEvaluation]] (an order, 0 for false), the importers waiting on it as an async dependency
  // (null for none yet) and the promise of an evaluation that began with it.
  asyncEvaluation: 0,
  asyncParents: null,
  topLevel: null,
  otherUrls: null, // the absolute urls other than its own it is known by in EvaluatedModules
});

class EvaluatedModules {
  constructor() {
    this.idToModuleMap = new Map();
    this.urlToIdModuleMap = new Map(); // a module's own url, and the absolute urls it was imported by
    // file -> Set of records (one file, several queries or types); made from idToModuleMap when first
    // asked for (by HMR), not kept up by each of a fresh runtime's hundreds of new records before then.
    this.fileToModulesMap = null;
  }

  getModuleById(id) {
    return this.idToModuleMap.get(id);
  }

  getModuleByUrl(url) {
    return this.urlToIdModuleMap.get(url);
  }

  getModulesByFile(file) {
    if (this.fileToModulesMap === null) {
      this.fileToModulesMap = new Map();
      for (const record of this.idToModuleMap.values()) this.addByFile(record);
    }
    return this.fileToModulesMap.get(file);
  }

  addByFile(record) {
    const sameFile = this.fileToModulesMap.get(record.file);
    if (sameFile) sameFile.add(record);
    else this.fileToModulesMap.set(record.file, new Set().add(record)); // (no array to iterate)
  }

  // The record for a fetchModule result, created on first sight; `url`, when given, is an
  // absolute url it was imported by (a relative specifier names it only beside its importer).
  ensureModule(result, url) {
    let record = this.idToModuleMap.get(result.id);
    if (!record) {
      record = new ModuleRecord(result);
      this.idToModuleMap.set(record.id, record);
      this.urlToIdModuleMap.set(record.url, record);
      if (this.fileToModulesMap !== null) this.addByFile(record);
    }
    if (url !== undefined && this.urlToIdModuleMap.get(url) !== record) {
      this.urlToIdModuleMap.set(url, record);
      if (url !== record.url) (record.otherUrls ||= []).push(url);
    }
    return record;
  }

  // Forget a module: the next import of it fetches and evaluates it anew. A linked record cannot
  // be reset in place as Vite resets its nodes: its importers hold it, and their bindings read
  // its exports; they keep the instance they were linked with until they are invalidated too.
  invalidateModule(record) {
    if (this.idToModuleMap.get(record.id) === record) this.idToModuleMap.delete(record.id);
    if (this.urlToIdModuleMap.get(record.url) === record) this.urlToIdModuleMap.delete(record.url);
    for (const url of record.otherUrls || []) if (this.urlToIdModuleMap.get(url) === record) this.urlToIdModuleMap.delete(url);
    const sameFile = this.fileToModulesMap === null ? undefined : this.fileToModulesMap.get(record.file);
    if (sameFile && sameFile.delete(record) && sameFile.size === 0) this.fileToModulesMap.delete(record.file);
  }

  clear() {
    this.idToModuleMap.clear();
    this.urlToIdModuleMap.clear();
    this.fileToModulesMap = null;
  }
}
