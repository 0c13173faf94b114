// Vitest's benchmark API (`bench`, `describe`, the hooks) over modrun's harness, resolved in place of
// the package: Vitest's runner is a Node program (workers, node: built-ins, Vite) that cannot load
// in a sandboxed runtime. Benchmarks are declared as the file is evaluated and registered when the
// host finishes the suite, so `.only` anywhere in the file applies to all of it, as in Vitest.
// provides: bench, describe, suite, beforeAll, afterAll, beforeEach, afterEach

import { onFinish, register } from "modrun:bench";

const root = { name: null, parent: null, items: [], hooks: { beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] },
               skip: false, only: false };
let current = root;
const collecting = []; // promises of async describe bodies
let anyOnly = false;

function declareBench(name, fn, options = {}, mode = "run") {
  if (mode === "todo") return;
  if (typeof fn !== "function") throw new TypeError(`bench '${name}': expected a function, got ${typeof fn}`);
  if (mode === "only") anyOnly = true;
  current.items.push({ type: "bench", name: String(name), fn, options, skip: mode === "skip", only: mode === "only" });
}

function declareSuite(name, body, mode = "run") {
  if (mode === "only") anyOnly = true;
  const node = { type: "suite", name: String(name), parent: current, items: [], skip: mode === "skip" || mode === "todo",
                 only: mode === "only", hooks: { beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] } };
  current.items.push(node);
  if (typeof body !== "function") return;
  const previous = current;
  current = node;
  try {
    const value = body();
    if (value && typeof value.then === "function") collecting.push(value);
  } finally {
    current = previous;
  }
}

function withModes(declare) {
  const fn = (...args) => declare(...args);
  fn.skip = (...args) => declare(args[0], args[1], args[2], "skip");
  fn.only = (...args) => declare(args[0], args[1], args[2], "only");
  fn.todo = (name) => declare(name, undefined, undefined, "todo");
  fn.skipIf = (condition) => (...args) => declare(args[0], args[1], args[2], condition ? "skip" : "run");
  fn.runIf = (condition) => (...args) => declare(args[0], args[1], args[2], condition ? "run" : "skip");
  return fn;
}

export const bench = withModes((name, fn, options, mode) => declareBench(name, fn, options, mode));
export const describe = withModes((name, body, _options, mode) => declareSuite(name, body, mode));
export const suite = describe;

const hook = (kind) => (fn) => { current.hooks[kind].push(fn); };
export const beforeAll = hook("beforeAll");
export const afterAll = hook("afterAll");
export const beforeEach = hook("beforeEach");
export const afterEach = hook("afterEach");

// Vitest's bench options are tinybench's: time, iterations, warmupTime, warmup…; setup and teardown
// (task, mode) run around the task's measurement.
function harnessOptions(options) {
  const out = {};
  if (typeof options.time === "number") out.timeMs = options.time;
  if (typeof options.iterations === "number") out.minSamples = options.iterations;
  if (options.warmup === false) out.warmupMs = 0;
  else if (typeof options.warmupTime === "number") out.warmupMs = options.warmupTime;
  return out;
}

function chainOf(node) {
  const chain = [];
  for (let n = node; n; n = n.parent) chain.unshift(n);
  return chain;
}

function registerTree(node, group, inherited) {
  for (const item of node.items) {
    const skip = inherited.skip || item.skip;
    const only = inherited.only || item.only;
    if (item.type === "suite") {
      item.parent = node;
      registerTree(item, [...group, item.name], { skip, only });
      continue;
    }
    if (skip || (anyOnly && !only)) continue;
    const chain = chainOf(node);
    const task = { name: item.name };
    const options = item.options || {};
    register({
      name: item.name, group, adapter: "vitest", fn: item.fn, options: harnessOptions(options),
      setup: async () => {
        for (const n of chain) for (const f of n.hooks.beforeAll) await f();
        for (const n of chain) for (const f of n.hooks.beforeEach) await f();
        if (options.setup) await options.setup(task, "run");
      },
      teardown: async () => {
        if (options.teardown) await options.teardown(task, "run");
        for (const n of [...chain].reverse()) for (const f of n.hooks.afterEach) await f();
        for (const n of [...chain].reverse()) for (const f of n.hooks.afterAll) await f();
      },
    });
  }
}

onFinish(async () => {
  await Promise.all(collecting);
  registerTree(root, [], { skip: false, only: false });
});
