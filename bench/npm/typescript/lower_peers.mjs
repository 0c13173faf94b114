// The peers of modrun's TypeScript lowering, in one Node process: each tool lowers every file
// named on stdin, REPEAT times; prints {tool: [ms per round]} as JSON. File reading is not timed.
import fs from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const repeat = Number(process.argv[2] || 5);
const files = fs.readFileSync(0, "utf8").split("\n").filter(Boolean).map((f) => [f, fs.readFileSync(f, "utf8")]);
const ts = require("typescript");
const esbuild = require("esbuild");
const amaro = require("amaro");
const tsOptions = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ESNext };
const tools = {
  "typescript transpileModule": ([name, code]) => ts.transpileModule(code, { compilerOptions: tsOptions, fileName: name }),
  "esbuild transformSync": ([, code]) => esbuild.transformSync(code, { loader: "ts", sourcemap: true }),
  "amaro transformSync (Node's stripper)": ([, code]) => amaro.transformSync(code, { mode: "transform", sourceMap: true }),
};
const out = {};
for (const [tool, lower] of Object.entries(tools)) {
  for (const file of files.slice(0, 20)) lower(file); // warm up the JIT and lazy init
  out[tool] = [];
  for (let r = 0; r < repeat; r++) {
    const started = performance.now();
    for (const file of files) lower(file);
    out[tool].push(performance.now() - started);
  }
}
console.log(JSON.stringify(out));
