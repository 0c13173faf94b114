// provides: EventLoop
// uses: PROTOCOL, inspect
// private: TimerQueue, dueBefore, toLong, describeUncaught, SLICE_MS, NESTING_CLAMP, CLAMPED_MS, nativeNow, nativeEval, nativeQueueMicrotask

// The runtime's end of the event loop: HTML's, for a worker-like global — timers, microtasks, and
// the reporting of uncaught errors and unhandled promise rejections.
//
// The runtime can neither sleep nor call the host, so the host drives the loop
// (runner/rpc/client.py). Every turn of the engine ends in `drain`: while a task is due it runs
// one and answers PROTOCOL.drainAgain, and the engine runs the microtasks (its job queue) before
// calling `drain` again; then `drain` hands over the outbox, with a `modrun:timers` event whenever
// the time the loop wants its next turn has changed. The host sleeps until then (within its
// wall-time budget) and wakes the runtime by sending it anything.
//
// Unhandled rejections come from the engine's HostPromiseRejectionTracker (`track`), which the
// host installs: after the microtasks of a task have run, the rejections still unhandled are
// announced (`unhandledrejection`, cancelable) and, unless a listener cancels, reported on the
// console as `Uncaught (in promise) <stack>`; one handled later is announced by `rejectionhandled`.

// A turn that keeps finding due tasks hands its output over after this long, so that console
// output flows and the host sees the runtime between tasks.
const SLICE_MS = 20;
// HTML's timer initialization steps: nested more than 5 deep, a timeout under 4 ms becomes 4 ms.
const NESTING_CLAMP = 5;
const CLAMPED_MS = 4;

const nativeNow = performance.now.bind(performance);
const nativeEval = globalThis.eval;
const nativeQueueMicrotask = typeof globalThis.queueMicrotask === "function" ? globalThis.queueMicrotask : null;

class EventLoop {
  constructor(transport, global) {
    this.transport = transport;
    this.global = global;
    this.timers = new Map(); // id -> timer (HTML's map of setTimeout and setInterval IDs)
    this.queue = new TimerQueue();
    this.nextId = 1;
    this.nesting = 0; // the timer nesting level of the task running now (0: not a timer task)
    this.tasks = []; // other tasks, first in first out (rejectionhandled events, queueTask)
    this.rejections = new Map(); // promise -> reason: rejected, not handled yet, not yet announced
    this.announced = new WeakMap(); // promise -> reason: announced as unhandled, still unhandled
    this.announcing = null; // the promise whose unhandledrejection event is being dispatched
    this.handledWhileAnnouncing = false;
    this.reporting = false;
    this.sliceStart = -1; // when the tasks of this turn began (-1: no task ran yet)
    this.lastWake = null; // the wake time last told to the host
    this.traces = null; // the module runner's StackTraces, to say where a timer's callback is
    // How a profile shows what the loop reports, and lets the global object's listeners see it
    // first: print(level, text); onError(error) and onUnhandledRejection(promise, reason) answer
    // whether the report should still be printed; onRejectionHandled(promise, reason).
    this.print = (level, text) => transport.send({ type: "custom", event: PROTOCOL.consoleEvent, data: { level, text } });
    this.onError = null;
    this.onUnhandledRejection = null;
    this.onRejectionHandled = null;
    // Whether a string given to setTimeout may be compiled (a profile that disallows code
    // generation from strings clears it).
    this.compileStrings = true;
  }

  // ---- the host's turn ----

  // The end of a turn: a due task (answering drainAgain), else the outbox.
  drain() {
    const now = nativeNow();
    if (this.sliceStart < 0 || now - this.sliceStart < SLICE_MS) {
      if (this.runTask(now)) {
        if (this.sliceStart < 0) this.sliceStart = now;
        return PROTOCOL.drainAgain;
      }
    }
    this.sliceStart = -1;
    const wake = this.wakeTime(now);
    if (wake !== this.lastWake) {
      this.lastWake = wake;
      const delay = wake === null ? null : Math.max(0, wake - now);
      this.transport.send({ type: "custom", event: PROTOCOL.timersEvent, data: { delay } });
    }
    return this.transport.drain();
  }

  // When the loop wants its next turn (a time of its clock), or null when nothing is scheduled.
  wakeTime(now) {
    if (this.rejections.size || this.tasks.length) return now;
    const next = this.queue.peek(this.timers);
    return next ? next.due : null;
  }

