"""What a time or memory limit does, in every evaluator (SECURITY.md, "Limits"): which limit a stop
names, that a stopped runtime is replaced, that a limit ends with its call (nothing is left armed in
an idle runtime), and that the memory limit bounds the RSS of the process that runs the engine.
Where in time a limit stops is measured, not tested (bench/limits.py): the machine is shared."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner import LimitError, Server

EVALUATORS = ["inprocess", "wasm", "process"]
MiB = 1024 * 1024
#: the documented margin (SECURITY.md): RSS grows by at most the heap limit plus this
RSS_MARGIN_MIB = 16

WORKLOADS = """
export function tight() { let i = 0; for (;;) i++; }
export function jobs() { return new Promise(() => { const f = () => Promise.resolve().then(f); f(); }); }
function down(n) { return n ? down(n - 1) + 1 : 0; }
export function deep() { for (;;) down(2000); }
export function regex() { const s = 'a'.repeat(40) + 'b'; for (;;) /^(a+)+$/.test(s); }
export function count(n) { let total = 0; for (let i = 0; i < n; i++) total += i % 7; return total; }
"""


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_time_limits_name_themselves_and_the_runtime_is_replaced(tmp_path: Path, evaluator: str) -> None:
    # Each workload under a call's own CPU budget, then under a call's own deadline: the error names
    # that limit, and the next call runs in a fresh runtime. Both deadlines are armed together, so
    # whichever is nearer stops the call, whatever the other one says.
    (tmp_path / "w.js").write_text(WORKLOADS)

    async def main() -> None:
        async with Server(root=tmp_path, cache_dir=False, environments={"x": {"evaluator": evaluator}}) as server:
            environment = server.environments["x"]
            for name in ("tight", "jobs", "deep", "regex"):
                for kind in ("cpu", "wall-time"):
                    mod = await environment.import_module("/w.js")
                    near, far = 0.03, 60.0
                    cpu_ms, deadline = (near, far) if kind == "cpu" else (far, near)
                    with pytest.raises(LimitError) as caught:
                        await asyncio.wait_for(getattr(mod, name)(cpu_ms=cpu_ms * 1000,
                                                                  deadline=time.monotonic() + deadline), 120)
                    assert caught.value.limit == kind, (name, kind, caught.value)
                    assert caught.value.kind == "limit"
                    again = await environment.import_module("/w.js")
                    assert await again.count(1000) == 2997  # a fresh runtime, usable at once

    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_limit_ends_with_its_call(tmp_path: Path, evaluator: str) -> None:
    # A call that returns before its deadline leaves nothing armed: long after that deadline (and a
    # CPU budget this call would exceed) a call without limits runs to its end in the same runtime,
    # and so does one with a fresh budget that is large enough.
    (tmp_path / "w.js").write_text(WORKLOADS)

    async def main() -> None:
        async with Server(root=tmp_path, cache_dir=False, environments={"x": {"evaluator": evaluator}}) as server:
            runner = await server.environments["x"].get_runner()
            mod = await server.environments["x"].import_module("/w.js")
            assert await mod.count(10, deadline=time.monotonic() + 0.5, cpu_ms=500) == sum(i % 7 for i in range(10))
            await asyncio.sleep(0.6)
            n = 3_000_000  # some tens of milliseconds of CPU: more than a stale budget could leave
            expected = sum(i % 7 for i in range(n))
            assert await mod.count(n) == expected
            assert await mod.count(n, deadline=time.monotonic() + 60, cpu_ms=60_000) == expected
            assert (await server.environments["x"].get_runner()) is runner  # never stopped, never replaced

    asyncio.run(main())


MEMORY_PROBE = """
import asyncio, json, os, resource, sys
from runner import LimitError, Server

def peak_mib(who):
    return resource.getrusage(who).ru_maxrss / 1024

async def main(evaluator, root, limit_mb, name):
    names = ("idle", name)
    config = {"evaluator": evaluator, "limits": {"memory_mb": limit_mb}}
    async with Server(root=root, cache_dir=False, environments={name: config for name in names}) as server:
        async def run(name):
            environment = server.environments[name]
            mod = await environment.import_module(f"/{name}.js")
            runner = await environment.get_runner()
            worker = getattr(runner.transport, "worker", None)
            try:
                await mod.default()
                named = "returned"
            except LimitError as error:
                named = error.limit
            await runner.close()
            if worker is not None:  # the process evaluator's worker: this process's child, reaped
                worker.proc.wait()
            return named
        await run("idle")
        who = resource.RUSAGE_CHILDREN if evaluator == "process" else resource.RUSAGE_SELF
        before = peak_mib(who)
        named = await run(name)
        print(json.dumps([named, peak_mib(who) - before]))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
"""


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_the_memory_limit_bounds_the_engines_rss(tmp_path: Path, evaluator: str) -> None:
    # A heap filled with small objects, with strings, and with buffers the code writes to (pages an
    # allocator hands out untouched cost no RSS), under a 32 MB limit: each is stopped as a memory
    # limit, and the peak RSS of the process that runs the engine (this fresh one, or the worker)
    # grows by no more than the limit and the documented margin.
    (tmp_path / "idle.js").write_text("export default () => 1;\n")
    (tmp_path / "objects.js").write_text(
        "export default () => { const keep = []; for (;;) keep.push({ n: keep.length, s: 'x' + keep.length }); };\n")
    (tmp_path / "strings.js").write_text(
        "export default () => { const keep = []; for (;;) keep.push('y'.repeat(1 << 16) + keep.length); };\n")
    (tmp_path / "buffers.js").write_text(
        "export default () => { const keep = []; for (;;) keep.push(new Uint8Array(1 << 20).fill(7)); };\n")
    limit_mb = 32
    env = {**os.environ, "MODRUN_PROCESS_POOL": "0"}  # no idle worker besides the ones measured
    for name in ("objects", "strings", "buffers"):  # one fresh process each: its peak is this runtime's
        done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, evaluator, str(tmp_path), str(limit_mb), name],
                              capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        named, growth_mib = json.loads(done.stdout.strip().splitlines()[-1])
        assert named == "memory", (name, named)
        assert growth_mib < limit_mb + RSS_MARGIN_MIB, (name, growth_mib)


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_memory_limit_the_runtime_reports_discards_it(tmp_path: Path, evaluator: str) -> None:
    # Out of memory is caught inside the runtime and answered as a limit (runner/js/transport.js):
    # the host must discard that runtime as it does one the engine stopped, so that its heap is
    # freed at once and the next call starts afresh, not in a heap that has just run out.
    (tmp_path / "m.js").write_text("let calls = 0;\nexport function count() { return ++calls; }\n"
                                   "export function fill() { const keep = [];"
                                   " for (;;) keep.push(new Uint8Array(1 << 20).fill(1)); }\n")

    async def main() -> None:
        environments = {"x": {"evaluator": evaluator, "limits": {"memory_mb": 32}}}
        async with Server(root=tmp_path, cache_dir=False, environments=environments) as server:
            environment = server.environments["x"]
            mod = await environment.import_module("/m.js")
            assert [await mod.count(), await mod.count()] == [1, 2]
            stopped = await environment.get_runner()
            with pytest.raises(LimitError) as caught:
                await asyncio.wait_for(mod.fill(), 120)
            assert caught.value.limit == "memory"
            assert stopped.dead
            assert await mod.count() == 1  # the proxy follows the environment to a fresh runtime
            assert (await environment.get_runner()) is not stopped

    asyncio.run(main())
