// provides: createHostApi
// uses: HostFailure, errorToPayload, safeString, answer, toJsonText, moduleNamespace
// private: describe, toWire, wireValue, globalEval, CompileOnly

// What the host may ask of a runtime: import a module, call an export, read a value, clear the
// cache, list the timers still pending. Results cross as JSON; exported functions cross as markers the host turns into
// callables. A value JSON cannot carry is an error naming where it is, never a silent null.

// Taken before a profile can lock code generation down (the edge profile does): scripts the host
// runs are the host's code, not the module's.
const globalEval = globalThis.eval;
// Compiles a function body without running it (regExpError below).
const CompileOnly = (async function () {}).constructor;

function createHostApi(runner, loop, profile) {
  const recordFor = (url) => {
    const record = runner.evaluatedModules.getModuleByUrl(url) || runner.evaluatedModules.getModuleById(url);
    if (!record || record.status !== "evaluated") throw new Error(`module ${url} has not been imported`);
    return record;
  };

  const dispatcher = () => {
    if (!profile.dispatch) {
      throw new HostFailure("usage", new TypeError("dispatch_fetch needs the edge profile (Request and Response); " +
        "this runtime's profile has neither"));
    }
    return profile.dispatch;
  };

  // A module's export names, as Object.keys of its namespace lists them: fixed once first listed
  // (namespace.js), so kept for the next import of the same module, which skips the namespace's
  // traps (a descriptor per name).
  const namesOf = new WeakMap();
  const exportNames = (record) => {
    let names = namesOf.get(record);
    if (names === undefined) {
      names = Object.keys(moduleNamespace(record));
      namesOf.set(record, names);
    }
    return names;
  };

  const pendingCalls = new Map();
  let lastPending = 0;

  const invoke = (url, path, args) => {
    const { holder, value } = lookup(url, path);
    if (typeof value !== "function") throw new TypeError(`${path.join(".")} is not a function`);
    return value.apply(holder, args);
  };

  // A call's answer as JSON text: its result, or {pending: id} for a promise.
  const settle = (result) => {
    try {
      if (result !== null && (typeof result === "object" || typeof result === "function") &&
          typeof result.then === "function") {
        const id = ++lastPending;
        // Handled from now on: a rejection before the host asks for it (awaitCall) is the
        // call's answer, not an unhandled rejection.
        const promise = Promise.resolve(result);
        promise.then(undefined, () => {});
        pendingCalls.set(id, promise);
        return toJsonText({ pending: id });
      }
      return toJsonText({ result: toWire(result, "the result") });
    } catch (error) {
      return toJsonText({ error: errorToPayload(error, "js") });
    }
  };

  const lookup = (url, path) => {
    let holder;
    // The plain exports object holds the same live values as the namespace, without its Proxy.
    let value = recordFor(url).exports;
    for (let i = 0; i < path.length; i++) {
      holder = i === 0 ? undefined : value; // an exported function is called with `this` undefined
      if (value === null || value === undefined) throw new TypeError(`cannot read '${path[i]}' of ${value}`);
      value = value[path[i]];
    }
    return { holder, value };
  };

  // What `import` answers for an evaluated module: its url, export names and their values.
  const imported = (record) => {
    runner.entryUrls.add(record.url);
    const names = exportNames(record);
    const values = Object.create(null);
    for (const name of names) {
      try {
        values[name] = describe(record.exports[name], [name], new Set());
      } catch (error) {
        values[name] = { $modrun: "opaque", type: "getter", text: `[reading it threw ${safeString(error, "an error")}]` };
      }
    }
    return { url: record.url, exports: names, values };
  };

  const importing = async (url) => {
    let record;
    try {
      record = await runner.load(url, null);
    } catch (error) {
      throw new HostFailure("load", error);
    }
    try {
      await runner.evaluate(record);
    } catch (error) {
      throw new HostFailure("js", error);
    }
    return answer(imported(record));
  };

  return {
    // A module evaluated already is answered at once, with no promise (the transport replies to a
    // plain value as it is), where loading and evaluating it again would only cost ticks.
    import(url) {
      const done = runner.evaluatedModule(url);
      return done === undefined ? importing(url) : imported(done);
    },

    async call(url, path, args) {
      try {
        const result = await invoke(url, path, args);
        return answer(toWire(result, "the result"));
      } catch (error) {
        throw new HostFailure("js", error);
      }
    },

    // The direct path (runtimes the host can enter synchronously). `callNow` takes the path and
    // the arguments as JSON and answers JSON text; `callDirect` takes an export's name and plain
    // arguments as they are (numbers, strings, booleans, null) and answers a plain result as it
    // is (undefined and non-finite numbers as null, as JSON has them), anything else as
    // [JSON text]. A function that returns a promise is answered {pending: id}, which
    // `awaitCall(id)` then waits for.
    callNow(url, requestJson) {
      try {
        const [path, args] = JSON.parse(requestJson);
        return settle(invoke(url, path, args));
      } catch (error) {
        return toJsonText({ error: errorToPayload(error, "js") });
      }
    },

    callDirect(url, name, args) {
      let result;
      try {
        result = invoke(url, [name], args);
      } catch (error) {
        return [toJsonText({ error: errorToPayload(error, "js") })];
      }
      switch (typeof result) {
        case "string": case "boolean": return result;
        case "number": return Number.isFinite(result) ? result : null;
        case "undefined": return null;
      }
      return result === null ? null : [settle(result)];
    },

    async awaitCall(id) {
      const pending = pendingCalls.get(id);
      pendingCalls.delete(id);
      try {
        return answer(toWire(await pending, "the result"));
      } catch (error) {
        throw new HostFailure("js", error);
      }
    },

    get(url, path) {
      try {
        return describe(lookup(url, path).value, path, new Set());
      } catch (error) {
        throw new HostFailure("js", error);
      }
    },

    // Classic scripts, run as global code one after the other in one task (as a worker's
    // importScripts() does: no microtask runs between them), until one throws; their import()
    // calls (rewritten by the server to __modrun_dynamic_import__) load modules relative to them.
    evalScript(...codes) {
      runner.installScriptImport();
      try {
        for (const code of codes) globalEval(code);
      } catch (error) {
        const parse = error instanceof SyntaxError && runner.traces.isEvalParseError(error);
        if (parse) {
          try { error.code = "ERR_PARSE"; } catch {}
        }
        throw new HostFailure(parse ? "load" : "js", error);
      }
      return null;
    },

    clearCache() {
      runner.clearCache();
      return null;
    },

    // The first of `literals` (a module's regular expression literals, as the host's parse found
    // them) the engine does not compile, as [index, message]; null where every one compiles. QuickJS
    // gives its errors in a pattern or its flags no position: this is how the host places them
    // (runner/compile_errors.py). Each is compiled alone, never run.
    regExpError(literals) {
      for (let at = 0; at < literals.length; at++) {
        try {
          new CompileOnly(`"use strict"; return ${literals[at]};`);
        } catch (error) {
          return [at, safeString(error && error.message, "")];
        }
      }
      return null;
    },

    // An HMR payload from the environment, applied in turn (hmr_client.js); answers its report.
    async hmr(payload) {
      if (!runner.hmrClient) throw new HostFailure("usage", new Error("HMR is off in this runtime"));
      return answer(await runner.hmrClient.handle(payload));
    },

    pendingTimers() {
      return loop.pendingTimers();
    },

    // Fetch-handler dispatch (edge/dispatch.js): the entry's default export handles a request.
    async dispatchFetch(url, request) {
      const dispatch = dispatcher();
      let exported;
      try {
        exported = recordFor(url).exports.default;
      } catch (error) {
        throw new HostFailure("usage", error);
      }
      try {
        return answer(await dispatch.fetch(exported, url, request, await runner.bindings.env()));
      } catch (error) {
        throw new HostFailure("js", error);
      }
    },

    async readBody(id) {
      try {
        return answer(await dispatcher().readBody(id));
      } catch (error) {
        throw new HostFailure("js", error);
      }
    },

    cancelBody(id) {
      return dispatcher().cancelBody(id);
    },

    async settleWaits(id) {
      return answer(await dispatcher().settleWaits(id));
    },

    // The names the profile defines on the global object (what `modrun check` treats as provided).
    globalNames() {
      return Object.getOwnPropertyNames(globalThis);
    },
  };
}

