// TypeScript's transpileModule over files named on stdin (one per line), as the reference for the
// lowering: prints one JSON object {file: output or {error}}.
import fs from "node:fs";
import ts from "typescript";

const compilerOptions = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ESNext, jsx: ts.JsxEmit.ReactJSX };
const out = {};
for (const file of fs.readFileSync(0, "utf8").split("\n").filter(Boolean)) {
  try {
    out[file] = ts.transpileModule(fs.readFileSync(file, "utf8"), { compilerOptions, fileName: file }).outputText;
  } catch (error) {
    out[file] = { error: String(error) };
  }
}
process.stdout.write(JSON.stringify(out));
