// provides: MailboxTransport, HostFailure, errorToPayload, safeString, hostData, answer, toJsonText, nullMeansOutOfMemory, ERROR_HINTS
// uses: PROTOCOL, Object, Array, JSON, Reflect, Promise, Error
// private: nullPrototypes, fetchAnswer, listAnswer, sentMeta, dictionary, objectEntries, setPrototypeOf, isArray, errorFromPayload, ERROR_CONSTRUCTORS, safeGet, safeHas, describeThrown, errorPayload, fieldValue, own, hasOwn, parseJson, stringifyJson, withoutToJSON, ANSWER, OUT_OF_MEMORY

// The runtime's end of the RPC transport: a mailbox the host polls.
//
// Engines differ in how (or whether) JS can call the host, and QuickJS in-process refuses host
// callbacks while a CPU limit is set; so the runtime never calls out. It queues messages in an
// outbox that the host drains, and the host pushes messages in through `receive`. Messages use
// Vite's shapes: `{type: "custom", event: "vite:invoke", data: {name, id: "send:N", data}}`,
// answered by `data: {name, id: "response:N", data: {result} | {error}}`. Either side may invoke.
//
// Module code shares this realm and may write anything onto Object.prototype: the transport never
// reads an inherited property of a message (`own`), turns what the host sends into null-prototype
// data (`hostData`) and keeps its own JSON functions, taken before any module ran.

const hasOwn = Object.prototype.hasOwnProperty;
const parseJson = JSON.parse;
const stringifyJson = JSON.stringify;
const setPrototypeOf = Object.setPrototypeOf;
const isArray = Array.isArray;

function own(object, key) {
  return object !== null && typeof object === "object" && Reflect.apply(hasOwn, object, [key]) ? object[key] : undefined;
}

// Host data, fresh from JSON.parse, with its objects turned into null-prototype objects in place (no
// copy: a fetch answer can carry a whole graph), so that no read of it can reach Object.prototype.
function hostData(value) {
  if (value !== null && typeof value === "object") nullPrototypes(value);
  return value;
}

// How many objects (not arrays) it made null-prototype.
function nullPrototypes(value) {
  let objects = 0;
  if (isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item !== null && typeof item === "object") objects += nullPrototypes(item);
    }
    return objects;
  }
  setPrototypeOf(value, null);
  // With no prototype left, for-in lists the own keys, without an array of them per object.
  for (const key in value) {
    const item = value[key];
    if (item !== null && typeof item === "object") objects += nullPrototypes(item);
  }
  return objects + 1;
}

// `fetchModule`'s answer as hostData makes it, but its link metadata (and that of the answers in
// its graph) made null-prototype where the protocol puts objects (sentMeta) rather than walked whole:
// most of a graph's answer is arrays of strings and numbers.
function fetchAnswer(value) {
  if (value === null || typeof value !== "object" || isArray(value)) return hostData(value);
  setPrototypeOf(value, null);
  for (const key in value) {
    const item = value[key];
    if (item === null || typeof item !== "object") continue;
    if (key === "graph" && isArray(item)) {
      for (let i = 0; i < item.length; i++) fetchAnswer(item[i]);
    } else if (key !== "modrun" || !sentMeta(item)) {
      nullPrototypes(item);
    }
  }
  return value;
}

// The metadata as runner/rpc/sent_module.py sends it holds objects in these places only: itself, its
// dictionaries, their entries that are objects (exports other than the module's own, why requires did
// not resolve), and the requires. It counts, from its JSON text, at least as many objects as it holds
// (`objects`: one per brace, and a string may hold braces too): when that many were found here,
// there is none left, and its arrays need no walk. False, and it is walked whole, otherwise.
function sentMeta(meta) {
  if (isArray(meta)) return false;
  setPrototypeOf(meta, null);
  const expected = meta.objects;
  let found = 1 + dictionary(meta.exports) + dictionary(meta.resolved) + dictionary(meta.required)
    + dictionary(meta.files) + dictionary(meta.unresolved);
  // Most modules export only their own bindings (strings): all found without a look at any entry.
  if (found === expected) return true;
  found += objectEntries(meta.exports) + objectEntries(meta.unresolved);
  const requires = meta.requires;
  if (requires !== null && typeof requires === "object") found += nullPrototypes(requires);
  return found === expected;
}

// One of the metadata's dictionaries made null-prototype: 1, or 0 for an array or anything else (left to the count).
function dictionary(value) {
  if (value === null || typeof value !== "object" || isArray(value)) return 0;
  setPrototypeOf(value, null);
  return 1;
}

// The entries of such a dictionary that are objects, made null-prototype whole: how many objects that was.
function objectEntries(dict) {
  if (dict === null || typeof dict !== "object" || isArray(dict)) return 0;
  let objects = 0;
  for (const key in dict) {
    const item = dict[key];
    if (item !== null && typeof item === "object") objects += nullPrototypes(item);
  }
  return objects;
}

// JSON text of the runner's own data, whatever module code did to the prototypes.
function toJsonText(value) {
  return withoutToJSON(() => stringifyJson(value));
}

// fetchCode's answer, a list of strings, without a prototype: a promise settled with an array reads its
// `then`, which module code may have put on Array.prototype or Object.prototype (and never settle).
function listAnswer(value) {
  if (isArray(value)) setPrototypeOf(value, null);
  return value;
}

// What an async handler returns: its value in a null-prototype box, so that settling the handler's
// promise cannot run a `then` that module code put on Object.prototype (or Array.prototype).
const ANSWER = Symbol("answer");

function answer(value) {
  const box = Object.create(null);
  box[ANSWER] = value;
  return box;
}

