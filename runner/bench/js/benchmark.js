// benchmark.js's API (`new Benchmark.Suite().add(...).on("cycle", ...).run()`) over modrun's harness,
// resolved in place of the package. The real benchmark.js is a CommonJS module needing lodash and
// platform, rebuilds each test from its source text with `Function` (closures are lost) and defers
// with setTimeout, which a bare runtime lacks; here every runtime measures with one harness.
// provides: default (Benchmark), Suite
//
// Differences, by design: setup and teardown are functions run once per benchmark and runtime
// (they share state with the test through closures, not through compiled source; a string is an
// error); samples are the harness's, so `count` is its calibrated iterations per sample.

import { register, runEntry, runEntrySync, summarize } from "modrun:bench";
import { Emitter } from "modrun:bench/events";

const HANDLERS = { onAbort: "abort", onComplete: "complete", onCycle: "cycle", onError: "error", onReset: "reset",
                   onStart: "start", onAdd: "add" };
let counter = 0;

function installHandlers(target, options) {
  for (const [key, type] of Object.entries(HANDLERS)) {
    if (typeof options[key] === "function") target.on(type, options[key]);
  }
}

// Harness options from the benchmark.js options the suite set (seconds there, milliseconds here).
function harnessOptions(options) {
  const out = {};
  if (typeof options.maxTime === "number") out.timeMs = options.maxTime * 1000;
  if (typeof options.minSamples === "number") out.minSamples = options.minSamples;
  if (typeof options.minTime === "number" && options.minTime > 0) out.minSampleMs = options.minTime * 1000;
  return out;
}

function checkHook(value, what, name) {
  if (value === undefined || value === null || typeof value === "function") return value;
  throw new TypeError(`benchmark '${name}': ${what} must be a function here (benchmark.js's compiled source ` +
                      "strings are not supported: share state through a closure instead)");
}

function event(type, target, extra = {}) {
  return { type, target, currentTarget: target, timeStamp: Date.now(), aborted: false, cancelled: false, ...extra };
}

export default function Benchmark(name, fn, options) {
  if (!(this instanceof Benchmark)) return new Benchmark(name, fn, options);
  Emitter.call(this);
  if (name !== null && typeof name === "object") { options = name; name = options.name; fn = options.fn; }
  else if (typeof name === "function") { options = fn; fn = name; name = options?.name ?? fn.name; }
  else if (fn !== null && typeof fn === "object") { options = fn; fn = options.fn; }
  options = { ...Benchmark.options, ...(options || {}) };
  this.options = options;
  this.id = ++counter;
  this.name = name ?? `<Test #${this.id}>`;
  this.fn = fn;
  this.defer = Boolean(options.defer);
  this.setup = checkHook(options.setup, "setup", this.name);
  this.teardown = checkHook(options.teardown, "teardown", this.name);
  if (typeof fn !== "function") throw new TypeError(`benchmark '${this.name}': the test must be a function`);
  this.aborted = false;
  this.running = false;
  this.count = 0;
  this.cycles = 0;
  this.hz = 0;
  this.error = undefined;
  this.stats = { moe: 0, rme: 0, sem: 0, deviation: 0, mean: 0, sample: [], variance: 0 };
  this.times = { cycle: 0, elapsed: 0, period: 0, timeStamp: 0 };
  installHandlers(this, options);
  this._group = [];
}

Object.setPrototypeOf(Benchmark.prototype, Emitter.prototype);

Benchmark.version = "2.1.4";
Benchmark.options = { async: false, defer: false, delay: 0.005, initCount: 1, maxTime: undefined,
                      minSamples: undefined, minTime: undefined, name: undefined };
Benchmark.platform = {
  description: globalThis.process?.versions?.node ? `Node.js ${globalThis.process.versions.node}` : "QuickJS-ng (modrun)",
  toString() { return this.description; },
};

Benchmark.formatNumber = function formatNumber(number) {
  const [whole, fraction] = String(number).split(".");
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (fraction ? `.${fraction}` : "");
};

