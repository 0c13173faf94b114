// A real Vite ModuleRunner in Node, pointed at a modrun environment served over WebSocket.
// Copied by tests/test_ws_server.py next to the pinned `vite` it installs, so that
// "vite/module-runner" resolves the way it does in a user's project.
//
//   node --experimental-websocket vite_runner.mjs WS_URL ENTRY
//
// Prints one JSON line: what the imported graph computed, as seen from Node.
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
  out.exports = Object.keys(mod).sort();
  out.render = await mod.render("/about");
  out.counter = [mod.counter, mod.bump(), mod.counter];
  out.shapes = mod.shapes.map((shape) => [shape.constructor.name, shape.area()]);
  out.lazy = await mod.lazy();
  out.meta = mod.meta;
  out.stack = mod.failure();
  out.stackLine = out.stack.split("\n").find((line) => line.includes("shapes.js")) || null;
  // The HMR channel: the server pings the graph through import.meta.hot; wait for it.
  for (let i = 0; i < 500 && globalThis.__modrunPing === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  out.ping = globalThis.__modrunPing ?? null;
  try {
    await runner.import("/src/broken.js");
    out.broken = null;
  } catch (error) {
    out.broken = { message: String(error.message), code: error.code ?? null };
  }
} catch (error) {
  out.error = { message: String(error && error.message), stack: String(error && error.stack) };
}
console.log(JSON.stringify(out));
await runner.close();
process.exit(0);
