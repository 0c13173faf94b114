// provides: lockCodeGeneration, explainMissingGlobals
// uses: ERROR_HINTS
// private: CODE_GENERATION_MESSAGE, NODE_GLOBALS, ENGINE_GAPS

// What edge runtimes refuse, refused here first with their words. Code generation from strings:
// `eval`, `new Function` and the other function constructors throw the EvalError workerd and
// Vercel's edge runtime throw (the runner took its own references before this runs). Node's
// globals stay absent (so `typeof process` feature checks keep working), and the ReferenceError a
// program gets for using one says that it is Node's and what the edge has instead. So does the one for
// what edge runtimes have and QuickJS lacks: it is modrun's gap, not the program's.

const CODE_GENERATION_MESSAGE = "Code generation from strings disallowed for this context";

const NODE_GLOBALS = {
  process: "use the environment's bindings for configuration (process.env does not exist on the edge)",
  Buffer: "use Uint8Array, TextEncoder/TextDecoder and atob/btoa",
  require: "use import (CommonJS require() does not exist on the edge)",
  module: "use export (CommonJS module.exports does not exist on the edge)",
  exports: "use export (CommonJS exports does not exist on the edge)",
  __dirname: "use import.meta.url",
  __filename: "use import.meta.url",
  global: "use globalThis",
  setImmediate: "use setTimeout(callback, 0) or queueMicrotask",
  clearImmediate: "use clearTimeout",
};

const ENGINE_GAPS = {
  Intl: "Intl, the ECMAScript Internationalization API, is missing from modrun's QuickJS runtimes, which have no " +
    "ICU; edge runtimes have it, so code that formats with it runs there but cannot run here",
};

function lockCodeGeneration(global) {
  const refuse = () => { throw new EvalError(CODE_GENERATION_MESSAGE); };
  const sample = {
    Function: function () {},
    AsyncFunction: async function () {},
    GeneratorFunction: function* () {},
    AsyncGeneratorFunction: async function* () {},
  };
  for (const [name, fn] of Object.entries(sample)) {
    const prototype = Object.getPrototypeOf(fn);
    // A stand-in with the constructor's name and prototype: instanceof and .prototype still work.
    const standIn = { [name]: function () { return refuse(); } }[name];
    Object.defineProperty(standIn, "prototype", { value: prototype, writable: false, enumerable: false, configurable: false });
    Object.defineProperty(prototype, "constructor", { value: standIn, writable: true, enumerable: false, configurable: true });
    if (name === "Function") {
      Object.defineProperty(global, "Function", { value: standIn, writable: true, enumerable: false, configurable: true });
    }
  }
  // A property key gives the stand-in the name `eval`, which strict code may not bind.
  const evalStandIn = { eval: function () { return refuse(); } }.eval;
  Object.defineProperty(global, "eval", { value: evalStandIn, writable: true, enumerable: false, configurable: true });
}

function explainMissingGlobals(profileName) {
  ERROR_HINTS.push((payload) => {
    if (payload.name !== "ReferenceError") return;
    const match = /^'?([\w$]+)'? is not defined$/.exec(payload.message);
    if (!match || !(match[1] in NODE_GLOBALS || match[1] in ENGINE_GAPS)) return;
    const name = match[1];
    const hint = name in ENGINE_GAPS ? ` (${ENGINE_GAPS[name]})`
      : ` (${name} is Node.js's, not available in the ${profileName} profile: ${NODE_GLOBALS[name]})`;
    const head = `${payload.name}: ${payload.message}`;
    payload.message += hint;
    if (typeof payload.stack === "string" && payload.stack.startsWith(head)) {
      payload.stack = `${payload.name}: ${payload.message}${payload.stack.slice(head.length)}`;
    }
  });
}
