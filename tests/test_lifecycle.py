"""Runtimes that outlive their failures (runner/runtimes/lifecycle.py), per-call limits and runtime pools
(runner/runtimes/pool.py), in every evaluator."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from runner import CrashError, LimitError, ModuleProxy, Server, StaleModuleError, UsageError
from tests.project_files import write

EVALUATORS = ("inprocess", "wasm", "process")

MAIN = """
let count = 0;
export const started = Date.now();
export function inc() { return ++count; }
export function loop() { for (;;) {} }
export async function wait(ms) { await new Promise((resolve) => setTimeout(resolve, ms)); return ms; }
export function spin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} return "spun"; }
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write(tmp_path / "app", {"main.js": MAIN})


def server(root: Path, evaluator: str, **environment: object) -> Server:
    return Server(root=root, cache_dir=False, on_console=lambda level, text: None,
                  environments={"app": {"evaluator": evaluator, **environment}})


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_after_a_limit_the_next_call_succeeds_on_a_fresh_runtime(app: Path, evaluator: str) -> None:
    async def main() -> None:
        async with server(app, evaluator, limits={"cpu_ms": 100}) as s:
            environment = s.environments["app"]
            mod = await environment.import_module("/main.js")
            assert [await mod.inc(), await mod.inc()] == [1, 2]
            with pytest.raises(LimitError, match="cpu"):
                await mod.loop()
            # Rebound (the default policy): the module was imported again, its state restarted.
            assert await mod.inc() == 1
            assert environment.runtime.replacements == 1
            again = await environment.import_module("/main.js")
            assert await again.inc() == 2  # the same runtime and module instance as the rebound proxy
            assert await mod.inc() == 3
    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_stale_policy_reports_old_proxies(app: Path, evaluator: str) -> None:
    async def main() -> None:
        async with server(app, evaluator, limits={"cpu_ms": 100}, proxy_policy="stale") as s:
            environment = s.environments["app"]
            mod = await environment.import_module("/main.js")
            assert await mod.inc() == 1
            with pytest.raises(LimitError):
                await mod.loop()
            with pytest.raises(StaleModuleError, match="proxy_policy is 'stale': import the module again"):
                await mod.inc()
            with pytest.raises(StaleModuleError):
                await mod.get("started")
            fresh = await environment.import_module("/main.js")
            assert await fresh.inc() == 1
            with pytest.raises(StaleModuleError):  # still stale: it belongs to the runtime that stopped
                await mod.inc()
    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_per_call_cpu_budget_within_the_runtime_limit(app: Path, evaluator: str) -> None:
    async def main() -> None:
        async with server(app, evaluator, limits={"cpu_ms": 5000}) as s:
            mod = await s.environments["app"].import_module("/main.js")
            with pytest.raises(LimitError, match="cpu"):
                await mod.loop(cpu_ms=30)  # the call's own budget stops it long before the runtime's
            assert await mod.spin(1, cpu_ms=2000) == "spun"
            with pytest.raises(UsageError, match="cpu_ms must be a positive number of milliseconds, not -1"):
                await mod.inc(cpu_ms=-1)
            assert await mod.inc() == 1  # the refused call did not run
            assert await s.environments["app"].call("/main.js", "inc", cpu_ms=1000) == 1
            with pytest.raises(LimitError, match="cpu"):
                await s.environments["app"].call("/main.js", "loop", cpu_ms=30)
    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_limit_in_one_pool_call_leaves_the_others_running(app: Path, evaluator: str) -> None:
    async def main() -> None:
        async with server(app, evaluator, pool=3, limits={"cpu_ms": 200}) as s:
            environment = s.environments["app"]
            pool = environment.pool
            await pool.start(["/main.js"])
            assert all(member.alive for member in pool.members)
            results = await asyncio.gather(
                environment.call("/main.js", "wait", 100), environment.call("/main.js", "loop"),
                environment.call("/main.js", "wait", 50), return_exceptions=True)
            assert results[0] == 100 and results[2] == 50
            assert isinstance(results[1], LimitError)
            # The failed runtime is replaced; the pool keeps its size and the next calls succeed.
            assert await asyncio.gather(*(environment.call("/main.js", "wait", 10) for _ in range(6))) == [10] * 6
            assert pool.replacements == 1
            assert len(pool.members) == 3 and all(member.alive for member in pool.members)
    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_concurrent_pool_calls_run_on_different_runtimes(app: Path, evaluator: str) -> None:
    async def main() -> None:
        async with server(app, evaluator, pool=2) as s:
            environment = s.environments["app"]
            await environment.pool.start(["/main.js"])
            # Each runtime has its own module state: two concurrent calls, one counter each.
            counts = await asyncio.gather(environment.call("/main.js", "inc"), environment.call("/main.js", "inc"))
            assert counts == [1, 1]
            async with environment.pool.acquire() as first, environment.pool.acquire() as second:
                assert first is not second
                assert await (await first.module("/main.js")).inc() == 2
    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_sequential_calls_with_every_tenth_over_the_cpu_limit(app: Path, evaluator: str) -> None:
    """The bounded form of bench/binding_roundtrip.py's 1,000-call run."""
    async def main() -> None:
        async with server(app, evaluator, pool=1) as s:
            environment = s.environments["app"]
            outcomes = []
            for i in range(40):
                try:
                    outcomes.append(await environment.call("/main.js", "loop" if i % 10 == 9 else "inc", cpu_ms=30))
                except LimitError:
                    outcomes.append("limit")
            # Every tenth call hits the limit; every other one succeeds, counting from 1 in each runtime.
            assert outcomes == [*range(1, 10), "limit"] * 4
            assert await environment.call("/main.js", "inc") == 1  # after the last limit too
            assert environment.pool.replacements == 4
    asyncio.run(main())


