// provides: installProfile
// uses: PROTOCOL, installConsole, defineGlobalEvents, LIBRARIES, loadUnit, defineGlobal, defineLazyGlobals, defineEvents, defineAbort, defineBlob, defineFormData, defineHeaders, defineRequest, defineResponse, defineFetch, defineDispatch, defineCrypto, lockCodeGeneration, explainMissingGlobals
// private: USER_AGENT, definePerformance, defineDOMException, completeEvents, cloneErrorsAsDataCloneError, withoutEmptyChunks

// The `edge` profile: the WinterTC Minimum Common API (ECMA-429). Third-party libraries (the units
// of LIBRARIES) provide URL, URLPattern, the encodings, the streams, Event and
// EventTarget, structuredClone and compression; the rest is ours (edge/*.js) or the engine's
// (DOMException, with Web IDL's options wrapped around it; atob, btoa; performance over its clock), and the event loop (timers, queueMicrotask, reportError). Interfaces are defined when a program
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
      if (name === "streams") {
        // web-streams-polyfill's async iterator prototype is a plain object; Web IDL has it
        // inherit %AsyncIteratorPrototype% (whose @@asyncIterator returns the iterator).
        const prototype = Object.getPrototypeOf(new exports.ReadableStream().values());
        delete prototype[Symbol.asyncIterator];
        Object.setPrototypeOf(prototype, Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype));
      }
      if (name === "encoding") {
        exports.setMultibyte((...args) => loadUnit("multibyte").createMultibyteDecoder(...args),
          (...args) => loadUnit("multibyte").multibyteEncoder(...args));
      }
      if (name === "compression") {
        const Base = withoutEmptyChunks(web.TransformStream);
        return { CompressionStream: exports.makeCompressionStream(Base), DecompressionStream: exports.makeDecompressionStream(Base) };
      }
      if (name === "structuredClone") return { structuredClone: cloneErrorsAsDataCloneError(exports.structuredClone) };
      if (name === "events") {
        exports.setWarningHandler(() => {}); // browsers do not warn about ignored options either
        exports.setErrorHandler((error) => loop.reportException(error)); // what the shim itself reports
        return completeEvents(exports, (error) => loop.reportException(error));
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

  defineDOMException(global);
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
  explainMissingGlobals(config.profile);
  if (config.preload) for (const settle of settlers) settle();
  // What the host API needs of the profile: fetch-handler dispatch (Request and Response).
  return { dispatch: defineDispatch(web) };
}

// compression-streams-polyfill enqueues every chunk fflate hands it, empty ones too (an empty input
// decompressed); the Compression standard enqueues only output that has bytes. Its classes are
// made over a TransformStream whose controller, as the polyfill sees it, drops the empty ones.
function withoutEmptyChunks(TransformStream) {
  return class CompressionTransformStream extends TransformStream {
    constructor(transformer, writableStrategy, readableStrategy) {
      const { start } = transformer;
      super({
        ...transformer,
        start: (controller) => start({
          enqueue(chunk) { if (!(ArrayBuffer.isView(chunk) && chunk.byteLength === 0)) controller.enqueue(chunk); },
          error(reason) { controller.error(reason); },
          terminate() { controller.terminate(); },
          get desiredSize() { return controller.desiredSize; },
        }),
      }, writableStrategy, readableStrategy);
    }
  };
}

// core-js's structuredClone reads a view's length, which QuickJS refuses with a TypeError when the
// view's buffer is detached or shrunk under it; HTML has serializing such a view a DataCloneError.
function cloneErrorsAsDataCloneError(structuredClone) {
  return {
    structuredClone(value, options = undefined) {
      try {
        return Reflect.apply(structuredClone, this, arguments);
      } catch (error) {
        if (error instanceof TypeError && /^ArrayBuffer is detached or resized$/.test(error.message)) {
          throw new DOMException(`structuredClone: ${error.message}: a view out of its buffer's bounds cannot be cloned`, "DataCloneError");
        }
        throw error;
      }
    },
  }.structuredClone;
}

