// tinybench's API (`new Bench().add(...)`, `await bench.run()`, `bench.table()`) over modrun's harness,
// resolved in place of the package: the real tinybench extends EventTarget, which QuickJS's bare
// profile lacks, and times each call on its own; here every runtime measures with one harness.
// provides: Bench, Task, nToMs, mToNs, formatNumber

import { register, retire, runEntry, runEntrySync, summarize } from "modrun:bench";
import { EventBase, EventTargetBase } from "modrun:bench/events";

class BenchEvent extends EventBase {
  constructor(type, task, error) {
    super(type);
    Object.defineProperty(this, "task", { value: task, enumerable: true });
    Object.defineProperty(this, "error", { value: error, enumerable: true });
  }
}

const runtimeName = () => (globalThis.process?.versions?.node ? "node" : "quickjs-ng");
const runtimeVersion = () => globalThis.process?.versions?.node ?? "";

function statistics(values, retain) {
  const s = summarize(values);
  const aad = s.samples.reduce((a, x) => a + Math.abs(x - s.mean), 0) / s.n;
  return {
    aad, critical: s.critical, df: s.df, mad: s.mad, max: s.max, mean: s.mean, min: s.min, moe: s.moe,
    p50: s.median, p75: s.p75, p99: s.p99, p995: s.p995, p999: s.p999, rme: s.rme,
    samples: retain ? s.samples : undefined, samplesCount: s.n, sd: s.sd, sem: s.sem, variance: s.variance,
  };
}

export class Task extends EventTargetBase {
  #bench;
  #entry;

  constructor(bench, name, fn, fnOpts = {}) {
    super();
    this.#bench = bench;
    this.name = name;
    this.fn = fn;
    this.opts = fnOpts;
    this.runs = 0;
    this.result = { state: "not-started" };
    const task = this;
    const options = {};
    if (typeof bench.time === "number") options.timeMs = bench.time;
    if (typeof bench.iterations === "number") options.minSamples = bench.iterations;
    if (bench.warmup === false) options.warmupMs = 0;
    else if (typeof bench.warmupTime === "number") options.warmupMs = bench.warmupTime;
    this.#entry = register({
      name, group: bench.name ? [bench.name] : [], adapter: "tinybench", options,
      fn: (state) => fn.call(task, state),
      setup: async () => {
        await bench.setup(task, "run");
        if (fnOpts.beforeAll) await fnOpts.beforeAll.call(task, "run");
      },
      teardown: async () => {
        if (fnOpts.afterAll) await fnOpts.afterAll.call(task, "run");
        await bench.teardown(task, "run");
      },
      beforeEach: fnOpts.beforeEach ? () => fnOpts.beforeEach.call(task, "run") : undefined,
      afterEach: fnOpts.afterEach ? () => fnOpts.afterEach.call(task, "run") : undefined,
    });
  }

  get entry() {
    return this.#entry;
  }

  async run() {
    return this.#settle(() => runEntry(this.#entry), true);
  }

  runSync() {
    return this.#settle(() => runEntrySync(this.#entry), false);
  }

  // The harness's warm-up (with its calibration) is part of every measurement.
  async warmup() {}

  warmupSync() {}

  reset() {
    this.runs = 0;
    this.result = { state: "not-started" };
    this.dispatchEvent(new BenchEvent("reset", this));
  }

  #settle(measure, isAsync) {
    const bench = this.#bench;
    this.result = { state: "started" };
    this.dispatchEvent(new BenchEvent("start", this));
    const done = (measured) => {
      if (measured === null) {
        this.result = { state: "not-started" }; // another runtime measures this task
        return this;
      }
      const latency = statistics(measured.samples_ms, bench.retainSamples);
      const throughput = statistics(measured.samples_ms.map((ms) => 1000 / ms), bench.retainSamples);
      this.runs = measured.samples_ms.length;
      this.result = {
        state: "completed", latency, throughput, period: latency.mean,
        totalTime: measured.samples_ms.reduce((a, b) => a + b, 0),
        runtime: runtimeName(), runtimeVersion: runtimeVersion(), timestampProviderName: "performanceNow",
      };
      this.dispatchEvent(new BenchEvent("cycle", this));
      bench.dispatchEvent(new BenchEvent("cycle", this));
      this.dispatchEvent(new BenchEvent("complete", this));
      return this;
    };
    const failed = (error) => {
      this.result = { state: "errored", error };
      this.dispatchEvent(new BenchEvent("error", this, error));
      bench.dispatchEvent(new BenchEvent("error", this, error));
      if (bench.throws) throw error;
      return this;
    };
    if (!isAsync) {
      let measured;
      try {
        measured = measure();
      } catch (error) {
        return failed(error);
      }
      return done(measured);
    }
    return measure().then(done, failed);
  }
}

