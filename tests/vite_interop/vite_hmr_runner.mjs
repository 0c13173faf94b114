// A real Vite ModuleRunner in Node with HMR on, pointed at a modrun environment over WebSocket.
// Copied by tests/test_hmr_vite_runner.py next to the pinned `vite` it installs.
//
//   node --experimental-websocket vite_hmr_runner.mjs WS_URL ENTRY
//
// Imports ENTRY, then waits (at most 60 s) until an HMR update sent by modrun has run the entry's
// accept callback (which sets globalThis.__applied). Prints one JSON line: {first, applied}.
import { ESModulesEvaluator, ModuleRunner, createWebSocketModuleRunnerTransport } from "vite/module-runner";

const [url, entry] = process.argv.slice(2);
const runner = new ModuleRunner(
  {
    transport: createWebSocketModuleRunnerTransport({ createConnection: () => new WebSocket(url, "vite-hmr") }),
    hmr: { logger: false },
  },
  new ESModulesEvaluator(),
);
const out = {};
try {
  const mod = await runner.import(entry);
  out.first = mod.first;
  for (let i = 0; i < 6000 && globalThis.__applied === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  out.applied = globalThis.__applied ?? null;
} catch (error) {
  out.error = { message: String(error && error.message), stack: String(error && error.stack) };
}
console.log(JSON.stringify(out));
await runner.close();
process.exit(0);
