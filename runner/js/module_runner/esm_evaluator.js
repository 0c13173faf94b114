// provides: ESModulesEvaluator
// uses:
// private: AsyncFunction, GeneratorFunction, AsyncGeneratorFunction, CONTEXT_NAMES, USE_STRICT, GATE, FINISH, prologueAwaits, stringEnd, awaitsOf, textDigest

// Runs runner-format code as Vite's ESModulesEvaluator does: a module's code is the body of an
// async function of Vite's six context names. The function's header (the engine's text) and a
// "use strict" line come before the module's line 1; `startOffset` counts them, and the source
// maps fetchModule sends, compile errors and stack traces all take it from here.
//
// A module that came with link metadata has its imports bound before it runs, so the `await`s of
// its prologue (every import, and the `await __vite_ssr_import_meta__` that ends it) only cost
// ticks: the spec runs a module's body, up to its first await of its own, in one job. Such a
// module is compiled with those `await`s blanked (the same length of spaces: positions and source
// maps are unchanged); one without top-level await becomes a generator whose prologue ends at a
// `yield` (the gate), and whose body then runs to its end in one call of `next()`. A module with
// top-level await that is started early (in a cycle) becomes an async generator the same way (its
// `next()` at the gate resumes the body at once, up to its first await); its end calls one more
// parameter, FINISH, as the promise of `next()` settles through an iteration result, whose `then`
// module code may have put on Object.prototype.

const AsyncFunction = (async function () {}).constructor;
const GeneratorFunction = (function* () {}).constructor;
const AsyncGeneratorFunction = (async function* () {}).constructor;
const CONTEXT_NAMES = [
  "__vite_ssr_exports__", "__vite_ssr_import_meta__", "__vite_ssr_import__",
  "__vite_ssr_dynamic_import__", "__vite_ssr_exportAll__", "__vite_ssr_exportName__",
];
// On a line of its own, so that the module's columns are not shifted.
const USE_STRICT = "\"use strict\";\n";
const GATE = "await __vite_ssr_import_meta__;";
const FINISH = "__modrun_module_finished__";

// Where the prologue's `await`s are (the gate last), or null when the code has none. The prologue
// is the transform's own text, statements whose only strings are JSON strings, ended by the gate.
// Searched with indexOf, which runs in the engine's C, not character by character in JS.
// Each search resumes where the last one stopped, so the prologue is read once.
function prologueAwaits(code) {
  const found = [];
  let at = code.indexOf("await ");
  let opening = code.indexOf("\"");
  for (;;) {
    if (at < 0) return null;
    if (opening >= 0 && opening < at) {
      const end = stringEnd(code, opening + 1);
      if (end < 0) return null;
      opening = code.indexOf("\"", end + 1);
      if (at <= end) at = code.indexOf("await ", end + 1); // that one was inside the string
      continue;
    }
    found.push(at);
    if (code.startsWith(GATE, at)) return found;
    at = code.indexOf("await ", at + 1);
  }
}

// The prologue's awaits: where the host found them (`meta.awaits`, by the same walk, once per
// transform: runner/transform_request.py), checked against the code, else found here.
function awaitsOf(code, meta) {
  const given = meta.awaits;
  const last = given ? given.length - 1 : -1;
  if (last < 0 || !code.startsWith(GATE, given[last])) return prologueAwaits(code);
  for (let i = 0; i < last; i++) if (!code.startsWith("await ", given[i])) return prologueAwaits(code);
  return given.slice();
}

// The closing quote of a JSON string whose text begins at `start`, or -1.
function stringEnd(code, start) {
  for (let from = start; ;) {
    const closing = code.indexOf("\"", from);
    if (closing < 0) return -1;
    let escapes = 0;
    while (code[closing - 1 - escapes] === "\\") escapes++;
    if (escapes % 2 === 0) return closing;
    from = closing + 1;
  }
}

// A digest of text (two 32-bit FNV-1a hashes with different bases), in hex: names the wrapper format
// in wrapper keys. Not a defence against anyone: both texts it tells apart are the runner's own.
function textDigest(text) {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    a = Math.imul(a ^ unit, 0x01000193);
    b = Math.imul(b ^ unit, 0x5bd1e995);
  }
  return (a >>> 0).toString(16) + (b >>> 0).toString(16);
}

class ESModulesEvaluator {
  constructor() {
    // The engine's own text around a body (as Function.prototype.toString shows it), so that
    // line numbers in a module's wrapper source are the ones the engine reports.
    const probe = "/*code*/";
    const text = String(new AsyncFunction(...CONTEXT_NAMES, probe));
    const body = text.indexOf(probe);
    this.prefix = text.slice(0, body) + USE_STRICT;
    this.suffix = text.slice(body + probe.length);
    this.startOffset = this.prefix.split("\n").length - 1;
    this.traces = null; // the runner's StackTraces (FormatEvaluator.attach)
    this.prefixes = new Map([[AsyncFunction, this.prefix]]);
    // The wrapper format (see wrapperKey), read before any module runs; its digest when first asked for.
    this.formatText = [...this.prefixes.values(), this.suffix, String(this.shape)].join("\0");
    this.format = null;
    for (const kind of [GeneratorFunction, AsyncGeneratorFunction]) {
      const names = kind === AsyncGeneratorFunction ? [...CONTEXT_NAMES, FINISH] : CONTEXT_NAMES;
      const header = String(new kind(...names, probe));
      this.prefixes.set(kind, header.slice(0, header.indexOf(probe)) + USE_STRICT);
    }
  }

