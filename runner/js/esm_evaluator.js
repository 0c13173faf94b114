// provides: ESModulesEvaluator
// uses:
// private: AsyncFunction, CONTEXT_NAMES, USE_STRICT

// Runs runner-format code as Vite's ESModulesEvaluator does: a module's code is the body of an
// async function of Vite's six context names. The function's header (the engine's text) and a
// "use strict" line come before the module's line 1; `startOffset` counts them, and the source
// maps fetchModule sends, compile errors and stack traces all take it from here.

const AsyncFunction = (async function () {}).constructor;
const CONTEXT_NAMES = [
  "__vite_ssr_exports__", "__vite_ssr_import_meta__", "__vite_ssr_import__",
  "__vite_ssr_dynamic_import__", "__vite_ssr_exportAll__", "__vite_ssr_exportName__",
];
// On a line of its own, so that the module's columns are not shifted.
const USE_STRICT = "\"use strict\";\n";

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
  }

  // Sets the record's wrapper (and its source, for stack traces); a syntax error is thrown
  // located in the module.
  compile(record) {
    try {
      record.wrapper = new AsyncFunction(...CONTEXT_NAMES, USE_STRICT + record.code);
    } catch (error) {
      throw this.compileError(record, error);
    }
    record.wrapperSource = this.wrapperSource(record);
  }

  // The text of the module's wrapper, as the engine's Function constructor makes it.
  wrapperSource(record) {
    return this.prefix + record.code + this.suffix;
  }

  // Starts the module's code with its context (in CONTEXT_NAMES order); the promise settles when
  // the code has run to its end.
  run(record, importMeta, ssrImport, ssrDynamicImport, ssrExportAll, ssrExportName) {
    return record.wrapper.call(undefined, record.exports, importMeta, ssrImport, ssrDynamicImport, ssrExportAll,
      ssrExportName);
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