// What the DOM has and event-target-shim leaves out: Event's and initEvent's type are required; an
// addEventListener `signal` member, when present, must be an AbortSignal (not null); an object
// listener's handleEvent is looked up at each dispatch, and one that is not callable is a TypeError
// (the shim skips it silently); what a listener throws is reported as thrown (the shim wraps a
// non-Error in an Error). Each listener is registered as one function of ours, the same for the
// same listener, so removal and duplicate checks still match. Returns the unit's exports with
// Event wrapped to require its type.
function completeEvents(exports, report) {
  const { Event, EventTarget } = exports;
  const shimInitEvent = Event.prototype.initEvent;
  const shimAddEventListener = EventTarget.prototype.addEventListener;
  const shimRemoveEventListener = EventTarget.prototype.removeEventListener;
  const method = (target, name, value) => {
    Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
  };
  method(Event.prototype, "initEvent", function initEvent(type) {
    if (arguments.length === 0) throw new TypeError("Event.initEvent: the type argument is required");
    return Reflect.apply(shimInitEvent, this, arguments);
  });
  const handlers = new WeakMap(); // listener -> the function registered for it
  const registered = (args) => {
    const callback = args[1];
    if (callback === null || (typeof callback !== "object" && typeof callback !== "function")) return args;
    let handler = handlers.get(callback);
    if (handler === undefined) {
      handler = function (event) {
        try {
          if (typeof callback === "function") return Reflect.apply(callback, this, [event]);
          const handleEvent = callback.handleEvent;
          if (typeof handleEvent !== "function") throw new TypeError("the event listener's handleEvent is not callable");
          return Reflect.apply(handleEvent, callback, [event]);
        } catch (error) {
          report(error);
        }
      };
      handlers.set(callback, handler);
    }
    return [args[0], handler, ...Array.prototype.slice.call(args, 2)];
  };
  method(EventTarget.prototype, "addEventListener", function addEventListener(type, callback) {
    const options = arguments[2];
    if (options !== null && typeof options === "object" && "signal" in options && options.signal === null) {
      throw new TypeError("addEventListener: the signal option must be an AbortSignal, not null");
    }
    return Reflect.apply(shimAddEventListener, this, registered(arguments));
  });
  method(EventTarget.prototype, "removeEventListener", function removeEventListener(type, callback) {
    return Reflect.apply(shimRemoveEventListener, this, registered(arguments));
  });
  const RequiredType = new Proxy(Event, {
    construct(target, args, newTarget) {
      if (args.length === 0) throw new TypeError("Event: the type argument is required");
      return Reflect.construct(target, args, newTarget === RequiredType ? target : newTarget);
    },
  });
  Object.defineProperty(Event.prototype, "constructor", { value: RequiredType, writable: true, configurable: true, enumerable: false });
  return { ...exports, Event: RequiredType };
}

// DOMException is the engine's (QuickJS-ng), which takes its second argument only as a name. Web
// IDL's constructor also takes an options dictionary, `{name, cause}`: the engine's constructor
// is wrapped so that it does, with `cause` an accessor on the prototype (an instance has no own
// `cause`, as for `name` and `message`). Everything else stays the engine's: the prototype, its
// getters, brand checks and the code constants.
function defineDOMException(global) {
  const causes = new WeakMap(); // DOMException -> the cause it was given
  const Engine = global.DOMException;
  const wrapped = new Proxy(Engine, {
    construct(target, args, newTarget) {
      const [message, given] = args;
      if (args.length < 2 || given === undefined || (typeof given !== "object" && typeof given !== "function")) {
        return Reflect.construct(target, args, newTarget === wrapped ? target : newTarget);
      }
      const options = given ?? {}; // null is the empty dictionary, as Web IDL converts it
      const name = options.name === undefined ? "Error" : String(options.name);
      const hasCause = "cause" in options;
      const cause = hasCause ? options.cause : undefined;
      const exception = Reflect.construct(target, [message, name], newTarget === wrapped ? target : newTarget);
      if (hasCause) causes.set(exception, cause);
      return exception;
    },
  });
  Object.defineProperty(Engine.prototype, "constructor", { value: wrapped, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(Engine.prototype, "cause", {
    get() { return causes.get(this); },
    configurable: true, enumerable: true,
  });
  defineGlobal(global, "DOMException", wrapped);
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
