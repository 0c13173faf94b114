// Imports graphs natively, one per line of stdin (a directory holding main.js), and prints one line
// of JSON per graph: main.js's `result`, or {hang: true} when its import does not settle.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const HANG_MS = 5000;
const lines = createInterface({ input: process.stdin });
for await (const directory of lines) {
  let timer;
  const hang = new Promise((resolve) => { timer = setTimeout(() => resolve({ hang: true }), HANG_MS); });
  let answer;
  try {
    answer = await Promise.race([
      import(pathToFileURL(`${directory}/main.js`).href).then((module) => module.result),
      hang,
    ]);
  } catch (error) {
    answer = { driverError: String(error && error.stack) };
  }
  clearTimeout(timer);
  process.stdout.write(JSON.stringify(answer) + "\n");
}
