"""quickjs-rs: host -> JS function call round trip (`add(1, 2)` through a function handle, and
through eval), µs per call. Prints JSON."""

import json
import statistics
import sys
import time

import quickjs_rs

calls = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
runtime = quickjs_rs.Runtime()
context = runtime.new_context()
context.eval("globalThis.add = (a, b) => a + b; 0")
add = context.eval_handle("add")
out = {}
for label, fn in [("handle_call", lambda: add.call(1, 2).to_python()), ("eval", lambda: context.eval("add(1, 2)"))]:
    for _ in range(100):
        fn()
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    out[label] = {"p50": samples[len(samples) // 2] / 1000, "p90": samples[int(0.9 * len(samples))] / 1000,
                  "mean": statistics.mean(samples) / 1000}
print(json.dumps(out))
