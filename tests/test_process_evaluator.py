"""The process evaluator: QuickJS-ng in worker processes, against real child processes.

Behaviour through the public API (imports, exports proxy, console, errors, limits), isolation and
recovery (SIGKILL mid-call 100 times, segfault, os._exit, a worker killed while idle), the channel
under faults (garbage and truncated frames both ways, a worker that stops reading), OS limits,
the pool, and the command line.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evaluators import register_evaluator
from evaluators.options import RuntimeOptions
from evaluators.process import ProcessEvaluator, ProcessTransport
from evaluators.process.evaluator import WORKER
from runner import CrashError, JSError, JSFunction, LimitError, LoadError, Server
from runner.limits import Limits
from tests.project_files import write

FAULT_WORKER = Path(__file__).with_name("fault_worker.py")
PROJECT = Path(__file__).resolve().parents[1]


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write(tmp_path / "app", {
        "main.js": (
            'import { helper } from "./lib/helper.js";\n'
            'import config from "./config.json";\n'
            'export { counter, bump } from "./lib/state.js";\n'
            'console.log("main loaded");\n'
            "export const settings = { name: config.name, tags: [1, 2] };\n"
            "export const api = { prefix: 'api', greet(who) { return `${this.prefix}:${who}`; } };\n"
            "export function say(x) { console.log('say', x); return helper(x); }\n"
            "export function spin() { while (true) {} }\n"
            "export function busy(ms) { const end = Date.now() + ms; while (Date.now() < end) {} return ms; }\n"
            "export function hog() { const a = []; while (true) a.push('x'.repeat(1024) + a.length); }\n"
            "export function fail(v) { if (v < 0) throw new RangeError(`negative: ${v}`); return v; }\n"
            'export async function later() { const m = await import("./lib/late.js"); return m.value * 2; }\n'
            "export function echo(v) { return v; }\n"
        ),
        "lib/helper.js": "export const helper = (x) => `h:${x}`;\n",
        "lib/state.js": "export let counter = 0;\nexport function bump() { counter += 1; return counter; }\n",
        "lib/late.js": "export const value = 21;\n",
        "config.json": json.dumps({"name": "demo"}),
    })


def fault_evaluator(fault: str, **options) -> str:
    name = f"process-fault-{fault}-{len(options)}"
    register_evaluator(name, ProcessEvaluator(pool_size=0, command=[sys.executable, str(FAULT_WORKER), fault],
                                              **options))
    return name


def server(app: Path, evaluator: str = "process", logs: list[str] | None = None, **limits) -> Server:
    sink = (lambda level, text: logs.append(text)) if logs is not None else (lambda level, text: None)
    return Server(root=app, cache_dir=False, on_console=sink,
                  environments={"edge": {"evaluator": evaluator, "limits": limits}})


async def transport_of(server: Server) -> ProcessTransport:
    runner = await server.environments["edge"].get_runner()
    assert isinstance(runner.transport, ProcessTransport)
    return runner.transport


# ---- behaviour: the same Python API as in-process ----


def test_imports_calls_and_console_through_the_process(app: Path) -> None:
    async def main() -> None:
        logs: list[str] = []
        async with server(app, logs=logs) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            assert mod.exports == ["api", "bump", "busy", "counter", "echo", "fail", "hog", "later", "say",
                                   "settings", "spin"]
            assert mod.settings == {"name": "demo", "tags": [1, 2]}
            assert isinstance(mod.say, JSFunction)
            assert await mod.say(3) == "h:3"
            assert logs == ["main loaded", "say 3"]
            assert await mod.api["greet"]("ada") == "api:ada"  # methods keep their `this`
            assert await mod.bump() == 1 and await mod.get("counter") == 1 and mod.counter == 0
            assert await mod.later() == 42  # a dynamic import served while the call waits
            big = {"rows": [{"i": i, "s": "x" * 100} for i in range(5000)]}
            assert await mod.echo(big) == big  # frames larger than a socket buffer
            with pytest.raises(JSError) as caught:
                await mod.fail(-1)
            assert (caught.value.name, caught.value.message) == ("RangeError", "negative: -1")
            assert f"{app}/main.js:11:" in caught.value.stack  # source-mapped across the process boundary
            assert await mod.fail(2) == 2
    run(main())


def test_load_errors_and_missing_modules(app: Path) -> None:
    write(app, {"bad.js": "export const x = ;\n", "imp.js": 'import "./nope.js";\n'})

    async def main() -> None:
        async with server(app) as s:
            with pytest.raises(LoadError) as caught:
                await s.environments["edge"].import_module("/bad.js")
            assert caught.value.name == "SyntaxError" and caught.value.loc is not None
            with pytest.raises(LoadError, match="Cannot find module './nope.js'"):
                await s.environments["edge"].import_module("/imp.js")
    run(main())


def test_fetches_are_served_concurrently(app: Path) -> None:
    files = {f"m{i}.js": f"export const v{i} = {i};\n" for i in range(12)}
    files["fan.js"] = "".join(f'import {{ v{i} }} from "./m{i}.js";\n' for i in range(12)) + \
        f"export const total = {' + '.join(f'v{i}' for i in range(12))};\n"
    write(app, files)

    class SlowLoad:
        def __init__(self) -> None:
            self.active = 0
            self.peak = 0

        async def load(self, id: str, environment: object) -> None:
            if "/m" in id:
                self.active += 1
                self.peak = max(self.peak, self.active)
                await asyncio.sleep(0.01)
                self.active -= 1
            return None

    plugin = SlowLoad()

    async def main() -> None:
        async with Server(root=app, cache_dir=False, plugins=[plugin],
                          environments={"edge": {"evaluator": "process"}}) as s:
            mod = await s.environments["edge"].import_module("/fan.js")
            assert mod.total == sum(range(12))
    run(main())
    assert plugin.peak > 1  # the runtime asked for a whole level at once; the host answered in parallel


def test_an_answer_ready_while_a_turn_is_out_is_still_delivered(app: Path) -> None:
    # fan.js needs a.js and b.js, asked for in one batch. a.js is big, so that the worker is still
    # reading its answer when b.js's answer is ready: that answer is queued while a turn is out, and
    # the runtime, idle after that turn, must still get it (not be declared stuck).
    write(app, {"fan.js": 'import { a } from "./a.js";\nimport { b } from "./b.js";\n'
                          "export const total = a.length + b;\n",
                "a.js": f'export const a = "{"x" * 4_000_000}";\n', "b.js": "export const b = 1;\n"})

    class BWhileATurnIsOut:
        def __init__(self) -> None:
            self.transport: ProcessTransport | None = None
            self.overlapped = False

        async def load(self, id: str, environment: object) -> None:
            if id.endswith("/b.js") and self.transport is not None:
                for _ in range(2000):  # until a.js's answer is on its way (a hang guard, not a bound)
                    if self.transport._turns:
                        self.overlapped = True
                        break
                    await asyncio.sleep(0.001)
            return None

    plugin = BWhileATurnIsOut()

    async def main() -> None:
        async with Server(root=app, cache_dir=False, plugins=[plugin],
                          environments={"edge": {"evaluator": "process"}}) as s:
            runner = await s.environments["edge"].get_runner()
            transport = runner.transport
            assert isinstance(transport, ProcessTransport)
            plugin.transport = transport
            # Module by module, as Vite's runner fetches (a graph batch would answer all three at once).
            fetch = runner.handlers["fetchModule"]

            def one_by_one(url: str, importer: str | None = None, options: dict[str, Any] | None = None) -> Any:
                return fetch(url, importer, {k: v for k, v in (options or {}).items() if k != "graph"})

            runner.handlers["fetchModule"] = one_by_one  # type: ignore[index]
            mod = await s.environments["edge"].import_module("/fan.js")
            assert mod.total == 4_000_001
    run(main())
    assert plugin.overlapped


def test_runtimes_run_in_parallel(app: Path) -> None:
    # Each runtime reports when its CPU-bound call started and ended, on a clock both workers share:
    # the calls ran at the same time if the intervals overlap, however loaded the machine is.
    write(app, {"interval.js": (
        "const now = () => performance.timeOrigin + performance.now();\n"
        "export function busy(ms) { const start = now(); while (now() < start + ms) {} return [start, now()]; }\n"
    )})

    async def main() -> list[list[float]]:
        async with Server(root=app, cache_dir=False, on_console=lambda level, text: None,
                          environments={"a": {"evaluator": "process"}, "b": {"evaluator": "process"}}) as s:
            a = await s.environments["a"].import_module("/interval.js")
            b = await s.environments["b"].import_module("/interval.js")
            return list(await asyncio.gather(a.busy(300), b.busy(300)))

    (a_start, a_end), (b_start, b_end) = run(main())
    assert max(a_start, b_start) < min(a_end, b_end)  # two processes, one loop in the host


# ---- limits ----


def test_wall_time_kills_the_worker(app: Path) -> None:
    async def main() -> None:
        async with server(app, wall_ms=2000) as s:  # also the import's budget, worker start included
            mod = await s.environments["edge"].import_module("/main.js")
            pid = (await transport_of(s)).pid
            with pytest.raises(LimitError) as caught:
                await asyncio.wait_for(mod.spin(), 30)  # (a hang guard, not a bound on the stop)
            assert caught.value.limit == "wall-time"
            await asyncio.sleep(0.05)
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
            again = await s.environments["edge"].import_module("/main.js")  # a fresh runtime
            assert await again.say(1) == "h:1"
    run(main())


def test_cpu_memory_and_stack_limits(app: Path) -> None:
    write(app, {"deep.js": "function f(n) { return f(n + 1) + 1; }\nexport const go = () => f(0);\n"})

    async def main() -> None:
        async with server(app, cpu_ms=200) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            with pytest.raises(LimitError) as caught:
                await mod.spin()
            assert caught.value.limit == "cpu"
        async with server(app, memory_mb=32) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            with pytest.raises(LimitError) as caught:
                await mod.hog()
            assert caught.value.limit == "memory"
            assert await (await s.environments["edge"].import_module("/main.js")).say(2) == "h:2"
        async with server(app) as s:
            mod = await s.environments["edge"].import_module("/deep.js")
            with pytest.raises(JSError) as error:
                await mod.go()
            assert error.value.name == "RangeError"  # the engine's stack limit, as in-process
    run(main())


def _limits_of(pid: int) -> dict[str, str]:
    rows = Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]
    return {row[:26].strip(): row[26:47].strip() for row in rows}


def test_os_limits_on_the_worker(app: Path) -> None:
    async def main() -> None:
        async with server(app, cpu_ms=500, memory_mb=64) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            limits = _limits_of((await transport_of(s)).pid)
            assert limits["Max core file size"] == "0"
            address_space = int(limits["Max address space"])
            assert address_space < 2 * 1024**3  # baseline + 2 x 64 MiB + 256 MiB
            assert limits["Max cpu time"] != "unlimited"  # re-armed before each turn with a CPU budget
            assert await mod.say(1) == "h:1"
    run(main())


def test_address_space_limit_stops_a_runtime_without_heap_limit(app: Path) -> None:
    name = "process-small-address-space"
    register_evaluator(name, ProcessEvaluator(pool_size=0, address_space_mb=96))

    async def main() -> None:
        async with server(app, evaluator=name) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            with pytest.raises((LimitError, CrashError)) as caught:
                await mod.hog()
            stopped = caught.value
            assert isinstance(stopped, CrashError) or (isinstance(stopped, LimitError) and stopped.limit == "memory")
    started_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run(main())
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - started_rss < 100_000  # KiB: the host did not grow


# ---- crashes and recovery ----


def test_sigkill_mid_call_100_times(app: Path) -> None:
    async def main() -> None:
        async with server(app) as s:
            environment = s.environments["edge"]
            for _ in range(100):
                mod = await environment.import_module("/main.js")
                transport = await transport_of(s)
                call = asyncio.ensure_future(mod.spin())
                while transport._turns == 0:  # the call is on its way to the worker
                    await asyncio.sleep(0)
                os.kill(transport.pid, signal.SIGKILL)
                with pytest.raises(CrashError, match="was killed by SIGKILL"):
                    await asyncio.wait_for(call, 10)
                assert transport.dead
                mod = await environment.import_module("/main.js")  # the next call succeeds
                assert await mod.say("ok") == "h:ok"
    run(main())


@pytest.mark.parametrize("fault, message", [
    ("exit", "exited with status 7"),
    ("segv", r"crashed \(segmentation fault\): SIGSEGV"),
])
def test_worker_crashes_fail_the_call_and_recover(app: Path, fault: str, message: str) -> None:
    async def main() -> None:
        async with server(app, evaluator=fault_evaluator(fault)) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            with pytest.raises(CrashError, match=message):
                await mod.say("__fault__")
            mod = await s.environments["edge"].import_module("/main.js")
            assert await mod.say("fine") == "h:fine"
    run(main())


def test_worker_killed_while_idle_is_replaced(app: Path) -> None:
    async def main() -> None:
        async with server(app) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            transport = await transport_of(s)
            os.kill(transport.pid, signal.SIGKILL)
            for _ in range(200):
                if transport.dead:
                    break
                await asyncio.sleep(0.005)
            assert transport.dead  # noticed without a call
            assert await mod.say(1) == "h:1"  # the proxy rebinds to a replacement (runner/runtimes/lifecycle.py)
            assert (await transport_of(s)).pid != transport.pid
            assert await (await s.environments["edge"].import_module("/main.js")).say(2) == "h:2"
    run(main())


def test_the_worker_does_not_load_the_host_side() -> None:
    """Nor what only the host uses: orjson (and, through it, dataclasses and inspect), about 10 ms of
    every worker's start (it speaks json on its few frames of its own); nor the binding's Python package,
    whose thread-pool helper loads concurrent.futures and logging (another 6 to 12 ms): the engine
    needs only its C module."""
    evaluator = ProcessEvaluator(pool_size=0, command=[sys.executable, "-X", "importtime", "-P", str(WORKER)])

    async def main() -> str:
        transport = await evaluator.create_transport(RuntimeOptions())
        try:
            return transport.worker.stderr_tail(limit=1 << 16)  # what it imported before READY
        finally:
            await transport.close()

    loaded = {line.rpartition("|")[2].strip() for line in run(main()).splitlines()}
    assert "evaluators.quickjs_engine" in loaded
    assert not loaded & {"asyncio", "runner.server", "evaluators.inprocess", "evaluators.process.transport", "orjson",
                         "dataclasses", "inspect", "runner.rpc.wire", "quickjs", "concurrent.futures", "logging"}
    assert "_quickjs" in loaded


def test_console_noise_on_stdout_cannot_corrupt_the_channel(app: Path) -> None:
    async def main() -> None:
        async with server(app, evaluator=fault_evaluator("noisy")) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            assert [await mod.say(i) for i in range(20)] == [f"h:{i}" for i in range(20)]
    run(main())


# ---- the channel under faults ----


@pytest.mark.parametrize("fault, message", [
    ("garbage", "corrupt: bad frame header"),
    ("oversize", "exceeds the channel's limit"),
    ("truncate", "truncated frame"),
])
def test_bad_frames_from_the_worker(app: Path, fault: str, message: str) -> None:
    async def main() -> None:
        async with server(app, evaluator=fault_evaluator(fault, stall_timeout=0.5)) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            with pytest.raises(CrashError, match=message):
                await asyncio.wait_for(mod.say("__fault__"), 30)
            assert await (await s.environments["edge"].import_module("/main.js")).say(1) == "h:1"
    run(main())


@pytest.mark.parametrize("junk, message", [
    (b"GET / HTTP/1.1\r\n\r\n", "bad frame header"),
    (b"MR\x02\xff\xff\xff\x7f", "exceeds the channel's limit"),
    (b"MR\x02\x40\x00\x00\x00partial", "truncated frame"),
    (b"MR\x02\x03\x00\x00\x00abc", "too short"),
    (b"MR\x02\x12\x00\x00\x00" + b"\x00\x00\x00\x00\x00\x00\xf8\x7f" * 2 + b"\xff\xfe", "not UTF-8"),
    # direct calls (CALL frames): too short, a url longer than the frame, not UTF-8
    (b"MR\x03\x05\x00\x00\x00abcde", "too short"),
    (b"MR\x03\x15\x00\x00\x00" + b"\x00\x00\x00\x00\x00\x00\xf8\x7f" * 2 + b"\x64\x00\x00\x00/", "past its end"),
    (b"MR\x03\x17\x00\x00\x00" + b"\x00\x00\x00\x00\x00\x00\xf8\x7f" * 2 + b"\x01\x00\x00\x00/\xff\xfe",
     "not UTF-8"),
])
def test_bad_frames_to_the_worker(app: Path, junk: bytes, message: str) -> None:
    name = f"process-short-stall-{len(junk)}"
    register_evaluator(name, ProcessEvaluator(pool_size=0, stall_timeout=0.5))

    async def main() -> None:
        async with server(app, evaluator=name) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            transport = await transport_of(s)
            transport.worker.sock.send(junk)
            started = time.perf_counter()
            while not transport.dead and time.perf_counter() - started < 30:
                await asyncio.sleep(0.01)  # the worker reports the bad frame by itself, and quits
            assert transport.dead and message in str(transport.failure)
            assert await asyncio.wait_for(mod.say(1), 10) == "h:1"  # on a replacement
            assert await (await s.environments["edge"].import_module("/main.js")).say(2) == "h:2"
    run(main())


def test_a_worker_that_stops_reading(app: Path) -> None:
    name = "process-stall"
    register_evaluator(name, ProcessEvaluator(pool_size=0, stall_timeout=0.5))
    payload = "x" * (32 * 1024 * 1024)

    async def main() -> None:
        async with server(app, evaluator=name) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            transport = await transport_of(s)
            os.kill(transport.pid, signal.SIGSTOP)
            with pytest.raises(CrashError, match="stopped reading its channel"):
                await asyncio.wait_for(mod.echo(payload), 30)
            assert transport.dead
        async with server(app, evaluator=name, wall_ms=200) as s:  # a deadline comes first
            mod = await s.environments["edge"].import_module("/main.js")
            os.kill((await transport_of(s)).pid, signal.SIGSTOP)
            with pytest.raises(LimitError, match="wall-time"):
                await asyncio.wait_for(mod.echo(payload), 10)
    before = _rss_kib()
    run(main())
    # Bounded memory: the host held the one frame it was writing, not copies of it.
    assert _rss_kib() - before < 200_000


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ---- the pool ----


def test_pool_hands_out_ready_runtimes(app: Path) -> None:
    evaluator = ProcessEvaluator(pool_size=2)
    options = RuntimeOptions(limits=Limits(memory_mb=48))

    async def main() -> None:
        pids = set()
        for _ in range(4):
            evaluator.prewarm(options)
            booted = {worker.pid for worker in evaluator.pool.idle[options]}
            for worker in evaluator.pool.idle[options]:  # wait until the pool's workers have booted
                assert select.select([worker.sock], [], [], 30)[0]
            transport = await evaluator.create_transport(options)
            # A worker that was already booted, not one spawned for the call (bench/process_roundtrip.py
            # measures how long that takes).
            assert transport.pid in booted
            pids.add(transport.pid)
            await transport.close()
        assert len(pids) == 4  # every runtime is a fresh process

    try:
        run(main())
    finally:
        evaluator.shutdown()


# ---- the command line ----


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "run", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "MODRUN_PROCESS_POOL": "0"})


def test_cli_with_the_process_evaluator(app: Path) -> None:
    ok = _cli("main.js", "--evaluator", "process", "--call", "say", "--args", '["cli"]', "--json", cwd=app)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["result"] == "h:cli"
    assert "say cli" in ok.stderr  # console output goes to stderr with --json
    slow = _cli("main.js", "--evaluator", "process", "--call", "spin", "--timeout", "0.5", "--json", cwd=app)
    assert slow.returncode == 4, slow.stdout + slow.stderr
    assert json.loads(slow.stdout)["error"]["kind"] == "limit"


def test_a_closed_server_leaves_no_pooled_worker_behind(app: Path, tmp_path: Path) -> None:
    # A pooled worker booted for a server's options writes that server's code store: it must end
    # with the server, or it outlives the cache directory the server's owner removes next.
    name = "process-release"
    evaluator = ProcessEvaluator(pool_size=2)
    register_evaluator(name, evaluator)
    cache = tmp_path / "cache"

    async def main() -> set[RuntimeOptions]:
        server = Server(root=app, cache_dir=cache, environments={"ssr": {"evaluator": name}})
        try:
            module = await server.environments["ssr"].import_module("/main.js")
            assert await module.say("x") == "h:x"
            used = set(evaluator.pool.idle)
            assert used and all(evaluator.pool.idle[options] for options in used)  # refilled after the runtime
            pooled = [worker for options in used for worker in evaluator.pool.idle[options]]
        finally:
            await server.close()
        assert all(not worker.alive() for worker in pooled)
        return used

    try:
        used = run(main())
        assert not used & set(evaluator.pool.idle)
        shutil.rmtree(cache)  # nothing is writing in it any more
    finally:
        evaluator.shutdown()
