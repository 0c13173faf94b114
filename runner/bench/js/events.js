// Events for the adapters: an EventTarget where the runtime has none (QuickJS's bare profile), and
// the on/off/emit emitter benchmark.js users call.
// provides: EventTargetBase, EventBase, Emitter

class MinimalEventTarget {
  #listeners = new Map();

  addEventListener(type, listener, options) {
    if (listener === null || listener === undefined) return;
    const list = this.#listeners.get(type) || [];
    if (list.some((l) => l.listener === listener)) return;
    list.push({ listener, once: typeof options === "object" && options !== null && Boolean(options.once) });
    this.#listeners.set(type, list);
  }

  removeEventListener(type, listener) {
    const list = this.#listeners.get(type);
    if (list) this.#listeners.set(type, list.filter((l) => l.listener !== listener));
  }

  dispatchEvent(event) {
    for (const entry of [...(this.#listeners.get(event.type) || [])]) {
      if (entry.once) this.removeEventListener(event.type, entry.listener);
      if (typeof entry.listener === "function") entry.listener.call(this, event);
      else entry.listener.handleEvent(event);
    }
    return true;
  }
}

class MinimalEvent {
  constructor(type) {
    this.type = type;
    this.timeStamp = globalThis.performance.now();
  }
}

export const EventTargetBase = typeof globalThis.EventTarget === "function" ? globalThis.EventTarget : MinimalEventTarget;
export const EventBase = typeof globalThis.Event === "function" ? globalThis.Event : MinimalEvent;

/** benchmark.js's emitter: `on("cycle complete", fn)`, `off`, `emit`, `listeners`; a listener
 * returning false cancels the event, as there. A function constructor, as benchmark.js's own types
 * (Benchmark, Suite) are: they call it on themselves. */
export function Emitter() {
  Object.defineProperty(this, "events", { value: Object.create(null), writable: true, enumerable: false });
}

Emitter.prototype.on = function on(type, listener) {
  for (const name of String(type).split(" ").filter(Boolean)) (this.events[name] ||= []).push(listener);
  return this;
};

Emitter.prototype.off = function off(type, listener) {
  if (type === undefined) {
    this.events = Object.create(null);
    return this;
  }
  for (const name of String(type).split(" ").filter(Boolean)) {
    if (listener === undefined) delete this.events[name];
    else if (this.events[name]) this.events[name] = this.events[name].filter((l) => l !== listener);
  }
  return this;
};

Emitter.prototype.listeners = function listeners(type) {
  return (this.events[type] ||= []);
};

Emitter.prototype.emit = function emit(type, ...args) {
  const event = typeof type === "object" ? type : { type };
  event.currentTarget = this;
  if (event.target === undefined) event.target = this;
  for (const listener of [...(this.events[event.type] || [])]) {
    if (listener.call(this, event, ...args) === false) event.cancelled = true;
    if (event.aborted) break;
  }
  return event.result;
};
