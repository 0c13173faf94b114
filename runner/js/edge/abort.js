// provides: defineAbort
// uses: illegalConstructor, ILLEGAL, trustedEvent

// AbortController and AbortSignal (DOM standard), with `reason`, `throwIfAborted`, and the static
// `abort`, `timeout` and `any`. No engine-neutral library has all of these (npm's
// abort-controller lacks reason, timeout and any), so they are ours, over event-target-shim.
// `setTimer(callback, ms)` is the runtime's setTimeout, looked up when `timeout` is called.

function defineAbort(Event, EventTarget, setTimer) {
  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    #onabort = null;
    #algorithms = new Set();
    #dependent = false;
    #sources = [];
    #dependents = [];

    constructor(token) {
      illegalConstructor(token, "AbortSignal");
      super();
    }

    get aborted() { return this.#check().#aborted; }
    get reason() { return this.#check().#reason; }

    throwIfAborted() {
      if (this.#check().#aborted) throw this.#reason;
    }

    get onabort() { return this.#check().#onabort; }
    set onabort(handler) {
      if (this.#onabort) this.removeEventListener("abort", this.#onabort);
      this.#onabort = typeof handler === "function" || (handler !== null && typeof handler === "object") ? handler : null;
      if (this.#onabort) this.addEventListener("abort", this.#onabort);
    }

    #check() {
      if (!(#aborted in this)) throw new TypeError("Illegal invocation: not an AbortSignal");
      return this;
    }

    static abort(reason) {
      const signal = new AbortSignal(ILLEGAL);
      signal.#aborted = true;
      signal.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
      return signal;
    }

    static timeout(milliseconds) {
      const ms = Number(milliseconds);
      if (!Number.isFinite(ms) || ms < 0 || ms > Number.MAX_SAFE_INTEGER) {
        throw new TypeError(`AbortSignal.timeout: ${milliseconds} is not a valid number of milliseconds`);
      }
      const signal = new AbortSignal(ILLEGAL);
      setTimer(() => signal.#signalAbort(new DOMException("The operation timed out.", "TimeoutError")), Math.trunc(ms));
      return signal;
    }

    static any(signals) {
      const list = [...signals];
      for (const item of list) {
        if (!(item instanceof AbortSignal)) throw new TypeError("AbortSignal.any: every item must be an AbortSignal");
      }
      const result = new AbortSignal(ILLEGAL);
      const aborted = list.find((item) => item.#aborted);
      if (aborted) {
        result.#aborted = true;
        result.#reason = aborted.#reason;
        return result;
      }
      result.#dependent = true;
      for (const item of list) {
        for (const source of item.#dependent ? item.#sources : [item]) {
          if (!result.#sources.includes(source)) {
            result.#sources.push(source);
            source.#dependents.push(result);
          }
        }
      }
      return result;
    }

    // Used by fetch, streams' pipeTo and other specs: run `algorithm` when aborted.
    static addAlgorithm(signal, algorithm) {
      if (!signal.#aborted) signal.#algorithms.add(algorithm);
    }

    static removeAlgorithm(signal, algorithm) {
      signal.#algorithms.delete(algorithm);
    }

    #signalAbort(reason) {
      if (this.#aborted) return;
      this.#aborted = true;
      this.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
      const dependents = [];
      for (const dependent of this.#dependents) {
        if (!dependent.#aborted) {
          dependent.#aborted = true;
          dependent.#reason = this.#reason;
          dependents.push(dependent);
        }
      }
      this.#runSteps();
      for (const dependent of dependents) dependent.#runSteps();
    }

    #runSteps() {
      for (const algorithm of this.#algorithms) algorithm();
      this.#algorithms.clear();
      this.dispatchEvent(trustedEvent(Event, "abort"));
    }

    static signalAbort(signal, reason) {
      signal.#signalAbort(reason);
    }
  }

  const signalAbort = AbortSignal.signalAbort;
  delete AbortSignal.signalAbort;
  const algorithms = { add: AbortSignal.addAlgorithm, remove: AbortSignal.removeAlgorithm };
  delete AbortSignal.addAlgorithm;
  delete AbortSignal.removeAlgorithm;

  class AbortController {
    #signal = new AbortSignal(ILLEGAL);
    get signal() { return this.#signal; }
    abort(reason) {
      if (!(this instanceof AbortController)) throw new TypeError("Illegal invocation: not an AbortController");
      signalAbort(this.#signal, reason);
    }
  }

  Object.defineProperty(AbortSignal.prototype, Symbol.toStringTag, { value: "AbortSignal", configurable: true });
  Object.defineProperty(AbortController.prototype, Symbol.toStringTag, { value: "AbortController", configurable: true });
  return { AbortController, AbortSignal, abortAlgorithms: algorithms };
}
