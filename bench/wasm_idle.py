"""1,000 idle sandboxes held at once: how much memory they take.

Each count runs in a fresh process (so nothing else is in its memory), which creates the
runtimes, imports a small module into each (bench/fixtures/calls.js through the module runner),
and reads /proc/self/smaps_rollup before and after:

- RSS: resident pages as the kernel counts them per mapping — a page of the snapshot image
  that 1,000 instances have read counts 1,000 times, although it is one page of page cache;
- PSS: resident pages divided among the mappings that share them (the honest total);
- private (dirty + clean): pages that belong to this process alone;
- for one more wasm sandbox, the heap pages its import wrote (/proc/self/pagemap) and how many bytes
  in them actually changed: what copy-on-write amplifies into a sandbox's private memory.

Rows: the wasm evaluator (instances of the snapshot: copy-on-write, so an idle sandbox owns only
what it wrote), the in-process evaluator, and quickjs-rs Runtime + Context pairs (in its own
environment, each having evaluated a line of code).

Goal (from the issue): 1,000 idle wasm sandboxes <= 4 GB resident.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import harness
import quickjs_rs_peer

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOAL_BYTES = 4 * 1000**3

HOLD = """
import asyncio, json, sys
from runner import Server

def memory():
    out = {}
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:", "Private_Clean:", "Private_Dirty:"):
                out[parts[0][:-1]] = int(parts[1]) * 1024
    return out

async def main(evaluator, count, root):
    async with Server(root=root, cache_dir=False, environments={"e": {"evaluator": evaluator}}) as server:
        environment = server.environments["e"]
        warm = await environment.create_runner()
        await warm.invoke("import", ["/calls.js"])
        before = memory()
        held = []
        for _ in range(count):
            runner = await environment.create_runner()
            await runner.invoke("import", ["/calls.js"])
            held.append(runner)
        after = memory()
        assert await held[-1].call("/calls.js", ["add"], [1, 2]) == 3
        out = {"count": count, "before": before, "after": after}
        if evaluator == "wasm":
            out["copy_on_write"] = await copy_on_write(environment)
        print(json.dumps(out))

def written_pages(base, size):
    # pages of [base, base + size) this process wrote: present, and no longer the file's (pagemap)
    with open("/proc/self/pagemap", "rb") as pagemap:
        pagemap.seek(base // 4096 * 8)
        entries = pagemap.read(size // 4096 * 8)
    flags = [int.from_bytes(entries[i:i + 8], "little") for i in range(0, len(entries), 8)]
    return [i for i, f in enumerate(flags) if f >> 63 & 1 and not f >> 61 & 1]

async def copy_on_write(environment):
    # one more sandbox: the heap pages its import wrote (the stack, first in memory and zero in the
    # snapshot, left out) and how many bytes in them actually changed
    runner = await environment.create_runner()
    guest = runner.transport.guest
    size, stack = guest.memory_size(), guest.stack_pointer()
    image = guest.read(0, size)
    await runner.invoke("import", ["/calls.js"])
    now = guest.read(0, size)
    pages = [p for p in written_pages(guest.base, size) if p * 4096 >= stack]
    changed = sum(a != b for p in pages for a, b in zip(image[p * 4096:p * 4096 + 4096], now[p * 4096:p * 4096 + 4096]))
    return {"pages": len(pages), "changed_bytes": changed}

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
"""


def _hold(evaluator: str, count: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", HOLD, evaluator, str(count), str(FIXTURES)], capture_output=True,
                          text=True, cwd=ROOT, check=True, timeout=1200)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _grown(result: dict[str, Any]) -> dict[str, float]:
    before, after = result["before"], result["after"]
    rss = after["Rss"] - before["Rss"]
    pss = after["Pss"] - before["Pss"]
    private = (after["Private_Dirty"] + after["Private_Clean"]) - (before["Private_Dirty"] + before["Private_Clean"])
    return {"rss": rss, "pss": pss, "private": private, "count": result["count"],
            **({"copy_on_write": result["copy_on_write"]} if "copy_on_write" in result else {})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    ns = parser.parse_args(argv)
    results = {"wasm": _grown(_hold("wasm", ns.count)), "inprocess": _grown(_hold("inprocess", ns.count))}
    peer = quickjs_rs_peer.run("idle", str(ns.count), timeout=3600)
    if peer:
        results[f"quickjs-rs {quickjs_rs_peer.version()}"] = _grown(peer)

    mib = 1024 * 1024
    rows = [[name, r["rss"] / mib, r["pss"] / mib, r["private"] / mib, r["rss"] / r["count"] / 1024,
             r["pss"] / r["count"] / 1024] for name, r in results.items()]
    print(harness.table(["sandboxes held", "RSS MiB", "PSS MiB", "private MiB", "RSS KiB each", "PSS KiB each"], rows,
                        f"wasm_idle: {ns.count} idle sandboxes, each with a small module imported"))
    cow = results["wasm"].get("copy_on_write")
    if cow:
        print(f"\none more wasm sandbox's import wrote {cow['pages']} heap pages ({cow['pages'] * 4} KiB private), "
              f"in which only {cow['changed_bytes']:,} bytes changed: small writes scattered over the snapshot's "
              "objects (reference counts, list links), each copying a whole page")
    wasm = results["wasm"]
    scaled = wasm["rss"] * 1000 / wasm["count"]
    goals = [harness.goal("1,000 idle wasm sandboxes, RSS", scaled / 1000**3, GOAL_BYTES / 1000**3, " GB")]
    print()
    print(harness.goal_lines(goals))
    path = harness.write_results("wasm_idle", {"count": ns.count, "bytes": results, "goals": goals})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
