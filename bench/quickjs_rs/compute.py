"""quickjs-rs: the compute fixture's `fib(25)` and `workload(1000)`, ms per call (best of N).
Prints JSON."""

import json
import sys
import time
from pathlib import Path

import quickjs_rs

source = Path(sys.argv[1]).read_text().replace("export function", "function")
repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
runtime = quickjs_rs.Runtime(memory_limit=512 << 20)
context = runtime.new_context(timeout=120)
context.eval(source + "\n0")
out = {}
for name, call in [("fib", "fib(25)"), ("workload", "JSON.stringify(workload(1000)).length")]:
    context.eval(call)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        context.eval(call)
        best = min(best, time.perf_counter() - t0)
    out[name] = best * 1000
print(json.dumps(out))
