// What each benchmark library's API answers, reduced to its shape (names, events, keys, formats),
// with the real package or, when argv[2] names modrun's hooks and adapters, with modrun's adapters
// (running on their own, outside a bench run): tests/test_bench_adapters.py compares the two.
import { register } from "node:module";

if (process.argv[2]) {
  const { hooks, modules } = JSON.parse(process.argv[2]);
  register(hooks, { data: { modules } });
}
const keys = (value) => Object.keys(value).sort();
const out = {};

{
  const { Bench } = await import("tinybench");
  const bench = new Bench({ name: "shapes", time: 20, warmupTime: 5, iterations: 5 });
  const events = [];
  bench.addEventListener("cycle", (event) => events.push(`cycle ${event.task.name}`));
  bench.addEventListener("complete", () => events.push("complete"));
  bench.add("empty", () => {}).add("loop", () => { let s = 0; for (let i = 0; i < 100; i++) s += i; return s; });
  const tasks = await bench.run();
  const [task] = tasks;
  out.tinybench = {
    tasks: tasks.map((t) => t.name), events, state: task.result.state, result: keys(task.result),
    latency: keys(task.result.latency), throughput: keys(task.result.throughput), table: keys(bench.table()[0]),
    positive: task.result.latency.mean > 0 && task.result.throughput.mean > 0,
  };
}

{
  const mitata = await import("mitata");
  mitata.bench("one-shot", () => 1);
  mitata.group("g", () => {
    mitata.bench("gen $n", function* (state) {
      const n = state.get("n");
      yield () => n * 2;
    }).args("n", [1, 2]);
  });
  const result = await mitata.run({ format: "quiet" });
  const [trial] = result.benchmarks;
  out.mitata = {
    names: result.benchmarks.flatMap((b) => b.runs.map((r) => r.name)), kinds: result.benchmarks.map((b) => b.kind),
    trial: keys(trial), run: keys(trial.runs[0]), style: keys(trial.style),
    stats: keys(trial.runs[0].stats).filter((k) => !["gc", "heap", "counters"].includes(k)),
    context: keys(result).includes("context"),
  };
}

{
  const Benchmark = (await import("benchmark")).default;
  const suite = new Benchmark.Suite("shapes");
  const cycles = [];
  let fastest;
  suite
    .add("empty", () => {}, { maxTime: 0.05 })
    .add("loop", () => { let s = 0; for (let i = 0; i < 1000; i++) s += i; return s; }, { maxTime: 0.05 })
    .on("cycle", (event) => cycles.push(String(event.target)))
    .on("complete", function () { fastest = this.filter("fastest").map("name"); })
    .run();
  out.benchmark = {
    cycles: cycles.map((c) => c.replace(/[\d.,]+/g, "N")), fastest, length: suite.length,
    stats: keys(suite[0].stats), times: keys(suite[0].times), hz: suite[0].hz > 0,
    compare: suite[0].compare(suite[1]),
  };
}

console.log(JSON.stringify(out));
