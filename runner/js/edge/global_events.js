// provides: defineGlobalEvents
// uses: defineGlobal, trustedEvent
// private: HANDLER_EVENTS

// The global object as an EventTarget, as a worker's is: addEventListener, removeEventListener,
// dispatchEvent and the onerror / onunhandledrejection / onrejectionhandled handlers, which the
// event loop's reports reach first (runner/js/event_loop.js): an ErrorEvent `error` for an uncaught
// exception, a cancelable `unhandledrejection` and a `rejectionhandled` for promises. A canceled
// event is not printed. The listeners live on an EventTarget made on first use, so a program that
// never listens pays nothing; an event's `target` is that object, not the global (event-target-shim
// keeps its state only for objects its own constructor made), but a listener's `this` is the global.

const HANDLER_EVENTS = ["error", "unhandledrejection", "rejectionhandled"];

function defineGlobalEvents(global, loop, web) {
  let target = null;
  const scope = () => (target ??= new web.EventTarget());
  // A function listener is called with `this` the global, as on a worker's global scope, not the
  // EventTarget that holds it: it is registered as a wrapper, the same one for the same function so
  // that removeEventListener and duplicate checks find it. (An object's handleEvent keeps the
  // object as `this`, as the DOM has it.)
  const wrappers = new WeakMap(); // listener function -> its wrapper
  const registered = (args) => {
    const callback = args[1];
    if (typeof callback !== "function") return args;
    let wrapper = wrappers.get(callback);
    if (wrapper === undefined) {
      wrapper = function (event) { return callback.call(global, event); };
      wrappers.set(callback, wrapper);
    }
    return [args[0], wrapper, ...Array.prototype.slice.call(args, 2)];
  };
  defineGlobal(global, "addEventListener", function addEventListener(type, callback) {
    return scope().addEventListener(...registered(arguments));
  });
  defineGlobal(global, "removeEventListener", function removeEventListener(type, callback) {
    return scope().removeEventListener(...registered(arguments));
  });
  defineGlobal(global, "dispatchEvent", function dispatchEvent(event) {
    return scope().dispatchEvent(...arguments);
  });

  // HTML's event handler attributes: one listener, added when a handler is first set, calls the
  // current one. `onerror` gets (message, filename, lineno, colno, error) and cancels by returning
  // true; the others get the event and cancel by returning false.
  for (const type of HANDLER_EVENTS) {
    let handler = null;
    let listening = false;
    const listener = (event) => {
      if (typeof handler !== "function") return;
      if (type === "error") {
        if (handler.call(global, event.message, event.filename, event.lineno, event.colno, event.error) === true) {
          event.preventDefault();
        }
      } else if (handler.call(global, event) === false) {
        event.preventDefault();
      }
    };
    Object.defineProperty(global, `on${type}`, {
      get() { return handler; },
      set(value) {
        handler = value !== null && (typeof value === "object" || typeof value === "function") ? value : null;
        if (handler !== null && !listening) {
          listening = true;
          scope().addEventListener(type, listener);
        }
      },
      enumerable: true, configurable: true,
    });
  }

  // Dispatched only once something listens; the answer is whether the loop should still print.
  loop.onError = (error) => {
    if (target === null) return true;
    let message = "Uncaught";
    try { message = `Uncaught ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`; } catch {}
    return target.dispatchEvent(trustedEvent(web.ErrorEvent, "error", { message, error, cancelable: true }));
  };
  loop.onUnhandledRejection = (promise, reason) => {
    if (target === null) return true;
    return target.dispatchEvent(trustedEvent(web.PromiseRejectionEvent, "unhandledrejection", { promise, reason, cancelable: true }));
  };
  loop.onRejectionHandled = (promise, reason) => {
    if (target !== null) target.dispatchEvent(trustedEvent(web.PromiseRejectionEvent, "rejectionhandled", { promise, reason }));
  };
}
