// The Node side of one `modrun bench` run: argv is the suite's path, the run's control (JSON) and the
// file the answer goes to; stdout and stderr stay the suite's own console output.
import { writeFileSync } from "node:fs";
import { register } from "node:module";
import { pathToFileURL } from "node:url";

const [suitePath, controlJson, resultPath] = process.argv.slice(2);
const control = JSON.parse(controlJson);
register(new URL("./node_hooks.mjs", import.meta.url), { data: { modules: control.modules } });

const errorData = (error) => (error instanceof Error
  ? { name: error.name, message: error.message, stack: error.stack, code: error.code }
  : { name: "Error", message: String(error), stack: String(error) });

let answer;
try {
  const harness = await import("modrun:bench");
  harness.configure(control.control);
  const url = pathToFileURL(suitePath).href;
  try {
    await import(url);
  } catch (error) {
    const load = typeof error?.code === "string" && /^ERR_(MODULE|UNSUPPORTED|IMPORT|REQUIRE|PACKAGE)/.test(error.code);
    throw Object.assign(error, { modrunKind: load ? "load" : "js" });
  }
  answer = { ok: true, ...(await harness.finish(url)) };
} catch (error) {
  answer = { ok: false, error: { ...errorData(error), kind: error?.modrunKind ?? "js" } };
}
writeFileSync(resultPath, JSON.stringify(answer));
process.exitCode = answer.ok ? 0 : 1;
