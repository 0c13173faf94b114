"""quickjs-rs: a new sandbox (Runtime + Context) ready to evaluate, in this warm process and, for
the first one, in a fresh process (which has no compile cache). Prints JSON."""

import json
import statistics
import sys
import time

started = time.perf_counter()
import quickjs_rs  # noqa: E402

imported = time.perf_counter()
runtime = quickjs_rs.Runtime(memory_limit=64 << 20)
context = runtime.new_context()
first = time.perf_counter()
assert context.eval("1 + 1") == 2
warm = []
for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 200):
    t0 = time.perf_counter()
    r = quickjs_rs.Runtime(memory_limit=64 << 20)
    c = r.new_context()
    warm.append((time.perf_counter() - t0) * 1000)
    r.close()
print(json.dumps({"fresh_process_ms": (first - started) * 1000, "import_ms": (imported - started) * 1000,
                  "first_sandbox_ms": (first - imported) * 1000, "warm_p50_ms": statistics.median(warm),
                  "warm_p90_ms": sorted(warm)[int(0.9 * (len(warm) - 1))]}))
