"""quickjs-rs: resident memory of N sandboxes (Runtime + Context, each having evaluated a
little code) held at once. Prints JSON."""

import json
import os
import sys

import quickjs_rs


def memory() -> dict[str, int]:
    out = {}
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:", "Private_Clean:", "Private_Dirty:"):
                out[parts[0][:-1]] = int(parts[1]) * 1024
    return out


count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
warm = quickjs_rs.Runtime()
warm.new_context().eval("1")
before = memory()
held = []
for i in range(count):
    runtime = quickjs_rs.Runtime(memory_limit=64 << 20)
    context = runtime.new_context()
    context.eval(f"globalThis.x = {i}; x + 1")
    held.append((runtime, context))
after = memory()
print(json.dumps({"count": count, "before": before, "after": after, "pid": os.getpid()}))
