// node [--jitless] compute.mjs MODULE REPEAT CALLS_JSON
// Imports MODULE natively and times each call (CALLS_JSON: [[name, ...args], ...]) REPEAT times
// after two warm-up calls; prints {name: {samples_ms: [...], result}} as JSON.
import { pathToFileURL } from "node:url";

const [modulePath, repeatArg, callsJson] = process.argv.slice(2);
const mod = await import(pathToFileURL(modulePath).href);
const repeat = Number(repeatArg);
const out = {};
for (const [name, ...args] of JSON.parse(callsJson)) {
  const fn = mod[name];
  let result = fn(...args);
  fn(...args);
  const samples = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    result = fn(...args);
    samples.push(performance.now() - t0);
  }
  out[`${name}(${args.join(", ")})`] = { samples_ms: samples, result };
}
process.stdout.write(JSON.stringify(out) + "\n");