Benchmark.prototype._entry = function entry() {
  if (this._registered) return this._registered;
  const bench = this;
  const fn = this.fn;
  const test = this.defer
    ? () => new Promise((resolve) => { fn.call(bench, { benchmark: bench, resolve }); })
    : () => fn.call(bench);
  this._registered = register({
    name: this.name, group: this._group, adapter: "benchmark.js", fn: test,
    setup: this.setup ? () => this.setup.call(bench) : undefined,
    teardown: this.teardown ? () => this.teardown.call(bench) : undefined,
    options: harnessOptions(this.options),
  });
  return this._registered;
};

Benchmark.prototype._record = function record(measured) {
  const seconds = measured.samples_ms.map((ms) => ms / 1000);
  const s = summarize(seconds);
  this.stats = { moe: s.moe, rme: s.rme, sem: s.sem, deviation: s.sd, mean: s.mean, sample: seconds, variance: s.variance };
  this.hz = 1 / s.mean;
  this.count = measured.iterations_per_sample;
  this.cycles = seconds.length;
  this.times = { cycle: s.mean * measured.iterations_per_sample, elapsed: measured.elapsed_ms / 1000,
                 period: s.mean, timeStamp: Date.now() };
};

// Runs this benchmark through the harness; `measured` is null when another runtime measures it.
Benchmark.prototype._finish = function finish(measured, error) {
  this.running = false;
  if (error !== undefined) {
    this.error = error;
    this.emit(event("error", this));
  } else if (measured !== null) {
    this._record(measured);
    this.emit(event("cycle", this));
  }
  this.emit(event("complete", this));
  return measured;
};

Benchmark.prototype.run = function run(options = {}) {
  const isAsync = Boolean(options.async ?? this.options.async) || this.defer;
  this.running = true;
  this.emit(event("start", this));
  const entry = this._entry();
  if (!isAsync) {
    let measured;
    try {
      measured = runEntrySync(entry);
    } catch (error) {
      this._finish(null, error);
      return this;
    }
    this._finish(measured);
    return this;
  }
  this._pending = runEntry(entry).then((m) => this._finish(m), (error) => this._finish(null, error));
  return this;
};

Benchmark.prototype.abort = function abort() {
  this.aborted = true;
  this.emit(event("abort", this));
  return this;
};

Benchmark.prototype.reset = function reset() {
  this.aborted = false;
  this.running = false;
  this.error = undefined;
  this.hz = 0;
  this.stats = { moe: 0, rme: 0, sem: 0, deviation: 0, mean: 0, sample: [], variance: 0 };
  this.emit(event("reset", this));
  return this;
};

Benchmark.prototype.clone = function clone(options) {
  return new Benchmark(this.name, this.fn, { ...this.options, ...(options || {}) });
};

/** 1 if faster, -1 if slower, 0 if the samples cannot tell (Mann–Whitney U test, two-sided 5%). */
Benchmark.prototype.compare = function compare(other) {
  if (this === other) return 0;
  const a = this.stats.sample;
  const b = other.stats.sample;
  if (!a.length || !b.length) return 0;
  let u = 0; // how often a sample of `this` is slower than one of `other`
  for (const x of a) for (const y of b) u += x > y ? 1 : x === y ? 0.5 : 0;
  const mean = (a.length * b.length) / 2;
  const sd = Math.sqrt((a.length * b.length * (a.length + b.length + 1)) / 12);
  const z = sd ? (u - mean) / sd : 0;
  if (Math.abs(z) <= 1.96) return 0;
  return z > 0 ? -1 : 1;
};

Benchmark.prototype.toString = function toString() {
  if (this.error) return `${this.name}: ${this.error?.name ?? "Error"}: ${this.error?.message ?? this.error}`;
  const size = this.stats.sample.length;
  return `${this.name} x ${Benchmark.formatNumber(this.hz.toFixed(this.hz < 100 ? 2 : 0))} ops/sec \xb1` +
    `${this.stats.rme.toFixed(2)}% (${size} run${size === 1 ? "" : "s"} sampled)`;
};