export class Bench extends EventTargetBase {
  #tasks = new Map();

  constructor(options = {}) {
    super();
    this.name = options.name;
    this.time = options.time;
    this.iterations = options.iterations;
    this.warmup = options.warmup ?? true;
    this.warmupTime = options.warmupTime;
    this.warmupIterations = options.warmupIterations;
    this.throws = Boolean(options.throws);
    this.retainSamples = Boolean(options.retainSamples);
    this.signal = options.signal;
    this.concurrency = options.concurrency ?? null;
    this.now = options.now ?? (() => globalThis.performance.now());
    this.setup = options.setup ?? (() => {});
    this.teardown = options.teardown ?? (() => {});
    this.runtime = runtimeName();
    this.runtimeVersion = runtimeVersion();
  }

  get tasks() {
    return [...this.#tasks.values()];
  }

  get results() {
    return this.tasks.map((task) => task.result);
  }

  add(name, fn, fnOpts = {}) {
    if (this.#tasks.has(name)) throw new Error(`Task "${name}" already exists`);
    const task = new Task(this, name, fn, fnOpts);
    this.#tasks.set(name, task);
    this.dispatchEvent(new BenchEvent("add", task));
    return this;
  }

  remove(name) {
    const task = this.#tasks.get(name);
    if (task) {
      this.#tasks.delete(name);
      retire(task.entry);
      this.dispatchEvent(new BenchEvent("remove", task));
    }
    return this;
  }

  getTask(name) {
    return this.#tasks.get(name);
  }

  reset() {
    for (const task of this.tasks) task.reset();
    this.dispatchEvent(new BenchEvent("reset"));
  }

  async run() {
    this.dispatchEvent(new BenchEvent("start"));
    for (const task of this.tasks) {
      if (this.signal?.aborted) break;
      await task.run();
    }
    this.dispatchEvent(new BenchEvent("complete"));
    return this.tasks;
  }

  runSync() {
    this.dispatchEvent(new BenchEvent("start"));
    for (const task of this.tasks) {
      if (this.signal?.aborted) break;
      task.runSync();
    }
    this.dispatchEvent(new BenchEvent("complete"));
    return this.tasks;
  }

  table(convert) {
    return this.tasks.map((task) => {
      if (convert) return convert(task);
      const r = task.result;
      if (r.state === "errored") {
        return { "Task name": task.name, Error: r.error?.message, Stack: r.error?.stack };
      }
      if (r.state !== "completed") return { "Task name": task.name, Remarks: r.state };
      return {
        "Task name": task.name,
        "Latency avg (ns)": `${formatNumber(mToNs(r.latency.mean), 5, 2)} \xb1 ${r.latency.rme.toFixed(2)}%`,
        "Latency med (ns)": `${formatNumber(mToNs(r.latency.p50), 5, 2)} \xb1 ${formatNumber(mToNs(r.latency.mad), 5, 2)}`,
        "Throughput avg (ops/s)": `${Math.round(r.throughput.mean).toString()} \xb1 ${r.throughput.rme.toFixed(2)}%`,
        "Throughput med (ops/s)": `${Math.round(r.throughput.p50).toString()} \xb1 ${Math.round(r.throughput.mad)}`,
        Samples: r.latency.samplesCount,
      };
    });
  }
}

export const nToMs = (ns) => Number(ns) / 1e6;
export const mToNs = (ms) => Number(ms) * 1e6;

export function formatNumber(value, significantDigits = 5, maxFractionDigits = 2) {
  if (value === Infinity || value === -Infinity) return String(value);
  const digits = Math.floor(Math.log10(Math.abs(value) || 1)) + 1;
  const fraction = Math.max(0, Math.min(maxFractionDigits, significantDigits - digits));
  return value.toFixed(fraction);
}
