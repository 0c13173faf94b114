// modrun:bench — the benchmark harness inside a runtime (modrun's evaluators and Node alike).
// provides: register, retire, onFinish, configure, controlled, runEntry, runEntrySync, finish, measure, measureSync,
//           timerInfo, summarize
//
// The adapters (tinybench.js, mitata.js, benchmark.js, vitest.js) register the benchmarks a suite
// declares; a suite may also export them (`export const benchmarks = {...}`, the native form).
// The host configures which benchmark this runtime measures, imports the suite, then calls
// finish(url). The timing loop runs here, with no host round trip per iteration.

const perf = globalThis.performance;
const now = () => perf.now();

const DEFAULTS = {
  timeMs: 500,        // measuring time per benchmark, after warm-up
  warmupMs: 100,      // warm-up time (it also calibrates the iteration count)
  minSamples: 10,
  maxSamples: 1000,
  minSampleMs: 1,     // a sample lasts at least this long (and 1000 timer ticks)
  iterations: 0,      // > 0: exactly this many iterations per sample, no calibration
  samples: 20,        // the number of samples when `iterations` is fixed
};
const OPTION_NAMES = Object.keys(DEFAULTS);

const entries = [];
const ids = new Set();
const outcomes = new Map(); // index -> {result} | {error}
let control = null; // set by the host: {mode: "collect" | "measure", index, id, options, overrides}
let nativeSeen = false;
const finishers = []; // adapters that register what a suite declared only once it is complete
let timer = null;
let sink; // the last result of a timed loop (see loops)

/** Add a benchmark: {name, group: [names], fn, setup, teardown, beforeEach, afterEach, kind, options, adapter}.
 * kind "fn" calls fn(state) once per iteration; kind "batch" calls fn(n, state) to run n iterations. */
export function register(definition) {
  if (typeof definition.fn !== "function") {
    throw new TypeError(`benchmark '${definition.name}': its function is ${typeof definition.fn}, not a function`);
  }
  const group = (definition.group || []).map(String);
  const base = [...group, String(definition.name)].join(" › ");
  let id = base;
  for (let n = 2; ids.has(id); n++) id = `${base} (${n})`;
  ids.add(id);
  const entry = { kind: "fn", options: {}, adapter: "modrun", ...definition, group, id, index: entries.length };
  entries.push(entry);
  return entry;
}

/** Run `callback` (it may return a promise) when the suite has been imported, before the list is
 * taken: for libraries whose files declare benchmarks without running them (Vitest). */
export function onFinish(callback) {
  finishers.push(callback);
}

/** Take back a benchmark the suite removed before running it (tinybench's `remove`). */
export function retire(entry) {
  entry.retired = true;
}

/** Called by the host before the suite is imported. Without it (a suite run on its own, say with
 * `modrun run`) every benchmark the suite runs is measured with the defaults. */
export function configure(value) {
  control = value;
  return DEFAULTS;
}

/** Is the host choosing what runs (true) or does the suite run on its own (false)? */
export function controlled() {
  return control !== null;
}

/** What an adapter's `run()` calls for each benchmark: the measurement, or null when this runtime
 * does not measure that benchmark. A benchmark is measured at most once per runtime. */
export async function runEntry(entry) {
  if (control === null) return measure(entry, {});
  if (!chosen(entry)) return null;
  if (!outcomes.has(entry.index)) {
    outcomes.set(entry.index, measure(entry, control.options, control.overrides)
      .then((result) => ({ result }), (error) => ({ error })));
  }
  return unwrap(await outcomes.get(entry.index));
}

/** runEntry for the libraries' synchronous runs (tinybench's runSync, benchmark.js's run()). */
export function runEntrySync(entry) {
  if (control === null) return measureSync(entry, {});
  if (!chosen(entry)) return null;
  if (!outcomes.has(entry.index)) {
    let outcome;
    try {
      outcome = { result: measureSync(entry, control.options, control.overrides) };
    } catch (error) {
      outcome = { error };
    }
    outcomes.set(entry.index, outcome);
  }
  const outcome = outcomes.get(entry.index);
  if (isThenable(outcome)) throw new Error(`benchmark '${entry.id}' is already being measured asynchronously`);
  return unwrap(outcome);
}

const chosen = (entry) => control.mode === "measure" && entry.index === control.index;

function unwrap(outcome) {
  if ("error" in outcome) throw outcome.error;
  return outcome.result;
}

/** After the suite's import: registers a native suite's exports, measures the chosen benchmark if
 * the suite did not run it itself, and answers the list of benchmarks and the measurement. */
