// provides: installProfile
// uses: PROTOCOL, installConsole, defineGlobalEvents, LIBRARIES, loadUnit, defineGlobal, defineLazyGlobals, defineEvents, defineAbort, defineBlob, defineFormData, defineHeaders, defineRequest, defineResponse, defineFetch, defineDispatch, defineCrypto, lockCodeGeneration, explainNodeGlobals
// private: USER_AGENT, definePerformance

// The `edge` profile: the WinterTC Minimum Common API (ECMA-429). Third-party libraries (the units
// of LIBRARIES) provide URL, URLPattern, the encodings, the streams, Event and
// EventTarget, structuredClone and compression; the rest is ours (edge/*.js) or the engine's
// (DOMException, atob, btoa; performance over its clock), and the event loop (timers, queueMicrotask, reportError). Interfaces are defined when a program
// first touches them; `config.preload` defines them all at boot (for a snapshot that holds them).

const USER_AGENT = "modrun";

function installProfile(global, transport, config, loop) {
  loop.print = installConsole(global, transport, config);
  // The profile's own interfaces by name, whatever a program later does to the globals.
  const web = Object.create(null);
  const settlers = [];
  const group = (names, produce) => {
    const settle = defineLazyGlobals(global, names, produce);
    for (const name of names) {
      Object.defineProperty(web, name, { get() { const values = settle(); return values === null ? undefined : values[name]; } });
    }
    settlers.push(settle);
  };

  for (const [name, unit] of Object.entries(LIBRARIES.units)) {
    if (!unit.provides.length) continue;
    group(unit.provides, () => {
      const exports = loadUnit(name);
      if (name === "events") {
        exports.setWarningHandler(() => {}); // browsers do not warn about ignored options either
        exports.setErrorHandler((error) => loop.reportException(error)); // a listener that throws
      }
      return exports;
    });
  }
  group(["CustomEvent", "ErrorEvent", "PromiseRejectionEvent", "MessageEvent", "MessagePort", "MessageChannel"],
    () => defineEvents(web.Event, web.EventTarget, (callback) => loop.queueTask(callback), (value, options) => web.structuredClone(value, options)));
  group(["AbortController", "AbortSignal"], () => defineAbort(web.Event, web.EventTarget,
    (callback, ms) => loop.setTimer(callback, ms, [], false, 0)));
  group(["Blob", "File"], () => defineBlob(web));
  group(["FormData"], () => defineFormData(web.Blob, web.File));
  group(["Headers"], () => defineHeaders());
  group(["Request"], () => defineRequest(web));
  group(["Response"], () => defineResponse(web));
  group(["fetch"], () => defineFetch(web, transport));

  const startClock = definePerformance(global);
  const crypto = defineCrypto(transport);
  transport.on(PROTOCOL.seedEvent, (data) => {
    crypto.seed(data.seed);
    startClock();
  });
  web.randomBytes = crypto.randomBytes;
  for (const name of ["crypto", "Crypto", "SubtleCrypto", "CryptoKey"]) defineGlobal(global, name, crypto[name]);

  defineGlobal(global, "self", global);
  class Navigator {
    get userAgent() { return USER_AGENT; }
  }
  Object.defineProperty(Navigator.prototype, Symbol.toStringTag, { value: "Navigator", configurable: true });
  defineGlobal(global, "Navigator", Navigator);
  defineGlobal(global, "navigator", new Navigator());
  loop.install(global, ["setTimeout", "setInterval", "clearTimeout", "clearInterval", "queueMicrotask", "reportError"]);
  defineGlobalEvents(global, loop, web);

  lockCodeGeneration(global);
  loop.compileStrings = false; // a string given to setTimeout is code generation too
  explainNodeGlobals(config.profile);
  if (config.preload) for (const settle of settlers) settle();
  // What the host API needs of the profile: fetch-handler dispatch (Request and Response).
  return { dispatch: defineDispatch(web) };
}

// The engine's `performance` is a plain object whose timeOrigin is a monotonic reading, not the
// epoch time HR-Time asks for; ECMA-429 has it an instance of the Performance interface. The time
// origin is the runtime's start: set again when the host starts it (`start`), so that a runtime
// restored from a snapshot does not count from when the snapshot was made.
function definePerformance(global) {
  const engine = global.performance;
  const engineNow = engine.now;
  let origin = 0;
  let timeOrigin = 0;
  const start = () => {
    origin = engineNow.call(engine);
    timeOrigin = Date.now();
  };
  class Performance {
    constructor() { throw new TypeError("Illegal constructor"); }
    get timeOrigin() { return timeOrigin; }
    now() { return engineNow.call(engine) - origin; }
    toJSON() { return { timeOrigin }; }
  }
  Object.defineProperty(Performance.prototype, Symbol.toStringTag, { value: "Performance", configurable: true });
  defineGlobal(global, "Performance", Performance);
  defineGlobal(global, "performance", Object.create(Performance.prototype));
  start();
  return start;
}
