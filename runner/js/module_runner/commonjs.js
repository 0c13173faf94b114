// provides: FormatEvaluator, fetchRequired, linkRequired
// uses: createNamespace, moduleNamespace
// private: CJS_PARAMS, DYNAMIC_IMPORT_PARAM, CommonJSEvaluator, isCommonJS, isJson, requireFailure, notSeen, requiredNamespace

// CommonJS modules in the runner. The server sends a CommonJS module (format "commonjs" in its
// link metadata) with the literal require() calls it found; they are fetched with the module, in
// the same round of requests as everything else at its level (fetchRequired), so that `require`
// can answer synchronously from records the runner already holds:
//   - a CommonJS module runs at its first require, inside the requiring code, as in Node; a
//     module required again while it runs (a cycle) gives its partial `module.exports`;
//   - an ES module (or JSON) that a CommonJS module requires, directly or through other CommonJS
//     modules, is evaluated before that module runs (linkRequired makes it a dependency), and
//     require() gives its namespace (JSON: its value), as Node's require(esm) does;
//   - a require that failed to resolve or load throws where it is called (code may catch it), and
//     one the server did not see (a computed name) throws a MODULE_NOT_FOUND that says why.
// Seen from an ES module, a CommonJS module exports `default` (its module.exports) and the names
// Node's lexer finds, read from module.exports once it has run.

const CJS_PARAMS = ["exports", "require", "module", "__filename", "__dirname"];
const DYNAMIC_IMPORT_PARAM = "__vite_ssr_dynamic_import__";

function isCommonJS(record) {
  return Boolean(record.meta && record.meta.format === "commonjs");
}

function isJson(record) {
  return /\.json$/.test(record.id) || /\?type=json$/.test(record.id);
}

// fetchGraph's part for a CommonJS module: fetch what it requires, keeping failures for the call.
async function fetchRequired(runner, record, visit, batch) {
  const meta = record.meta;
  const resolved = meta.required || {};
  const unresolved = meta.unresolved || {};
  const required = new Map();
  record.required = required;
  await Promise.all((meta.requires || []).map(async ({ specifier }) => {
    const url = resolved[specifier];
    if (!url) {
      required.set(specifier, { failure: unresolved[specifier] || { message: `Cannot find module '${specifier}'` } });
      return;
    }
    let dep;
    try {
      dep = runner.readyRecord(url, batch) || await runner.fetchRecord(url, record);
    } catch (error) {
      required.set(specifier, { error });
      return;
    }
    required.set(specifier, { record: dep });
    dep.importers.add(record);
    await visit(dep);
  }));
}

// After a graph is fetched: the ES modules each new CommonJS module requires (directly or through
// other CommonJS modules) become its dependencies, evaluated before it runs.
function linkRequired(records) {
  for (const record of records) {
    if (!isCommonJS(record) || record.status !== "fetched" || !record.required) continue;
    const keys = [];
    const seen = new Set([record]);
    const walk = (current) => {
      if (!current.required) return;
      for (const entry of current.required.values()) {
        const dep = entry.record;
        if (!dep || seen.has(dep)) continue;
        seen.add(dep);
        if (isCommonJS(dep)) {
          walk(dep);
        } else {
          const key = `\0require\0${dep.id}`;
          record.deps.set(key, dep);
          keys.push(key);
        }
      }
    };
    walk(record);
    record.meta.deps = keys;
  }
}

// Made where require() is called, so that its stack points there.
function requireFailure(payload) {
  const error = new Error(payload.message);
  error.code = "MODULE_NOT_FOUND";
  if (payload.reason) error.reason = payload.reason;
  return error;
}

function notSeen(record, specifier) {
  const error = new Error(
    `Cannot find module '${specifier}' required from ${record.file}: modrun fetches what a CommonJS module ` +
    "requires ahead of time, from its require(\"…\") calls with a literal string, and this require was not " +
    "one of them (its name is computed at run time, or it sits in a branch the mode leaves out)");
  error.code = "MODULE_NOT_FOUND";
  return error;
}