export async function finish(url) {
  if (!nativeSeen) {
    nativeSeen = true;
    const namespace = await import(url);
    if (namespace.benchmarks !== undefined) registerNative(namespace.benchmarks, []);
    for (const callback of finishers.splice(0)) await callback();
  }
  const listed = entries.filter((e) => !e.retired)
    .map((e) => ({ id: e.id, index: e.index, name: String(e.name), group: e.group, adapter: e.adapter }));
  if (control === null || control.mode !== "measure") return { benchmarks: listed, result: null };
  const entry = entries[control.index];
  if (entry === undefined || entry.retired || entry.id !== control.id) {
    const found = entry === undefined ? `only ${entries.length} benchmark(s)` : `'${entry.id}'`;
    throw new Error(`the suite declared different benchmarks in this runtime: expected '${control.id}' ` +
                    `at position ${control.index + 1}, found ${found}`);
  }
  const result = await runEntry(entry);
  return { benchmarks: listed, result };
}

function registerNative(value, group) {
  if (value === null || typeof value !== "object") {
    throw new TypeError("the export `benchmarks` must be an object: { name: fn | { setup, fn, teardown } }");
  }
  for (const [name, item] of Object.entries(value)) {
    if (typeof item === "function") {
      register({ name, group, fn: item, adapter: "modrun" });
    } else if (item !== null && typeof item === "object" && typeof item.fn === "function") {
      register({ name, group, fn: item.fn, setup: item.setup, teardown: item.teardown,
                 options: optionsOf(item.options || {}), adapter: "modrun" });
    } else if (item !== null && typeof item === "object") {
      registerNative(item, [...group, name]);
    } else {
      throw new TypeError(`benchmarks.${[...group, name].join(".")} must be a function, ` +
                          "an object with `fn`, or a group of benchmarks");
    }
  }
}

function optionsOf(value) {
  const out = {};
  for (const name of OPTION_NAMES) if (typeof value[name] === "number") out[name] = value[name];
  return out;
}

/** The clock: its smallest step and the cost of one read, measured once per runtime. */
export function timerInfo() {
  if (timer !== null) return timer;
  let step = Infinity;
  let reads = 0;
  const started = now();
  for (let i = 0; i < 200; i++) {
    const a = now();
    let b = now();
    reads += 2;
    for (let spins = 0; b === a && spins < 1e6; spins++) { b = now(); reads++; }
    if (b > a && b - a < step) step = b - a;
  }
  const cost = (now() - started) / reads;
  timer = { source: "performance.now", resolution_ms: step, read_cost_ms: cost };
  return timer;
}

const isThenable = (value) => value !== null && (typeof value === "object" || typeof value === "function") &&
  typeof value.then === "function";

// One timed stretch of n iterations; each variant keeps the loop as plain as a hand-written one.
function loops(entry, state, syncOnly) {
  const { fn, beforeEach, afterEach } = entry;
  if (entry.kind === "batch") {
    return { sync: null, async: async (n) => { const t0 = now(); await fn(n, state); return now() - t0; } };
  }
  if (beforeEach || afterEach) {
    // Hooks around every call stay outside the timed window: each call is timed on its own.
    if (syncOnly) {
      return {
        sync: (n) => {
          let total = 0;
          for (let i = 0; i < n; i++) {
            if (beforeEach) refuse(beforeEach(state), entry);
            const t0 = now();
            refuse(fn(state), entry);
            total += now() - t0;
            if (afterEach) refuse(afterEach(state), entry);
          }
          return total;
        },
        async: null,
      };
    }
    return {
      sync: null,
      async: async (n) => {
        let total = 0;
        for (let i = 0; i < n; i++) {
          if (beforeEach) await beforeEach(state);
          const t0 = now();
          const value = fn(state);
          if (isThenable(value)) await value;
          total += now() - t0;
          if (afterEach) await afterEach(state);
        }
        return total;
      },
    };
  }
  // The last result is kept where the optimiser cannot see it unused, or a JIT (Node) drops calls
  // whose results nothing reads. `var`, not `let`: QuickJS checks a `let` on every store (about 8 ns
  // an iteration), while a `var` store costs what discarding the result does.
  const sync = state === undefined
    ? (n) => { var r; const t0 = now(); for (let i = 0; i < n; i++) r = fn(); const t = now() - t0; sink = r; return t; }
    : (n) => { var r; const t0 = now(); for (let i = 0; i < n; i++) r = fn(state); const t = now() - t0; sink = r; return t; };
  const async = async (n) => {
    var r;
    const t0 = now();
    for (let i = 0; i < n; i++) r = await fn(state);
    const t = now() - t0;
    sink = r;
    return t;
  };
  return { sync, async };
}

function refuse(value, entry) {
  if (isThenable(value)) {
    throw new TypeError(`benchmark '${entry.id}' returned a promise in a synchronous run: ` +
                        "run it with the asynchronous run() instead");
  }
}