// Exports as data; functions (also inside objects) become markers with their path. `seen`: the
// objects being described around this one.
function describe(value, path, seen) {
  switch (typeof value) {
    case "function": return { $modrun: "function", path, name: value.name };
    case "undefined": return null;
    case "bigint": case "symbol": return { $modrun: "opaque", type: typeof value, text: safeString(value, typeof value) };
    case "number": return Number.isFinite(value) ? value : { $modrun: "opaque", type: "number", text: String(value) };
    case "object": break;
    default: return value;
  }
  if (value === null) return null;
  if (seen.has(value)) return { $modrun: "opaque", type: "cyclic", text: "[Circular]" };
  if (Array.isArray(value)) {
    seen.add(value);
    const items = value.map((item, i) => describe(item, path.concat([i]), seen));
    seen.delete(value);
    return items;
  }
  if (typeof value.toJSON === "function") return toWire(value, path.join("."));
  seen.add(value);
  const out = Object.create(null); // so that a key "__proto__" stays a key
  for (const key of Object.keys(value)) {
    let item;
    try {
      item = value[key];
    } catch (error) {
      // A getter that throws (say, a missing setting) must not fail the whole import.
      out[key] = { $modrun: "opaque", type: "getter", text: `[getter threw ${safeString(error, "an error")}]` };
      continue;
    }
    out[key] = describe(item, path.concat([key]), seen);
  }
  seen.delete(value);
  return out;
}

// Strict JSON: what JSON.stringify would silently drop or throw on is named.
function toWire(value, where) {
  const type = typeof value;
  if (type === "string" || type === "boolean") return value; // the common case, kept cheap
  if (type === "number") return Number.isFinite(value) ? value : null;
  return wireValue(value, where, new Set());
}

function wireValue(v, at, seen) {
  switch (typeof v) {
    case "function": throw new TypeError(`${at} is a function, which JSON cannot carry`);
    case "symbol": throw new TypeError(`${at} is a symbol, which JSON cannot carry`);
    case "bigint": throw new TypeError(`${at} is a BigInt (${v}n), which JSON cannot carry`);
    case "undefined": return null;
    case "number": return Number.isFinite(v) ? v : null;
    case "object": break;
    default: return v;
  }
  if (v === null) return null;
  if (typeof v.toJSON === "function") return wireValue(v.toJSON(), at, seen);
  if (seen.has(v)) throw new TypeError(`${at} is a cyclic object, which JSON cannot carry`);
  seen.add(v);
  let out;
  if (Array.isArray(v)) {
    out = [];
    for (let i = 0; i < v.length; i++) out.push(wireValue(v[i], `${at}[${i}]`, seen));
  } else {
    out = Object.create(null); // so that a key "__proto__" stays a key
    for (const key of Object.keys(v)) {
      const item = v[key];
      if (item === undefined) continue; // as JSON.stringify does
      out[key] = wireValue(item, `${at}.${key}`, seen);
    }
  }
  seen.delete(v);
  return out;
}