// Node's require(esm): the namespace, with `__esModule: true` added when the module has a
// default export (so that code compiled from ES modules reads its `default`).
function requiredNamespace(record) {
  if (!record.requireNamespace) {
    const namespace = moduleNamespace(record);
    const names = Object.keys(namespace);
    if (!names.includes("default") || names.includes("__esModule")) {
      record.requireNamespace = namespace;
    } else {
      const exportsObject = Object.create(null);
      for (const name of names) {
        Object.defineProperty(exportsObject, name, { get: () => namespace[name], enumerable: true });
      }
      Object.defineProperty(exportsObject, "__esModule", { value: true, enumerable: true });
      const listed = names.concat(["__esModule"]);
      const known = new Set(listed);
      record.requireNamespace = createNamespace(exportsObject, () => listed, (name) => known.has(name));
    }
  }
  return record.requireNamespace;
}

class CommonJSEvaluator {
  constructor(esm) {
    this.esm = esm; // the ES module evaluator: its line offset, and how it locates compile errors
    this.runner = null;
    this.cache = Object.create(null); // require.cache: filename -> module
    this.main = undefined;
    this.shapes = new Map(); // parameter list -> {prefix, suffix} of the engine's function text
  }

  shape(params) {
    const key = params.join(",");
    let shape = this.shapes.get(key);
    if (!shape) {
      const probe = "/*code*/";
      const text = String(new Function(...params, probe));
      const body = text.indexOf(probe);
      const header = text.slice(0, body);
      // As many lines before line 1 as an ES module's wrapper has: fetchModule shifted the map by them.
      const padding = "\n".repeat(Math.max(0, this.esm.startOffset - (header.split("\n").length - 1)));
      shape = { padding, prefix: header + padding, suffix: text.slice(body + probe.length) };
      this.shapes.set(key, shape);
    }
    return shape;
  }

  params(record) {
    return record.meta.dynamicImport ? CJS_PARAMS.concat([DYNAMIC_IMPORT_PARAM]) : CJS_PARAMS;
  }

  // `given`: a wrapper the host compiled from wrapperSource (host_compiler.js).
  compile(record, given) {
    const params = this.params(record);
    const shape = this.shape(params);
    try {
      record.wrapper = given || new Function(...params, shape.padding + record.code);
    } catch (error) {
      throw this.esm.compileError(record, error, this.wrapperSource(record));
    }
    record.wrapperSource = this.wrapperSource(record);
    record.sync = true;
  }

  wrapperSource(record) {
    const shape = this.shape(this.params(record));
    return shape.prefix + record.code + shape.suffix;
  }

  // The module runner's turn for this module (its ES dependencies have been evaluated): it runs now.
  run(record, importMeta, ssrImport, ssrDynamicImport) {
    record.dynamicImport = ssrDynamicImport;
    this.execute(record);
  }

  // Runs the module once and gives its `module` object (while it runs: the partial one).
  execute(record) {
    // Done or running (a cycle: the partial exports), unless code deleted it from require.cache,
    // which makes the next require run it again, as in Node.
    if (record.cjsModule && this.cache[record.file] === record.cjsModule) return record.cjsModule;
    if (!record.wrapper) this.runner.compile(record, false);
    const filename = record.file;
    const slash = filename.lastIndexOf("/");
    const dirname = slash > 0 ? filename.slice(0, slash) : "/";
    const module = {
      id: filename, path: dirname, filename, exports: {}, loaded: false, children: [], paths: [],
      parent: undefined, require: undefined,
    };
    const require = this.makeRequire(record, module);
    module.require = require;
    if (this.main === undefined && record.importers.size === 0) this.main = module;
    record.cjsModule = module;
    this.cache[filename] = module;
    const managed = record.status === "evaluating"; // the runner's evaluate() owns the status
    if (!managed) record.status = "evaluating";
    const dynamicImport = record.dynamicImport ||
      ((specifier, options) => this.runner.dynamicImport(record, specifier, options));
    try {
      record.wrapper.call(module.exports, module.exports, require, module, filename, dirname, dynamicImport);
    } catch (error) {
      // As Node: a module that threw is forgotten, and the next require runs it again.
      record.cjsModule = null;
      delete this.cache[filename];
      if (!managed) record.status = "linked";
      throw error;
    }
    module.loaded = true;
    if (!record.published) this.publish(record, module.exports); // what an ES module sees is set once
    if (!managed) record.status = "evaluated";
    return module;
  }

