// node vite_import.mjs ROOT URL [REIMPORTS] [inline]
// Imports URL through Vite's module runner, as a whole process would. With REIMPORTS > 0 it then
// clears the runner's cache and imports again that many times (server transforms stay warm) and
// prints one JSON line of timings to stderr: {cold_ms, reimport_ms: [...], cached_us}. With `inline`,
// node_modules go through the runner too (vite_runner.mjs).
import { createViteRunner } from "./vite_runner.mjs";

const [root, url, reimportsArg, inline] = process.argv.slice(2);
const reimports = Number(reimportsArg || 0);
const started = performance.now();
const vite = await createViteRunner(root, inline === "inline");
const ready = performance.now();
await vite.runner.import(url);
const imported = performance.now();
const times = [];
let cachedUs = null;
if (reimports > 0) {
  const original = console.log;
  console.log = () => {};  // the entry prints on every evaluation
  for (let i = 0; i < reimports; i++) {
    vite.runner.clearCache();
    const t0 = performance.now();
    await vite.runner.import(url);
    times.push(performance.now() - t0);
  }
  const n = 1000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await vite.runner.import(url);
  cachedUs = ((performance.now() - t0) / n) * 1000;
  console.log = original;
}
await vite.close();
if (reimports > 0) {
  process.stderr.write(JSON.stringify({
    server_ms: ready - started, cold_ms: imported - ready, reimport_ms: times, cached_us: cachedUs,
  }) + "\n");
}