// JSON.stringify reads `toJSON` through the prototypes of the messages' objects and arrays: one that
// module code put there is set aside while the outbox is serialised.
function withoutToJSON(work) {
  const saved = [];
  for (const proto of [Object.prototype, Array.prototype]) {
    const descriptor = Reflect.getOwnPropertyDescriptor(proto, "toJSON");
    if (descriptor && Reflect.deleteProperty(proto, "toJSON")) saved.push([proto, descriptor]);
  }
  try {
    return work();
  } finally {
    for (const [proto, descriptor] of saved) Reflect.defineProperty(proto, "toJSON", descriptor);
  }
}

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
    return toJsonText(this.outbox.splice(0, this.outbox.length));
  }

  receive(text) {
    this.deliver(parseJson(text));
  }

  // What `receive` parses, as JSON.parse makes it: an engine's host may make it itself, and faster
  // (evaluators/quickjs_parsed.py).
  deliver(messages) {
    const list = Array.isArray(messages) ? messages : [messages];
    for (let i = 0; i < list.length; i++) this.dispatch(list[i]);
  }

  dispatch(message) {
    const type = own(message, "type");
    if (type !== "custom") {
      for (const listener of own(this.eventListeners, type) || []) listener(message);
      return;
    }
    const event = own(message, "event");
    if (event !== PROTOCOL.invokeEvent) {
      for (const listener of own(this.eventListeners, event) || []) listener(own(message, "data"));
      return;
    }
    const envelope = own(message, "data");
    const name = own(envelope, "name");
    const id = String(own(envelope, "id"));
    const data = own(envelope, "data");
    if (id.startsWith("response:")) {
      const call = this.pending.get(Number(id.slice(9)));
      if (!call) return;
      this.pending.delete(Number(id.slice(9)));
      const error = own(data, "error");
      if (error) call.reject(errorFromPayload(hostData(error)));
      else if (call.name === "fetchModule") call.resolve(fetchAnswer(own(data, "result")));
      else if (call.name === "fetchCode") call.resolve(listAnswer(own(data, "result")));
      else call.resolve(hostData(own(data, "result")));
      return;
    }
    const reply = (body) => this.outbox.push({
      type: "custom", event: PROTOCOL.invokeEvent, data: { name, id: `response:${id.slice(5)}`, data: body },
    });
    const handler = own(this.handlers, name);
    if (typeof handler !== "function") {
      const known = Object.keys(this.handlers).sort().join(", ");
      const message = `no invoke method named '${name}' here (known: ${known})`;
      reply({ error: { name: "UsageError", message, stack: `UsageError: ${message}`, kind: "usage", code: PROTOCOL.unknownMethod } });
      return;
    }
    let result;
    try {
      result = Reflect.apply(handler, undefined, Array.isArray(data) ? data : []);
    } catch (error) {
      reply({ error: errorToPayload(error) });
      return;
    }
    // An async handler answers with a box (`answer`); a plain value is not awaited, since awaiting
    // it would read its `then`, which module code may have put on Object.prototype.
    if (!(result instanceof Promise)) {
      reply({ result });
      return;
    }
    (async () => {
      let body;
      try {
        body = { result: own(await result, ANSWER) };
      } catch (error) {
        body = { error: errorToPayload(error) };
      }
      reply(body);
    })();
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

// The error as data; never throws, whatever was thrown (a Proxy whose every trap throws included).
function errorToPayload(error, kind) {
  try {
    if (error instanceof HostFailure) return errorToPayload(error.error, error.kind);
    return errorPayload(error, kind);
  } catch {
    const text = `${typeof error === "object" ? "an object" : `a ${typeof error}`} that cannot be inspected (reading it threw)`;
    return { name: "Uncaught", message: text, stack: `Uncaught ${text}`, kind: kind || "js", thrown: text };
  }
}

// QuickJS-ng (0.17, native) throws `null` where it cannot allocate even the error of an out-of-memory:
// under a heap limit, a thrown null is read as that limit (a module that throws null itself then
// reads as one too: the engine leaves no way to tell them apart).
const OUT_OF_MEMORY = { heapLimited: false };

function nullMeansOutOfMemory() {
  OUT_OF_MEMORY.heapLimited = true;
}

function errorPayload(error, kind) {
  if (error === null && OUT_OF_MEMORY.heapLimited) {
    return { name: "InternalError", message: "out of memory", stack: "InternalError: out of memory", kind: "limit",
             limit: "memory" };
  }
  if (error instanceof Error || (error !== null && typeof error === "object" && safeHas(error, "message"))) {
    const payload = Object.create(null);
    let keys = [];
    try { keys = Object.keys(error); } catch {}
    for (const key of keys) {
      const value = fieldValue(safeGet(error, key));
      if (value !== undefined) payload[key] = value;
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

// A field of a thrown error as JSON data (code, loc, …): what cannot be carried, or throws when read, is left out.
function fieldValue(value) {
  switch (typeof value) {
    case "string": case "number": case "boolean": return value;
    case "bigint": return String(value);
    case "object":
      if (value === null) return null;
      try {
        return withoutToJSON(() => parseJson(stringifyJson(value)));
      } catch {
        return undefined;
      }
    default: return undefined;
  }
}

// Reading a property of a thrown value may itself throw (a hostile getter): never let it escape.
function safeGet(object, key) {
  try { return object[key]; } catch { return undefined; }
}

function safeHas(object, key) {
  try { return key in object; } catch { return false; }
}

function describeThrown(value) {
  if (typeof value === "string") return stringifyJson(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol" || typeof value === "function") return safeString(value, typeof value);
  if (value && typeof value === "object") {
    try {
      const json = stringifyJson(value);
      if (json !== undefined) return json;
    } catch {}
  }
  return safeString(value, typeof value);
}

function safeString(value, fallback) {
  try { return value === undefined ? fallback : String(value); } catch { return fallback; }
}