  // The exports an ES module sees: `default` is module.exports, the lexer's names are read from it
  // (own properties only, as Node does; a getter that throws gives undefined).
  publish(record, exportsValue) {
    const holder = exportsValue !== null && (typeof exportsValue === "object" || typeof exportsValue === "function");
    for (const name of Object.keys(record.meta.exports)) {
      let value;
      if (name === "default") {
        value = exportsValue;
      } else if (holder && Object.prototype.hasOwnProperty.call(exportsValue, name)) {
        try {
          value = exportsValue[name];
        } catch {
          value = undefined;
        }
      }
      Object.defineProperty(record.exports, name, { value, writable: true, enumerable: true, configurable: true });
    }
    record.published = true;
  }

  makeRequire(record, module) {
    const require = (specifier) => this.require(record, specifier, module);
    require.resolve = (specifier) => {
      const files = record.meta.files || {};
      if (typeof specifier === "string" && files[specifier]) return files[specifier];
      const entry = record.required && record.required.get(specifier);
      if (entry && entry.record) return entry.record.file;
      if (entry && entry.failure) throw requireFailure(entry.failure);
      if (entry && entry.error) throw entry.error;
      throw notSeen(record, specifier);
    };
    require.cache = this.cache;
    Object.defineProperty(require, "main", { get: () => this.main, enumerable: true });
    return require;
  }

  require(record, specifier, module) {
    if (typeof specifier !== "string") {
      const error = new TypeError(`The "id" argument must be of type string. Received ${typeof specifier}`);
      error.code = "ERR_INVALID_ARG_TYPE";
      throw error;
    }
    const entry = record.required && record.required.get(specifier);
    if (!entry) throw notSeen(record, specifier);
    if (entry.failure) throw requireFailure(entry.failure);
    if (entry.error) throw entry.error;
    const dep = entry.record;
    if (isCommonJS(dep)) {
      const child = this.execute(dep);
      if (!module.children.includes(child)) module.children.push(child);
      return child.exports;
    }
    if (dep.status === "errored") throw dep.error;
    if (dep.status !== "evaluated") {
      const error = new Error(
        `Cannot require() ES module ${dep.file} from ${record.file}: it has not finished evaluating (it waits ` +
        "for top-level await, or it is in an import cycle with the module that requires it)");
      error.code = "ERR_REQUIRE_ASYNC_MODULE";
      throw error;
    }
    return isJson(dep) ? dep.exports.default : requiredNamespace(dep);
  }
}

// The module runner's evaluator: ES modules to the ES module evaluator, CommonJS ones to ours.
class FormatEvaluator {
  constructor(esm) {
    this.esm = esm;
    this.commonjs = new CommonJSEvaluator(esm);
    this.startOffset = esm.startOffset;
  }

  attach(runner) {
    this.commonjs.runner = runner;
    this.esm.traces = runner.traces; // where a compile's syntax error is (compileError)
  }

  compile(record, early, given) {
    return isCommonJS(record) ? this.commonjs.compile(record, given) : this.esm.compile(record, early, given);
  }

  wrapperSource(record, early) {
    return isCommonJS(record) ? this.commonjs.wrapperSource(record) : this.esm.wrapperSource(record, early);
  }

  // Only ES modules are sent keys (runner/rpc/code_keys.py): a CommonJS one has none.
  wrapperKey(record, early) {
    return isCommonJS(record) ? undefined : this.esm.wrapperKey(record, early);
  }

  run(record, importMeta, ssrImport, ssrDynamicImport, ssrExportAll, ssrExportName, finished) {
    if (isCommonJS(record)) return this.commonjs.run(record, importMeta, ssrImport, ssrDynamicImport);
    return this.esm.run(record, importMeta, ssrImport, ssrDynamicImport, ssrExportAll, ssrExportName, finished);
  }
}
