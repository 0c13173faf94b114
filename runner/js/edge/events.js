// provides: defineEvents, trustedEvent
// uses: illegalConstructor, ILLEGAL

// The events the edge profile adds to event-target-shim's Event and EventTarget: CustomEvent,
// ErrorEvent, PromiseRejectionEvent and MessageEvent, and MessageChannel with its two
// MessagePorts. `queueTask` runs a callback as a task of the event loop; `clone` is
// structuredClone.

// An event the platform fires (abort, error, unhandledrejection, message): `isTrusted` true, as
// only such events are. event-target-shim gives every event it makes an own `isTrusted` false,
// with Object.defineProperty, first thing in its constructor and before it reads the init
// dictionary; for these events that definition says true. Nothing else runs meanwhile: the init
// dictionaries are plain objects made by the profile.
function trustedEvent(Constructor, type, init) {
  const define = Object.defineProperty;
  Object.defineProperty = function defineProperty(object, key, descriptor) {
    return define(object, key, key === "isTrusted" ? { ...descriptor, value: true } : descriptor);
  };
  try {
    return new Constructor(type, init);
  } finally {
    Object.defineProperty = define;
  }
}

function defineEvents(Event, EventTarget, queueTask, clone) {
  const init = (dict) => (dict === undefined || dict === null ? {} : dict);

  class CustomEvent extends Event {
    #detail;
    constructor(type, eventInitDict) {
      super(type, eventInitDict);
      const dict = init(eventInitDict);
      this.#detail = dict.detail === undefined ? null : dict.detail;
    }
    get detail() { return this.#detail; }
    initCustomEvent(type, bubbles = false, cancelable = false, detail = null) {
      if (arguments.length === 0) throw new TypeError("CustomEvent.initCustomEvent: the type argument is required");
      this.initEvent(type, bubbles, cancelable);
      this.#detail = detail;
    }
  }

  class ErrorEvent extends Event {
    #message; #filename; #lineno; #colno; #error;
    constructor(type, eventInitDict) {
      super(type, eventInitDict);
      const dict = init(eventInitDict);
      this.#message = dict.message === undefined ? "" : String(dict.message);
      this.#filename = dict.filename === undefined ? "" : String(dict.filename);
      this.#lineno = dict.lineno === undefined ? 0 : dict.lineno >>> 0;
      this.#colno = dict.colno === undefined ? 0 : dict.colno >>> 0;
      this.#error = dict.error;
    }
    get message() { return this.#message; }
    get filename() { return this.#filename; }
    get lineno() { return this.#lineno; }
    get colno() { return this.#colno; }
    get error() { return this.#error; }
  }

  class PromiseRejectionEvent extends Event {
    #promise; #reason;
    constructor(type, eventInitDict) {
      if (arguments.length < 2) throw new TypeError("PromiseRejectionEvent: the eventInitDict argument is required");
      super(type, eventInitDict);
      const dict = init(eventInitDict);
      if (dict.promise === undefined) throw new TypeError("PromiseRejectionEvent: eventInitDict.promise is required");
      this.#promise = dict.promise;
      this.#reason = dict.reason;
    }
    get promise() { return this.#promise; }
    get reason() { return this.#reason; }
  }

  class MessageEvent extends Event {
    #data; #origin; #lastEventId; #source; #ports;
    constructor(type, eventInitDict) {
      super(type, eventInitDict);
      const dict = init(eventInitDict);
      this.#data = dict.data === undefined ? null : dict.data;
      this.#origin = dict.origin === undefined ? "" : String(dict.origin);
      this.#lastEventId = dict.lastEventId === undefined ? "" : String(dict.lastEventId);
      this.#source = dict.source === undefined ? null : dict.source;
      this.#ports = Object.freeze(dict.ports === undefined ? [] : [...dict.ports]);
    }
    get data() { return this.#data; }
    get origin() { return this.#origin; }
    get lastEventId() { return this.#lastEventId; }
    get source() { return this.#source; }
    get ports() { return this.#ports; }
  }

  // A port queues what it is sent until it is started (start(), or setting onmessage), then
  // delivers each message as a task.
  class MessagePort extends EventTarget {
    #other = null;
    #queue = [];
    #started = false;
    #closed = false;
    #onmessage = null;
    #onmessageerror = null;
    constructor(token) {
      illegalConstructor(token, "MessagePort");
      super();
    }
    static entangle(a, b) {
      a.#other = b;
      b.#other = a;
    }
    postMessage(message, transfer = undefined) {
      if (!(this instanceof MessagePort)) throw new TypeError("postMessage called on an object that is not a MessagePort");
      const options = Array.isArray(transfer) ? { transfer } : transfer === undefined || transfer === null ? {} : transfer;
      const list = options.transfer === undefined ? [] : [...options.transfer];
      if (list.includes(this)) throw new DOMException("A MessagePort cannot transfer itself", "DataCloneError");
      const data = clone(message, { transfer: list.filter((item) => !(item instanceof MessagePort)) });
      // Ports in the transfer list arrive as the event's `ports` (one realm: the same objects).
      const ports = list.filter((item) => item instanceof MessagePort);
      const target = this.#other;
      if (target === null || this.#closed) return;
      target.#receive({ data, ports });
    }
    #receive(message) {
      if (this.#closed) return;
      this.#queue.push(message);
      if (this.#started) this.#flush();
    }
    #flush() {
      const queue = this.#queue;
      this.#queue = [];
      for (const { data, ports } of queue) {
        queueTask(() => { if (!this.#closed) this.dispatchEvent(trustedEvent(MessageEvent, "message", { data, ports })); });
      }
    }
    start() {
      if (this.#started) return;
      this.#started = true;
      this.#flush();
    }
    close() {
      this.#closed = true;
      if (this.#other !== null) {
        this.#other.#other = null;
        this.#other = null;
      }
    }
    get onmessage() { return this.#onmessage; }
    set onmessage(handler) { this.#setHandler("message", handler); this.start(); }
    get onmessageerror() { return this.#onmessageerror; }
    set onmessageerror(handler) { this.#setHandler("messageerror", handler); }
    #setHandler(type, handler) {
      const field = type === "message" ? this.#onmessage : this.#onmessageerror;
      if (field) this.removeEventListener(type, field);
      const value = typeof handler === "function" || (handler !== null && typeof handler === "object") ? handler : null;
      if (type === "message") this.#onmessage = value;
      else this.#onmessageerror = value;
      if (value) this.addEventListener(type, value);
    }
  }
  const entangle = MessagePort.entangle;
  delete MessagePort.entangle;

  class MessageChannel {
    #port1; #port2;
    constructor() {
      this.#port1 = new MessagePort(ILLEGAL);
      this.#port2 = new MessagePort(ILLEGAL);
      entangle(this.#port1, this.#port2);
    }
    get port1() { return this.#port1; }
    get port2() { return this.#port2; }
  }

  for (const [name, cls] of Object.entries({ CustomEvent, ErrorEvent, PromiseRejectionEvent, MessageEvent, MessagePort,
    MessageChannel })) {
    Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
  }
  return { CustomEvent, ErrorEvent, PromiseRejectionEvent, MessageEvent, MessagePort, MessageChannel };
}
