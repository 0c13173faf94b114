// Vite 8's own module runner for the benchmarks: a dev server in middleware mode (no HMR, no
// dependency optimizer, no config file) and a server module runner over its `ssr` environment.
// Vite is loaded from the directory in $VITE_DIR (installed by bench/node_peers.py).
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export async function loadVite() {
  const dir = process.env.VITE_DIR;
  if (!dir) throw new Error("VITE_DIR is not set");
  return import(pathToFileURL(join(dir, "node_modules", "vite", "dist", "node", "index.js")).href);
}

// `inline`: node_modules too go through Vite's transform and runner (ssr.noExternal), as modrun runs
// them; by default Vite's SSR leaves them to Node's own loader, which clearCache() does not reset.
export async function createViteRunner(root, inline = false) {
  const vite = await loadVite();
  const server = await vite.createServer({
    root,
    configFile: false,
    logLevel: "silent",
    appType: "custom",
    server: { middlewareMode: true, hmr: false, ws: false, watch: null },
    optimizeDeps: { noDiscovery: true, include: [] },
    ssr: { optimizeDeps: { noDiscovery: true, include: [] }, ...(inline ? { noExternal: true } : {}) },
  });
  const runner = vite.createServerModuleRunner(server.environments.ssr, { hmr: false });
  return {
    server,
    runner,
    async close() {
      await runner.close();
      await server.close();
    },
  };
}
