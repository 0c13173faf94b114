// A tinybench suite, as its README writes them.
import { Bench } from "tinybench";

const bench = new Bench({ name: "string building", time: 500 });
const parts = Array.from({ length: 100 }, (_, i) => `part${i}`);

bench
  .add("concatenation", () => {
    let s = "";
    for (const p of parts) s += p;
    return s;
  })
  .add("Array#join", () => parts.join(""))
  .add("template literals", () => parts.reduce((s, p) => `${s}${p}`, ""));

await bench.run();
console.log(bench.name);
console.table(bench.table());