  // The module's wrapper (see above): its function kind, parameter names, body and source text.
  // `early`: the module will be started before its turn. `sync`: it has no top-level await;
  // `gated`: the wrapper is a generator (see run()).
  shape(record, early) {
    let code = record.code;
    const meta = record.meta;
    const awaits = meta && meta.imports.length ? awaitsOf(code, meta) : null;
    const sync = Boolean(meta) && !meta.hasTLA;
    if (awaits) {
      const gate = awaits.pop();
      let text = "";
      let from = 0;
      for (const at of awaits) {
        text += code.slice(from, at) + "     ";
        from = at + 5;
      }
      const keep = sync || early ? "yield" : "     ";
      code = text + code.slice(from, gate) + keep + code.slice(gate + 5);
    }
    const gated = Boolean(awaits) && (sync || early);
    const kind = sync ? GeneratorFunction : gated ? AsyncGeneratorFunction : AsyncFunction;
    const names = kind === AsyncGeneratorFunction ? [...CONTEXT_NAMES, FINISH] : CONTEXT_NAMES;
    if (kind === AsyncGeneratorFunction) code += `\n;${FINISH}();`;
    return { early, sync, gated, kind, names, code, source: this.prefixes.get(kind) + code + this.suffix };
  }

  // The text of the module's wrapper, as the engine's function constructors make it (what the
  // host compiles in their place: host_compiler.js).
  wrapperSource(record, early) {
    const shape = this.shape(record, early);
    record.shaped = shape; // kept for compile(), which needs the same
    return shape.source;
  }

  // What names the module's wrapper without its code (host_compiler.js): the host's key for the
  // code and its link metadata (runner/rpc/code_keys.py), whether the module is started early (which
  // changes only the wrapper of one with top-level await), and the wrapper format: the engine's text
  // around a body and shape()'s own text, so that a runner that shapes wrappers otherwise never
  // takes another's.
  wrapperKey(record, early) {
    if (this.format === null) this.format = textDigest(this.formatText);
    return `K${this.format}:${early && record.meta.hasTLA ? "e" : "l"}:${record.codeKey}`;
  }

  // Sets the record's wrapper (`given`: one the host compiled from wrapperSource) and its source,
  // for stack traces, and `record.sync` and `record.gated`; a syntax error is thrown located in
  // the module. A record without code has a wrapper the host gave by key: its awaits are where its
  // metadata says (the host checked them), and its source is the wrapper's own text.
  compile(record, early, given) {
    if (record.code === undefined) {
      const meta = record.meta;
      record.sync = !meta.hasTLA;
      record.gated = meta.imports.length !== 0 && (record.sync || early);
      record.wrapper = given;
      record.wrapperSource = null;
      return;
    }
    const kept = record.shaped;
    record.shaped = null;
    const shape = kept && kept.early === early ? kept : this.shape(record, early);
    record.sync = shape.sync;
    record.gated = shape.gated;
    try {
      record.wrapper = given || new shape.kind(...shape.names, USE_STRICT + shape.code);
    } catch (error) {
      throw this.compileError(record, error, shape.source);
    }
    record.wrapperSource = shape.source;
  }

  // Starts the module's code with its context (in CONTEXT_NAMES order): a gated or synchronous
  // module's generator (nothing has run yet), else the promise that settles when the code has run
  // to its end. `finished`: called at the end of an async generator's body.
  run(record, importMeta, ssrImport, ssrDynamicImport, ssrExportAll, ssrExportName, finished) {
    return record.wrapper.call(undefined, record.exports, importMeta, ssrImport, ssrDynamicImport, ssrExportAll,
      ssrExportName, finished);
  }

  // The error of compiling the module's wrapper (`source`, its text), located in the module: where
  // the parser stopped, through the module's source map.
  compileError(record, error, source) {
    const position = this.traces.parsePosition(error, source);
    const located = new SyntaxError(error.message);
    let where = record.file;
    if (position) {
      const [line, column] = position;
      const original = record.originalPosition(line, column);
      const loc = original
        ? { file: original.source || record.file, line: original.line, column: original.column }
        : { file: record.file, line: line - this.startOffset, column };
      located.loc = loc;
      where = `${loc.file}:${loc.line}:${loc.column}`;
    }
    located.code = "ERR_PARSE";
    located.id = record.id;
    Object.defineProperty(located, "stack", { value: `SyntaxError: ${error.message}\n    at ${where}`, writable: true, configurable: true });
    return located;
  }
}
