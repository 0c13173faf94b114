// Prints what Node's cjs-module-lexer (the version Node 20.20 ships, from this folder's
// node_modules) finds in each source, as one JSON line per source: the sources come on stdin as
// a JSON array of strings; a source the lexer rejects (ES module syntax) prints {"error": ...}.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const { parse } = createRequire(import.meta.url)("cjs-module-lexer");
const sources = JSON.parse(readFileSync(0, "utf8"));
for (const source of sources) {
  let result;
  try {
    result = parse(source);
  } catch (error) {
    result = { error: String(error.message).split("\n")[0] };
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}
