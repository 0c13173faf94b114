// The reference side of the web-platform-tests runner (tests/conformance/wpt.py): one `.any.js`
// test in this Node process, natively, as WPT's worker wrapper would run it — `self`, `GLOBAL`,
// `location`, testharness.js, the `// META: script=` files, the test — and its results printed
// as one line of JSON: {"harness": {status, message}, "tests": [{name, status, message}]}.
//
//     node wpt_node.mjs WPT_ROOT TEST_PATH TIMEOUT_MS
//
// Files of the WPT tree are served to the test's fetch() (data files such as urltestdata.json);
// anything else goes to Node's own fetch.

import { readFileSync } from "node:fs";
import path from "node:path";
import vm from "node:vm";

const [root, testPath, timeoutText] = process.argv.slice(2);
const timeoutMs = Number(timeoutText);
const ORIGIN = "http://web-platform.test:8000";
const MIME = { ".json": "application/json", ".js": "text/javascript", ".txt": "text/plain" };

const results = { harness: null, tests: [] };
let printed = false;
function finish() {
  if (printed) return;
  printed = true;
  // A pipe's writes are asynchronous: exiting before this one is flushed would cut it short.
  process.stdout.write(`${JSON.stringify(results)}\n`, () => process.exit(0));
}

globalThis.self = globalThis;
globalThis.GLOBAL = { isWindow: () => false, isWorker: () => true, isShadowRealm: () => false };
globalThis.location = new URL(`${ORIGIN}/${testPath}`);
const nodeFetch = globalThis.fetch;
globalThis.fetch = async function fetch(input, init) {
  const url = new URL(input instanceof Request ? input.url : String(input), globalThis.location.href);
  if (url.origin !== ORIGIN) return nodeFetch(input, init);
  const file = path.join(root, decodeURIComponent(url.pathname));
  let body;
  try {
    body = readFileSync(file);
  } catch {
    return new Response("not found", { status: 404 });
  }
  return new Response(body, { headers: { "content-type": MIME[path.extname(file)] || "application/octet-stream" } });
};

function run(file) {
  vm.runInThisContext(readFileSync(file, "utf8"), { filename: file });
}

// Node has no global EventTarget, so testharness.js cannot listen for what a worker's global would
// tell it; the process's own events stand in: an uncaught exception or an unhandled rejection ends
// the file with a harness error, as testharness.js does in a worker.
function uncaught(prefix, error) {
  results.harness ??= { status: 1, message: `${prefix}: ${error && error.message || error}` };
  globalThis.done?.();
  setTimeout(finish, 0);
}
process.on("uncaughtException", (error) => uncaught("uncaught exception", error));
process.on("unhandledRejection", (reason) => uncaught("Unhandled rejection", reason));

run(path.join(root, "resources/testharness.js"));
globalThis.add_result_callback((test) => {
  results.tests.push({ name: test.name, status: test.status, message: test.message || null });
});
globalThis.add_completion_callback((_tests, status) => {
  results.harness ??= { status: status.status, message: status.message || null };
  finish();
});

const source = readFileSync(path.join(root, testPath), "utf8");
const scripts = [...source.matchAll(/^\/\/ META: script=(.+)$/gm)].map((match) => match[1].trim());
try {
  for (const script of scripts) {
    run(script.startsWith("/") ? path.join(root, script) : path.join(root, path.dirname(testPath), script));
  }
  run(path.join(root, testPath));
} catch (error) {
  // What a worker's `error` event would tell the harness: the file stopped with an exception.
  results.harness = { status: 1, message: `uncaught exception in a script: ${error && error.stack || error}` };
  globalThis.done();
}
// Node ends a process whose loop is empty: a test still waiting then never completes.
setTimeout(() => globalThis.timeout(), timeoutMs).unref?.();
const keepAlive = setInterval(() => {}, 1000);
process.on("exit", () => clearInterval(keepAlive));
