// provides: HostCompiler
// uses:

// Wrappers compiled by the engine's host (evaluators/compiled_code.py), for a runtime booted with
// `hostCompiles`: before linking, the runner asks for the wrappers of the modules it is about to
// link and waits. The host, when the runtime is idle (`drain` answers PROTOCOL.drainCompile),
// takes the wrappers' sources one by one with `next()` (or all at once with `takeAll()`) and
// answers them all, in order, with one `compiled(...)`: a function, or undefined where it has none (the runner then compiles the
// module itself, which also reports its syntax errors). The host compiles the wrapper's source (the
// text the engine's Function constructor compiles, and the function's toString shows) after `0,`: a
// script whose value is the function. Not in parentheses, as the constructor puts it: after a `(`,
// QuickJS reads ahead to the matching `)` to tell an arrow function, which for a wrapper is the whole
// module read twice (a sixth of its compile).
//
// With `keys` (an engine whose host keeps wrappers by key), the runner's graph fetches ask for keys
// (runner/rpc/code_keys.py): "instead" of code, where the host holds wrappers by key, else
// "alongside" it. A record sent with a key and no code is asked for by its wrapper key alone (the
// evaluator's wrapperKey: the code's key, how the module starts, the wrapper format), a record with
// both by its key, a newline and its source (the host keeps the wrapper under the key). Where the
// host had none for a key, the runner fetches the code (fetchCode) and asks again with it.

class HostCompiler {
  constructor(evaluator, keys) {
    this.evaluator = evaluator;
    this.keys = keys === "instead" || keys === "alongside" ? keys : null;
    this.queue = []; // records waiting to be handed to the host
    this.handed = []; // records handed, in order, waiting for `compiled`
    this.waiting = []; // what each request's promise resolves
  }

  get pending() {
    return this.queue.length !== 0;
  }

  // A promise that settles once the host has answered for these records, or null when none
  // needs a wrapper (each record is asked for once). `early`: the records that will be started
  // before their turn, whose wrappers are of another kind (esm_evaluator.js).
  request(records, early) {
    let asked = 0;
    for (const record of records) {
      if (record.wrapper || record.hostSource !== undefined) continue;
      const started = early.has(record);
      const key = record.codeKey === undefined ? undefined : this.evaluator.wrapperKey(record, started);
      if (record.code === undefined) {
        if (key === undefined) continue; // fetchCode brings its code
        record.hostSource = key;
      } else {
        const source = "0," + this.evaluator.wrapperSource(record, started);
        record.hostSource = key === undefined ? source : key + "\n" + source;
      }
      record.hostEarly = started;
      this.queue.push(record);
      asked++;
    }
    if (asked === 0) return null;
    return new Promise((resolve) => { this.waiting.push(resolve); });
  }

  // A promise that settles once the records sent without code that the host gave no wrapper for
  // have their code, or null when none lacks it; they are asked for again (with the code) by the
  // next request().
  fetchCode(records, early, transport) {
    const missing = [];
    for (const record of records) {
      if (record.code !== undefined || record.wrapper) continue;
      if (record.hostWrapper && record.hostEarly === early.has(record)) continue;
      missing.push(record);
    }
    if (missing.length === 0) return null;
    return transport.invoke("fetchCode", [missing.map((record) => record.codeKey)]).then((codes) => {
      for (let i = 0; i < missing.length; i++) {
        const code = codes[i];
        if (typeof code !== "string") throw new Error(`the host no longer has the code of ${missing[i].id}`);
        missing[i].code = code;
        missing[i].hostSource = undefined;
      }
    });
  }

  next() {
    const record = this.queue.shift();
    if (record === undefined) return null;
    this.handed.push(record);
    // A flat copy: a joined string can be a rope, which not every binding can read.
    return record.hostSource.slice(0);
  }

  // Every waiting record's source in one string, for an engine where each call into the runtime
  // costs (wasm): the sources' lengths in UTF-16 code units, comma-separated, a newline, then the
  // sources one after the other; "" when none waits. The records are handed, as by next().
  takeAll() {
    const records = this.queue;
    this.queue = [];
    if (records.length === 0) return "";
    const lengths = [];
    const parts = [""];
    for (const record of records) {
      this.handed.push(record);
      lengths.push(record.hostSource.length);
      parts.push(record.hostSource);
    }
    parts[0] = lengths.join(",") + "\n";
    return parts.join(""); // one flat string (join, not +, which can make a rope)
  }

  compiled(...wrappers) {
    const handed = this.handed;
    const waiting = this.waiting;
    this.handed = [];
    this.waiting = [];
    for (let i = 0; i < handed.length; i++) {
      // The module runner adopts it when it compiles the module; null: asked, not compiled.
      handed[i].hostWrapper = typeof wrappers[i] === "function" ? wrappers[i] : null;
      handed[i].hostSource = null;
    }
    for (const resolve of waiting) resolve();
  }
}
