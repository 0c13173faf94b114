// Builds a folder of TypeScript / TSX modules into plain ES modules (CommonJS for .cts) for Node with TypeScript's own
// transpileModule (no type checking): the reference for what modrun's lowering must mean.
// usage: node build.mjs SRC_DIR OUT_DIR ['{"jsx": "react-jsxdev", ...compilerOptions over SRC_DIR/tsconfig.json}']
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";

const [src, out, overrides] = process.argv.slice(2);
const read = ts.readConfigFile(path.join(src, "tsconfig.json"), ts.sys.readFile);
const json = { ...(read.config?.compilerOptions ?? {}), ...JSON.parse(overrides || "{}") };
const compilerOptions = {
  ...ts.convertCompilerOptionsFromJson(json, src).options,
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2022,
};
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "package.json"), '{"type": "module"}\n');
for (const entry of fs.readdirSync(src, { recursive: true })) {
  const file = path.join(src, entry);
  if (!/\.(ts|tsx|mts|cts|jsx)$/.test(file) || file.endsWith(".d.ts")) continue;
  // A .cts file is CommonJS: TypeScript emits require and module.exports for it.
  const options = file.endsWith(".cts") ? { ...compilerOptions, module: ts.ModuleKind.CommonJS } : compilerOptions;
  const result = ts.transpileModule(fs.readFileSync(file, "utf8"), { compilerOptions: options, fileName: file, reportDiagnostics: true });
  if (result.diagnostics.length) {
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => src, getNewLine: () => "\n" };
    console.error(ts.formatDiagnostics(result.diagnostics, host));
    process.exit(1);
  }
  const target = path.join(out, entry).replace(/\.(ts|tsx|jsx)$/, ".js").replace(/\.mts$/, ".mjs").replace(/\.cts$/, ".cjs");
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, result.outputText);
}
