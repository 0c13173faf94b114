// provides: defineDOMException
// uses: defineGlobal
// private: CAUSES

// DOMException is the engine's (QuickJS-ng), which takes its second argument only as a name. Web
// IDL's constructor also takes an options dictionary, `{name, cause}`: the engine's constructor
// is wrapped so that it does, with `cause` an accessor on the prototype (an instance has no own
// `cause`, as for `name` and `message`). Everything else stays the engine's: the prototype, its
// getters, brand checks and the code constants.

const CAUSES = new WeakMap(); // DOMException -> the cause it was given

function defineDOMException(global) {
  const Engine = global.DOMException;
  const wrapped = new Proxy(Engine, {
    construct(target, args, newTarget) {
      const [message, options] = args;
      if (args.length < 2 || options === undefined || (typeof options !== "object" && typeof options !== "function")) {
        return Reflect.construct(target, args, newTarget === wrapped ? target : newTarget);
      }
      const name = options.name === undefined ? "Error" : String(options.name);
      const hasCause = options !== null && "cause" in options;
      const cause = hasCause ? options.cause : undefined;
      const exception = Reflect.construct(target, [message, name], newTarget === wrapped ? target : newTarget);
      if (hasCause) CAUSES.set(exception, cause);
      return exception;
    },
  });
  Object.defineProperty(Engine.prototype, "constructor", { value: wrapped, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(Engine.prototype, "cause", {
    get() { return CAUSES.get(this); },
    configurable: true, enumerable: true,
  });
  defineGlobal(global, "DOMException", wrapped);
}