/** Measure one benchmark: setup, warm-up with calibration, samples, teardown. Times are ms per op. */
export function measure(entry, options, overrides) {
  return drive(steps(entry, options, overrides));
}

/** The same, without ever awaiting: for the libraries' synchronous runs. A benchmark (or hook) that
 * returns a promise is an error there, as in those libraries. */
export function measureSync(entry, options, overrides) {
  const run = steps(entry, options, overrides, true);
  let step = run.next();
  while (!step.done) {
    try {
      refuse(step.value, entry);
    } catch (error) {
      step = run.throw(error);
      continue;
    }
    step = run.next(step.value);
  }
  return step.value;
}

async function drive(run) {
  let step = run.next();
  while (!step.done) {
    let value;
    try {
      value = await step.value;
    } catch (error) {
      step = run.throw(error);
      continue;
    }
    step = run.next(value);
  }
  return step.value;
}

// The measurement as a generator: each `yield` hands a value that may be a promise to the driver,
// which awaits it (measure) or insists it is not one (measureSync). Nothing is awaited per iteration.
function* steps(entry, options, overrides, syncOnly = false) {
  const o = { ...DEFAULTS, ...optionsOf(options || {}), ...optionsOf(entry.options || {}),
              ...optionsOf(overrides || {}) };
  const clock = timerInfo();
  const minSample = Math.max(o.minSampleMs, clock.resolution_ms * 1000);
  const state = entry.setup ? yield entry.setup() : undefined;
  try {
    const variants = loops(entry, state, syncOnly);
    let isAsync = variants.sync === null;
    let n = o.iterations > 0 ? o.iterations : 1;
    const calibrating = o.iterations <= 0;
    // Warm-up: the first call tells a promise-returning function apart; the iteration count grows
    // until one sample lasts at least `minSample`.
    const warmStart = now();
    let warmIterations = 0;
    if (!isAsync) {
      const first = entry.fn(state);
      warmIterations++;
      if (isThenable(first)) { yield first; isAsync = true; }
    }
    const loop = isAsync ? variants.async : variants.sync;
    for (;;) {
      const elapsed = isAsync ? yield loop(n) : loop(n);
      warmIterations += n;
      const calibrated = !calibrating || elapsed >= minSample;
      if (calibrated && now() - warmStart >= o.warmupMs) break;
      if (!calibrated) n = grow(n, elapsed, minSample);
    }
    const warmMs = now() - warmStart;
    const samples = [];
    const started = now();
    const wanted = calibrating ? o.minSamples : o.samples;
    for (;;) {
      const elapsed = isAsync ? yield loop(n) : loop(n);
      samples.push(elapsed / n);
      if (samples.length >= o.maxSamples) break;
      if (samples.length >= wanted && (!calibrating || now() - started >= o.timeMs)) break;
    }
    return {
      samples_ms: samples, iterations_per_sample: n, elapsed_ms: now() - started, async: isAsync,
      timing: entry.beforeEach || entry.afterEach ? "per-call" : entry.kind === "batch" ? "batch" : "loop",
      warmup: { ms: warmMs, iterations: warmIterations }, timer: clock, options: o,
    };
  } finally {
    if (entry.teardown) yield entry.teardown(state);
  }
}

function grow(n, elapsed, target) {
  if (!(elapsed > 0)) return n * 10;
  return Math.min(n * 100, Math.max(n * 2, Math.ceil((n * target * 1.2) / elapsed)));
}

/** Summary statistics of per-op times, for the adapters' result objects (the host computes its own). */
export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const quantile = (q) => {
    const at = (n - 1) * q;
    const lo = Math.floor(at);
    return sorted[lo] + (sorted[Math.min(n - 1, lo + 1)] - sorted[lo]) * (at - lo);
  };
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  const sd = Math.sqrt(variance);
  const sem = sd / Math.sqrt(n);
  const critical = tCritical(n - 1);
  const median = quantile(0.5);
  const deviations = sorted.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
  const mad = deviations[Math.floor((n - 1) / 2)] / 2 + deviations[Math.ceil((n - 1) / 2)] / 2;
  return {
    n, mean, median, min: sorted[0], max: sorted[n - 1], variance, sd, sem, moe: sem * critical,
    rme: mean ? (100 * sem * critical) / mean : Infinity, mad, critical, df: n - 1,
    p25: quantile(0.25), p75: quantile(0.75), p99: quantile(0.99), p995: quantile(0.995), p999: quantile(0.999),
    samples: sorted,
  };
}

// Two-sided 95% Student's t critical values (df 1..30), then the normal value.
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

function tCritical(df) {
  if (df < 1) return T95[0];
  return df <= T95.length ? T95[df - 1] : 1.96;
}
