// node vite_hmr.mjs ROOT EDITS
// Vite 8's own SSR HMR on the project at ROOT: a dev server with its file watcher and HMR on, a
// server module runner over its `ssr` environment importing /main.js, whose accept callback for
// ./dep.js calls globalThis.__hmrApplied. Each edit rewrites dep.js and waits for that call: the
// time from the write to the new code running. Prints one JSON line: {ms: [...]}.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadVite } from "./vite_runner.mjs";

const [root, editsArg] = process.argv.slice(2);
const edits = Number(editsArg || 200);
// Between edits (not timed): chokidar drops a change that follows the last one too closely.
const PAUSE_MS = 100;
const vite = await loadVite();
const server = await vite.createServer({
  root,
  configFile: false,
  logLevel: "silent",
  appType: "custom",
  server: { middlewareMode: true, hmr: true, ws: false, watch: {} },
  optimizeDeps: { noDiscovery: true, include: [] },
  ssr: { optimizeDeps: { noDiscovery: true, include: [] } },
});
const runner = vite.createServerModuleRunner(server.environments.ssr, { hmr: { logger: false } });
await runner.import("/main.js");
await new Promise((r) => setTimeout(r, 300)); // the watcher is ready
const ms = [];
for (let i = 1; i <= edits; i++) {
  const applied = new Promise((resolve) => { globalThis.__hmrApplied = resolve; });
  const t0 = performance.now();
  writeFileSync(join(root, "dep.js"), `export const value = ${i};\n`);
  const value = await Promise.race([applied, new Promise((r) => setTimeout(() => r("timeout"), 10000))]);
  if (value !== i) throw new Error(`edit ${i}: got ${value}`);
  ms.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, PAUSE_MS));
}
console.log(JSON.stringify({ ms }));
await runner.close();
await server.close();
process.exit(0);