  runTask(now) {
    if (this.rejections.size) {
      this.announceRejections();
      return true;
    }
    if (this.tasks.length) {
      this.tasks.shift()();
      return true;
    }
    const next = this.queue.peek(this.timers);
    if (!next || next.due > now) return false;
    this.queue.pop();
    this.runTimer(next);
    return true;
  }

  // ---- timers (HTML's timer initialization steps and timer task) ----

  setTimer(handler, timeout, args, repeat, previousId) {
    const callback = typeof handler === "function" ? handler : String(handler);
    timeout = toLong(timeout);
    const id = previousId || this.nextId++;
    const nesting = this.nesting;
    let delay = timeout < 0 ? 0 : timeout;
    if (nesting > NESTING_CLAMP && delay < CLAMPED_MS) delay = CLAMPED_MS;
    const timer = { id, callback, timeout, args, repeat, nesting: nesting + 1, delay, due: nativeNow() + delay, seq: 0 };
    this.timers.set(id, timer);
    this.queue.push(timer);
    return id;
  }

  clearTimer(id) {
    this.timers.delete(toLong(id));
  }

  runTimer(timer) {
    const id = timer.id;
    if (this.timers.get(id) !== timer) return;
    const outer = this.nesting;
    this.nesting = timer.nesting;
    try {
      if (typeof timer.callback === "function") {
        Reflect.apply(timer.callback, this.global, timer.args);
      } else if (this.compileStrings) {
        (0, nativeEval)(timer.callback);
      } else {
        throw new EvalError("Code generation from strings disallowed for this context");
      }
    } catch (error) {
      this.reportException(error);
    } finally {
      this.nesting = outer;
    }
    if (this.timers.get(id) !== timer) return;
    if (timer.repeat) {
      this.nesting = timer.nesting;
      try {
        this.setTimer(timer.callback, timer.timeout, timer.args, true, id);
      } finally {
        this.nesting = outer;
      }
    } else {
      this.timers.delete(id);
    }
  }

  // What the host reports when a run ends with timers that never ran.
  pendingTimers() {
    const now = nativeNow();
    const out = [];
    for (const timer of this.timers.values()) {
      const callback = timer.callback;
      let name = "(a string of code)";
      if (typeof callback === "function") {
        try { name = String(callback.name) || "(anonymous)"; } catch { name = "(anonymous)"; }
      }
      const entry = {
        kind: timer.repeat ? "setInterval" : "setTimeout",
        delay: timer.delay,
        remaining: Math.max(0, Math.round(timer.due - now)),
        callback: name,
      };
      const where = typeof callback === "function" && this.traces ? this.traces.locate(callback) : null;
      if (where) entry.at = where;
      out.push(entry);
    }
    return out;
  }

  // An HTML task other than a timer (a MessagePort's message), run after the microtasks of the
  // current one; an exception from it is reported.
  queueTask(callback) {
    this.tasks.push(() => {
      try {
        callback();
      } catch (error) {
        this.reportException(error);
      }
    });
  }

  // ---- microtasks ----

  queueMicrotask(callback) {
    const run = () => {
      try {
        callback();
      } catch (error) {
        this.reportException(error);
      }
    };
    if (nativeQueueMicrotask) nativeQueueMicrotask(run);
    else Promise.resolve().then(run);
  }

  // ---- errors and rejections ----

  // HTML's "report an exception": the global object's `error` listeners first, then the console.
  reportException(error) {
    if (this.reporting || !this.onError) {
      this.printUncaught("Uncaught", error);
      return;
    }
    let show = true;
    this.reporting = true; // an error thrown while reporting one is printed, not dispatched again
    try {
      show = this.onError(error) !== false;
    } catch (inner) {
      this.printUncaught("Uncaught", inner);
    } finally {
      this.reporting = false;
    }
    if (show) this.printUncaught("Uncaught", error);
  }

  // The engine's HostPromiseRejectionTracker: called when a promise is rejected with no handler
  // (handled false) and when such a promise gets one (handled true). Must never throw.
  track(promise, reason, handled) {
    if (!handled) {
      this.rejections.set(promise, reason);
      return;
    }
    if (this.rejections.delete(promise)) return;
    if (promise === this.announcing) {
      this.handledWhileAnnouncing = true;
      return;
    }
    if (this.announced.has(promise)) {
      const announcedReason = this.announced.get(promise);
      this.announced.delete(promise);
      if (this.onRejectionHandled) this.tasks.push(() => this.dispatchRejectionHandled(promise, announcedReason));
    }
  }

