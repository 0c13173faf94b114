// A mitata suite: groups, a summary, and a benchmark over a range of sizes.
import { bench, group, run, summary } from "mitata";

function fibonacci(n) {
  return n <= 1 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

bench("fibonacci(15)", () => fibonacci(15));

group("arrays", () => {
  summary(() => {
    bench("Array.from($size)", function* (state) {
      const size = state.get("size");
      yield () => Array.from({ length: size }, (_, i) => i);
    }).range("size", 8, 512);

    bench("new Array($size).fill", function* (state) {
      const size = state.get("size");
      yield () => new Array(size).fill(0);
    }).range("size", 8, 512);
  });
});

await run();
