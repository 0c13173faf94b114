// mitata's API (`bench`, `group`, `summary`, `barplot`…, `.args`/`.range`, `await run()`) over modrun's
// harness, resolved in place of the package. The real mitata loads in QuickJS, but its `run()`
// measures every benchmark of the file in one runtime with its own generated loop; here each
// benchmark can run alone in a fresh runtime and every runtime measures with one harness.
// provides: bench, group, summary, barplot, boxplot, lineplot, compact, run, measure, do_not_optimize, flags, B

import { measure as measureEntry, register, runEntry, summarize } from "modrun:bench";

export const flags = { compact: 1 << 0, baseline: 1 << 1 };
const COLORS = ["red", "cyan", "white", "green", "yellow", "magenta", "blue", "black", "gray"];
const pending = []; // benchmarks declared since the last run(), in order
const groups = [{ id: 0, name: null, types: [] }];
let groupNow = groups[0];
let styleFlags = 0;

const isGenerator = (f) => /^(Async)?GeneratorFunction$/.test(Object.getPrototypeOf(f)?.constructor?.name ?? "");
// mitata's three forms: a one-shot function, a generator that yields the measured function, and a
// function taking the state, which loops over it itself.
const kindOf = (f) => (typeof f !== "function" ? undefined : isGenerator(f) ? "yield" : f.length ? "iter" : "fn");

export class B {
  constructor(name, f) {
    this.f = f;
    this._args = {};
    this._group = groupNow.id;
    this._gc = "once";
    this.flags = styleFlags;
    this.name(name);
    if (!kindOf(f)) throw new TypeError("expected iterator, generator or one-shot function");
  }

  name(name, color = false) {
    this._name = name;
    return this.highlight(color);
  }

  gc(mode = "once") {
    if (![true, false, "once", "inner"].includes(mode)) throw new TypeError("invalid gc type");
    this._gc = mode; // no runtime here exposes a collector to call: recorded, not acted on
    return this;
  }

  highlight(color = false) {
    if (color && !COLORS.includes(color)) throw new TypeError("invalid highlight color");
    this._highlight = color || false;
    return this;
  }

  compact(on = true) {
    this.flags = on ? this.flags | flags.compact : this.flags & ~flags.compact;
    return this;
  }

  baseline(on = true) {
    this.flags = on ? this.flags | flags.baseline : this.flags & ~flags.baseline;
    return this;
  }

  range(name, start, end, multiplier = 8) {
    const values = [];
    for (let v = start; v <= end; v *= multiplier) values.push(Math.min(v, end));
    if (!values.includes(end)) values.push(end);
    return this.args(name, values);
  }

  dense_range(name, start, end, step = 1) {
    const values = [];
    for (let v = start; v <= end; v += step) values.push(v);
    if (!values.includes(end)) values.push(end);
    return this.args(name, values);
  }

  args(name, values) {
    if (name === null) delete this._args.x;
    else if (Array.isArray(name)) this._args.x = name;
    else if (typeof name === "string" && values === null) delete this._args[name];
    else if (typeof name === "string" && Array.isArray(values)) this._args[name] = values;
    else if (name !== null && typeof name === "object") {
      for (const [key, value] of Object.entries(name)) {
        if (value == null) delete this._args[key];
        else if (Array.isArray(value)) this._args[key] = value;
        else throw new TypeError("invalid arguments map value");
      }
    } else throw new TypeError("invalid arguments");
    return this;
  }

  /** Every combination of the arguments, first argument varying fastest, as mitata orders them. */
  combinations() {
    const keys = Object.keys(this._args);
    if (!keys.length) return [{ name: this._name, args: {} }];
    const total = keys.reduce((n, key) => n * this._args[key].length, 1);
    const out = [];
    for (let i = 0; i < total; i++) {
      const args = {};
      let rest = i;
      for (const key of keys) {
        const list = this._args[key];
        args[key] = list[rest % list.length];
        rest = Math.floor(rest / list.length);
      }
      let name = this._name;
      for (const key of keys) name = name.replaceAll(`$${key}`, String(args[key]));
      out.push({ name, args });
    }
    return out;
  }

  get kind() {
    const n = Object.keys(this._args).length;
    return n === 0 ? "static" : n === 1 ? "args" : "multi-args";
  }

  async run(thrw = false) {
    const entries = this.combinations().map(({ name, args }) => ({ name, args, entry: definition(this, name, args) }));
    return trial(this, entries.map((e) => ({ ...e, entry: register(e.entry) })), thrw);
  }
}

function stateOf(args, iterations) {
  return {
    get: (name) => args[name],
    *[Symbol.iterator]() { for (let i = 0; i < iterations; i++) yield undefined; },
    async *[Symbol.asyncIterator]() { for (let i = 0; i < iterations; i++) yield undefined; },
  };
}

// A harness definition for one combination of one benchmark.
function definition(b, name, args) {
  const group = groups[b._group]?.name ? [groups[b._group].name] : [];
  const base = { name, group, adapter: "mitata" };
  const f = b.f;
  const kind = kindOf(f);
  if (kind === "fn") return { ...base, fn: () => f() };
  if (kind === "iter") {
    // The function loops over the state itself: the harness hands it the iteration count.
    return { ...base, kind: "batch", fn: (n) => f(stateOf(args, n)) };
  }
  // A generator: the code before its `yield` sets up, the yielded function is measured, the rest tears down.
  let generator;
  const box = { measured: null };
  return {
    ...base,
    fn: () => box.measured(),
    setup: async () => {
      generator = f(stateOf(args, 0));
      const step = await generator.next();
      const yielded = step.value;
      box.measured = typeof yielded === "function" ? yielded : yielded?.bench ?? yielded?.[0];
      if (typeof box.measured !== "function") throw new TypeError(`benchmark '${name}' yielded no function to measure`);
    },
    teardown: async () => { await generator.return?.(); },
  };
}