  // HTML's "notify about rejected promises", run as one task.
  announceRejections() {
    const list = Array.from(this.rejections);
    this.rejections.clear();
    for (const [promise, reason] of list) {
      let show = true;
      if (this.onUnhandledRejection) {
        this.announcing = promise;
        this.handledWhileAnnouncing = false;
        try {
          show = this.onUnhandledRejection(promise, reason) !== false;
        } catch (error) {
          this.reportException(error);
        } finally {
          this.announcing = null;
        }
        if (this.handledWhileAnnouncing) continue; // a listener handled it: nothing to report
      }
      if (show) this.printUncaught("Uncaught (in promise)", reason);
      this.announced.set(promise, reason);
    }
  }

  dispatchRejectionHandled(promise, reason) {
    try {
      this.onRejectionHandled(promise, reason);
    } catch (error) {
      this.reportException(error);
    }
  }

  printUncaught(prefix, value) {
    this.print("error", `${prefix} ${describeUncaught(value)}`);
  }

  // Defines the named `globals()` on the global object as Web IDL defines a global's operations:
  // writable, enumerable and configurable.
  install(global, names) {
    const all = this.globals();
    for (const name of names) {
      Object.defineProperty(global, name, { value: all[name], writable: true, enumerable: true, configurable: true });
    }
  }

  // The globals a profile may expose, as Web IDL defines them on a worker's global object:
  // methods (not constructors), with Web IDL's lengths.
  globals() {
    const loop = this;
    return {
      setTimeout(handler, timeout = 0, ...args) {
        return loop.setTimer(handler, timeout, args, false, 0);
      },
      setInterval(handler, timeout = 0, ...args) {
        return loop.setTimer(handler, timeout, args, true, 0);
      },
      clearTimeout(id = 0) {
        loop.clearTimer(id);
      },
      clearInterval(id = 0) {
        loop.clearTimer(id);
      },
      queueMicrotask(callback) {
        if (typeof callback !== "function") {
          throw new TypeError("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
        }
        loop.queueMicrotask(callback);
      },
      reportError(error) {
        if (arguments.length === 0) {
          throw new TypeError("Failed to execute 'reportError': 1 argument required, but only 0 present.");
        }
        loop.reportException(error);
      },
    };
  }
}

// Web IDL's `long`: ToNumber, then ToInt32 (NaN and infinities are 0; 2^32 wraps to 0).
function toLong(value) {
  return +value | 0; // unary plus throws for a BigInt or a symbol, as Web IDL's ToNumber does
}

function describeUncaught(value) {
  if (value !== null && typeof value === "object") {
    try {
      const stack = value.stack;
      if (typeof stack === "string" && stack) return stack;
    } catch {}
  }
  try {
    return inspect(value);
  } catch {
    return "a value that cannot be shown";
  }
}

// The pending timers in due order (ties in the order they were set): a binary heap. A cleared
// timer stays until it reaches the top, unless stale entries come to outnumber live ones.
class TimerQueue {
  constructor() {
    this.heap = [];
    this.seq = 0;
  }

  push(timer) {
    timer.seq = ++this.seq;
    const heap = this.heap;
    let i = heap.length;
    heap.push(timer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!dueBefore(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  // The earliest live timer, dropping cleared ones on the way.
  peek(live) {
    const heap = this.heap;
    while (heap.length && live.get(heap[0].id) !== heap[0]) this.pop();
    if (heap.length > 64 && heap.length > 2 * live.size) this.rebuild(live);
    return heap.length ? heap[0] : null;
  }

  pop() {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let least = i;
        if (left < heap.length && dueBefore(heap[left], heap[least])) least = left;
        if (right < heap.length && dueBefore(heap[right], heap[least])) least = right;
        if (least === i) break;
        [heap[i], heap[least]] = [heap[least], heap[i]];
        i = least;
      }
    }
    return top;
  }

  rebuild(live) {
    const timers = this.heap.filter((timer) => live.get(timer.id) === timer);
    timers.sort((a, b) => (dueBefore(a, b) ? -1 : 1));
    this.heap = timers; // a sorted array is a heap
  }
}

function dueBefore(a, b) {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