/** A suite: an array-like list of benchmarks with events, run one after the other. */
export function Suite(name, options) {
  if (!(this instanceof Suite)) return new Suite(name, options);
  Emitter.call(this);
  if (name !== null && typeof name === "object") { options = name; name = options.name; }
  this.name = name;
  this.options = { ...Suite.options, ...(options || {}) };
  this.length = 0;
  this.aborted = false;
  this.running = false;
  installHandlers(this, this.options);
}

Object.setPrototypeOf(Suite.prototype, Emitter.prototype);
Suite.options = { name: undefined };
Benchmark.Suite = Suite;

Suite.prototype.add = function add(name, fn, options) {
  const bench = name instanceof Benchmark ? name : new Benchmark(name, fn, options);
  bench._group = this.name ? [String(this.name)] : [];
  const added = event("add", bench);
  this.emit(added);
  if (!added.cancelled) {
    this[this.length++] = bench;
    bench._entry(); // registered in declaration order, so every runtime agrees on the list
  }
  return this;
};

Suite.prototype.toArray = function toArray() {
  return Array.from({ length: this.length }, (_, i) => this[i]);
};

for (const method of ["forEach", "indexOf", "map", "reduce", "some", "every", "find"]) {
  Suite.prototype[method] = function arrayMethod(callback, ...rest) {
    const list = this.toArray();
    if (method === "map" && typeof callback === "string") return list.map((b) => b[callback]);
    return list[method](callback, ...rest);
  };
}

Suite.prototype.filter = function filter(callback) {
  const list = this.toArray();
  let chosen;
  if (callback === "successful") chosen = list.filter((b) => !b.error && b.hz > 0);
  else if (callback === "fastest" || callback === "slowest") {
    const ranked = list.filter((b) => !b.error && b.hz > 0).sort((a, b) => {
      const order = a.stats.mean + a.stats.moe - (b.stats.mean + b.stats.moe);
      return callback === "fastest" ? order : -order;
    });
    chosen = ranked.filter((b) => ranked[0].compare(b) === 0);
  } else if (typeof callback === "string") chosen = list.filter((b) => b[callback]);
  else chosen = list.filter(callback);
  const result = new Suite(this.name, this.options);
  for (const bench of chosen) result[result.length++] = bench;
  return result;
};

Suite.prototype.abort = function abort() {
  this.aborted = true;
  this.emit(event("abort", this));
  return this;
};

Suite.prototype.reset = function reset() {
  this.aborted = false;
  this.forEach((b) => b.reset());
  this.emit(event("reset", this));
  return this;
};

Suite.prototype.clone = function clone(options) {
  const copy = new Suite(this.name, { ...this.options, ...(options || {}) });
  for (const bench of this.toArray()) copy[copy.length++] = bench;
  return copy;
};

Suite.prototype.run = function run(options = {}) {
  const isAsync = Boolean(options.async ?? this.options.async);
  this.running = true;
  this.aborted = false;
  this.emit(event("start", this));
  const benches = this.toArray();
  const after = (bench) => {
    if (bench.error) this.emit(event("error", bench));
    // Only the benchmarks this runtime measured have a cycle to report.
    if (bench.error || bench.stats.sample.length) this.emit(event("cycle", bench));
  };
  const complete = () => {
    this.running = false;
    this.emit(event("complete", this));
    return this;
  };
  if (!isAsync && !benches.some((b) => b.defer)) {
    for (const bench of benches) {
      if (this.aborted) break;
      bench.run({ async: false });
      after(bench);
    }
    return complete();
  }
  this._pending = (async () => {
    for (const bench of benches) {
      if (this.aborted) break;
      bench.run({ async: true });
      await bench._pending;
      after(bench);
    }
    complete();
  })();
  return this;
};