def test_a_crashed_worker_is_replaced(app: Path) -> None:
    from evaluators.process.transport import ProcessTransport

    async def main() -> None:
        async with server(app, "process") as s:
            environment = s.environments["app"]
            mod = await environment.import_module("/main.js")
            assert await mod.inc() == 1
            transport = environment.runtime.current.transport  # type: ignore[union-attr]
            assert isinstance(transport, ProcessTransport)
            os.kill(transport.pid, signal.SIGKILL)
            with pytest.raises(CrashError):
                await mod.inc()
            assert await mod.inc() == 1
            assert environment.runtime.replacements == 1
    asyncio.run(main())


def test_a_replacement_that_cannot_import_fails_the_call_and_is_tried_again(tmp_path: Path) -> None:
    root = write(tmp_path / "app", {"main.js": MAIN})

    async def main() -> None:
        async with server(root, "inprocess", limits={"cpu_ms": 100}) as s:
            environment = s.environments["app"]
            mod: ModuleProxy = await environment.import_module("/main.js")
            with pytest.raises(LimitError):
                await mod.loop()
            (root / "main.js").write_text("throw new Error('broken now');\n")
            with pytest.raises(Exception, match="broken now"):
                await mod.inc()
            (root / "main.js").write_text(MAIN)
            assert await mod.inc() == 1
    asyncio.run(main())


def test_pool_call_of_what_is_not_a_function_is_a_usage_error(app: Path) -> None:
    async def main() -> None:
        async with server(app, "inprocess") as s:
            with pytest.raises(UsageError, match="export 'started' is not a function"):
                await s.environments["app"].call("/main.js", "started")
            with pytest.raises(UsageError, match=r"no export named 'nothing' \(exports: "):
                await s.environments["app"].call("/main.js", "nothing")
    asyncio.run(main())


def test_pool_and_policy_config_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="pool must be a positive number of runtimes"):
        Server(root=tmp_path, environments={"app": {"pool": 0}})
    with pytest.raises(UsageError, match="proxy_policy must be one of rebind, stale"):
        Server(root=tmp_path, environments={"app": {"proxy_policy": "ignore"}})