async function trial(b, runs, thrw) {
  const out = [];
  for (const { name, args, entry } of runs) {
    let stats;
    let error;
    try {
      const measured = await runEntry(entry);
      if (measured !== null) stats = toStats(measured, kindOf(b.f));
    } catch (err) {
      error = err;
      if (thrw) throw err;
    }
    out.push({ stats, error, args, name });
  }
  return {
    runs: out, kind: b.kind, args: b._args, alias: b._name, group: b._group,
    baseline: Boolean(b.flags & flags.baseline),
    style: { highlight: b._highlight, compact: Boolean(b.flags & flags.compact) },
  };
}

// mitata reports nanoseconds per iteration.
function toStats(measured, kind) {
  const ns = measured.samples_ms.map((ms) => ms * 1e6);
  const s = summarize(ns);
  return {
    kind, debug: "", ticks: measured.samples_ms.length * measured.iterations_per_sample, samples: s.samples,
    min: s.min, max: s.max, avg: s.mean, p25: s.p25, p50: s.median, p75: s.p75, p99: s.p99, p999: s.p999,
  };
}

export function bench(name, fn) {
  if (typeof name === "function") {
    fn = name;
    name = fn.name || "anonymous";
  }
  const b = new B(name, fn);
  pending.push(b);
  return b;
}

function collection(f, type, name = null) {
  const previous = groupNow;
  const created = { id: groups.length, name: name ?? groupNow.name, types: [...(groupNow.types || []), type].filter(Boolean) };
  groups.push(created);
  groupNow = created;
  const restore = () => { groupNow = previous; };
  try {
    const value = f();
    if (value && typeof value.then === "function") return value.finally(restore);
  } catch (error) {
    restore();
    throw error;
  }
  restore();
  return undefined;
}

export function group(name, f) {
  if (typeof name === "function") return collection(name, null);
  return collection(f, null, name);
}

export const summary = (f) => collection(f, "s");
export const barplot = (f) => collection(f, "b");
export const boxplot = (f) => collection(f, "x");
export const lineplot = (f) => collection(f, "l");

export function compact(f) {
  const previous = styleFlags;
  styleFlags |= flags.compact;
  try {
    const value = f();
    if (value && typeof value.then === "function") return value.finally(() => { styleFlags = previous; });
  } catch (error) {
    styleFlags = previous;
    throw error;
  }
  styleFlags = previous;
  return undefined;
}

export function do_not_optimize(value) {
  // Interpreters do not eliminate dead code; in Node a global write keeps the value observable.
  globalThis.__modrunSink = value;
}

/** Measure one function right away (mitata's `measure`), with the harness's defaults. */
export async function measure(f, options = {}) {
  const kind = kindOf(f);
  const args = options.args || {};
  const entry = { id: "measure", name: "measure", ...definition({ f, _group: 0, _name: "measure" }, "measure", args) };
  return toStats(await measureEntry(entry, {}), kind);
}

export async function run(options = {}) {
  const declared = pending.splice(0);
  const filter = options.filter;
  const benchmarks = [];
  const layout = groups.map((g) => ({ name: g.name, types: g.types }));
  for (const b of declared) {
    const runs = b.combinations().filter(({ name }) => !filter || filter.test(name));
    if (!runs.length) continue;
    const registered = runs.map(({ name, args }) => ({ name, args, entry: register(definition(b, name, args)) }));
    benchmarks.push(await trial(b, registered, options.throw));
  }
  const result = { layout, benchmarks, context: context() };
  print(result, options);
  return result;
}

function context() {
  const node = globalThis.process?.versions?.node;
  return { now: Date.now(), arch: null, runtime: node ? "node" : "quickjs-ng", cpu: { name: null, freq: 0 } };
}

function print(result, options) {
  const format = options.format ?? "mitata";
  const out = options.print ?? ((line) => console.log(line));
  const name = typeof format === "object" ? Object.keys(format)[0] : format;
  if (name === "quiet") return;
  if (name === "json") {
    out(JSON.stringify(result, (key, value) => (value instanceof Error ? { message: value.message, stack: value.stack } : value), 0));
    return;
  }
  const rows = [];
  for (const trialResult of result.benchmarks) {
    for (const r of trialResult.runs) {
      if (r.error) rows.push([r.name, `error: ${r.error.message ?? r.error}`, ""]);
      else if (r.stats) rows.push([r.name, `${time(r.stats.avg)}/iter`, `${time(r.stats.min)} … ${time(r.stats.max)}`]);
    }
  }
  if (!rows.length) return; // another runtime measures these benchmarks
  if (name === "markdown") {
    out(["| benchmark | avg | min … max |", "|---|---|---|", ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n"));
  } else {
    const width = Math.max(...rows.map((r) => r[0].length));
    out(rows.map(([n, avg, range]) => `${n.padEnd(width)}  ${avg.padStart(14)}  ${range ? `(${range})` : ""}`).join("\n"));
  }
}

function time(ns) {
  if (ns < 1e3) return `${ns.toFixed(2)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}
