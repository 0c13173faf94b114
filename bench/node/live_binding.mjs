// node live_binding.mjs vite|native ROOT N REPEAT
// Imports ROOT/main.js (natively, or through Vite 8's module runner) and runs each loop of
// bench/fixtures/live_binding/main.js REPEAT times after one warm-up; prints
// {loop: [ms, ...]} as JSON, timed inside Node.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createViteRunner } from "./vite_runner.mjs";

const [mode, root, nArg, repeatArg] = process.argv.slice(2);
const n = Number(nArg);
const repeat = Number(repeatArg);
let mod;
let vite;
if (mode === "vite") {
  vite = await createViteRunner(root);
  mod = await vite.runner.import("/main.js");
} else {
  mod = await import(pathToFileURL(join(root, "main.js")).href);
}
const out = {};
for (const name of ["viaImport", "viaImportLet", "viaAlias", "viaLocal"]) {
  const first = mod.timed(name, n);
  if (first.result !== n) throw new Error(`${name}: ${first.result} !== ${n}`);
  out[name] = [];
  for (let i = 0; i < repeat; i++) out[name].push(mod.timed(name, n).ms);
}
if (vite) await vite.close();
process.stdout.write(JSON.stringify(out) + "\n");
