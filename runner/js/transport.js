// provides: MailboxTransport, HostFailure, errorToPayload, safeString, ERROR_HINTS
// uses: PROTOCOL
// private: errorFromPayload, ERROR_CONSTRUCTORS, safeGet, safeHas, describeThrown

// The runtime's end of the RPC transport: a mailbox the host polls.
//
// Engines differ in how (or whether) JS can call the host, and QuickJS in-process refuses host
// callbacks while a CPU limit is set; so the runtime never calls out. It queues messages in an
// outbox that the host drains, and the host pushes messages in through `receive`. Messages use
// Vite's shapes: `{type: "custom", event: "vite:invoke", data: {name, id: "send:N", data}}`,
// answered by `data: {name, id: "response:N", data: {result} | {error}}`. Either side may invoke.

class MailboxTransport {
  constructor() {
    this.outbox = [];
    this.pending = new Map();
    this.nextId = 0;
    this.handlers = Object.create(null);
    this.eventListeners = Object.create(null);
    this.closedWith = null;
  }

  // Vite's Transport interface: connect(handlers) registers what answers the other side.
  connect(handlers) {
    Object.assign(this.handlers, handlers);
  }

  on(event, listener) {
    (this.eventListeners[event] ||= []).push(listener);
  }

  send(payload) {
    this.outbox.push(payload);
  }

  invoke(name, data) {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, name });
      this.outbox.push({ type: "custom", event: PROTOCOL.invokeEvent, data: { name, id: `send:${id}`, data } });
    });
  }

  drain() {
    if (this.outbox.length === 0) return "";
    return JSON.stringify(this.outbox.splice(0, this.outbox.length));
  }

  receive(text) {
    const messages = JSON.parse(text);
    for (const message of Array.isArray(messages) ? messages : [messages]) this.dispatch(message);
  }

  dispatch(message) {
    if (message.type !== "custom") {
      for (const listener of this.eventListeners[message.type] || []) listener(message);
      return;
    }
    if (message.event !== PROTOCOL.invokeEvent) {
      for (const listener of this.eventListeners[message.event] || []) listener(message.data);
      return;
    }
    const { name, id, data } = message.data;
    if (id.startsWith("response:")) {
      const call = this.pending.get(Number(id.slice(9)));
      if (!call) return;
      this.pending.delete(Number(id.slice(9)));
      if (data && data.error) call.reject(errorFromPayload(data.error));
      else call.resolve(data ? data.result : undefined);
      return;
    }
    const reply = (body) => this.outbox.push({
      type: "custom", event: PROTOCOL.invokeEvent, data: { name, id: `response:${id.slice(5)}`, data: body },
    });
    const handler = this.handlers[name];
    if (!handler) {
      const known = Object.keys(this.handlers).sort().join(", ");
      const message = `no invoke method named '${name}' here (known: ${known})`;
      reply({ error: { name: "UsageError", message, stack: `UsageError: ${message}`, kind: "usage", code: PROTOCOL.unknownMethod } });
      return;
    }
    let result;
    try {
      result = handler(...(data || []));
    } catch (error) {
      reply({ error: errorToPayload(error) });
      return;
    }
    Promise.resolve(result).then(
      (value) => reply({ result: value }),
      (error) => reply({ error: errorToPayload(error) }),
    );
  }

  close(reason) {
    this.closedWith = reason;
    for (const call of this.pending.values()) call.reject(reason);
    this.pending.clear();
  }
}

// Functions `(payload) => void` a profile adds to explain errors as they leave the runtime (the edge
// profile says that `process` is Node's, not missing by accident).
const ERROR_HINTS = [];

// An Error rebuilt from transport data keeps every field (code, loc, frame, importer…).
function errorFromPayload(payload) {
  const Ctor = ERROR_CONSTRUCTORS[payload.name] || Error;
  const error = new Ctor(payload.message);
  for (const key of Object.keys(payload)) {
    if (key === "stack") continue;
    try { error[key] = payload[key]; } catch {}
  }
  if (payload.stack) Object.defineProperty(error, "stack", { value: payload.stack, writable: true, configurable: true });
  return error;
}

const ERROR_CONSTRUCTORS = {
  Error, TypeError, SyntaxError, ReferenceError, RangeError, EvalError, URIError,
};

// A failure of a host request, with the kind the host reports it as ("load" or "js").
class HostFailure {
  constructor(kind, error) {
    this.kind = kind;
    this.error = error;
  }
}

function errorToPayload(error, kind) {
  if (error instanceof HostFailure) return errorToPayload(error.error, error.kind);
  if (error instanceof Error || (error !== null && typeof error === "object" && safeHas(error, "message"))) {
    const payload = Object.create(null);
    let keys = [];
    try { keys = Object.keys(error); } catch {}
    for (const key of keys) {
      const value = safeGet(error, key);
      if (value === undefined || typeof value === "function" || typeof value === "symbol") continue;
      payload[key] = typeof value === "bigint" ? String(value) : value;
    }
    // An error-like object that is not an Error (test262's Test262Error) is named by its constructor.
    const ctor = safeGet(error, "constructor");
    const fallbackName = ctor && typeof ctor.name === "string" && ctor.name ? ctor.name : "Error";
    const name = safeGet(error, "name");
    payload.name = typeof name === "string" ? name : fallbackName;
    payload.message = safeString(safeGet(error, "message"), "");
    // QuickJS-ng leaves `stack` null on a stack overflow: fall back to the message.
    const stack = safeGet(error, "stack");
    payload.stack = typeof stack === "string" && stack ? stack : `${payload.name}: ${payload.message}`;
    if (kind) payload.kind = kind;
    else if (!payload.kind) payload.kind = "js";
    if (payload.name === "InternalError" && payload.message === "out of memory") {
      payload.kind = "limit"; // the heap cap was hit: the host discards this runtime
      payload.limit = "memory";
    }
    for (const hint of ERROR_HINTS) hint(payload);
    return payload;
  }
  // A thrown non-Error value: say what it was.
  const text = describeThrown(error);
  return { name: "Uncaught", message: text, stack: `Uncaught ${text}`, kind: kind || "js", thrown: text };
}

// Reading a property of a thrown value may itself throw (a hostile getter): never let it escape.
function safeGet(object, key) {
  try { return object[key]; } catch { return undefined; }
}

function safeHas(object, key) {
  try { return key in object; } catch { return false; }
}

function describeThrown(value) {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol" || typeof value === "function") return safeString(value, typeof value);
  if (value && typeof value === "object") {
    try {
      const json = JSON.stringify(value);
      if (json !== undefined) return json;
    } catch {}
  }
  return safeString(value, typeof value);
}

function safeString(value, fallback) {
  try { return value === undefined ? fallback : String(value); } catch { return fallback; }
}
