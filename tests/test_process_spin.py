"""The process transport's adaptive spin for a direct call's answer (transport.py `_spin`): calls
give the same results, errors and crashes with the spin off, at its default and spinning long; and
the spin backs off when answers keep missing it and comes back when they return."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from evaluators.process import transport as process_transport
from runner import CrashError, JSError, LimitError
from tests.test_process_evaluator import app, fault_evaluator, run, server, transport_of

__all__ = ["app"]  # the fixture, shared with the process evaluator's tests

#: off, the default, and long enough that nearly every answer arrives while the host spins
SPINS = [0, process_transport.SPIN_US, 200_000]


@pytest.mark.parametrize("spin_us", SPINS)
def test_calls_errors_and_concurrent_calls_with_and_without_the_spin(app: Path, spin_us: int) -> None:
    async def main() -> None:
        logs: list[str] = []
        async with server(app, logs=logs) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            transport = await transport_of(s)
            transport.spin_us = spin_us
            assert await mod.say(3) == "h:3" and logs[-1] == "say 3"
            assert await mod.later() == 42  # a call that waits for a dynamic import
            big = {"rows": [{"i": i, "s": "x" * 100} for i in range(5000)]}
            assert await mod.echo(big) == big  # an answer larger than a socket buffer
            with pytest.raises(JSError) as caught:
                await mod.fail(-1)
            assert (caught.value.name, caught.value.message) == ("RangeError", "negative: -1")
            assert await asyncio.gather(*(mod.bump() for _ in range(50))) == list(range(1, 51))
            assert await asyncio.gather(*(mod.echo(i) for i in range(50)), mod.later()) == [*range(50), 42]
            spun = transport.spin_counts
            assert (spun["spins"] > 0) == (spin_us > 0)  # the spin ran (or not), and changed nothing
            assert spin_us != SPINS[-1] or spun["answered"] == spun["spins"]  # a long spin catches every answer
    run(main())


@pytest.mark.parametrize("spin_us", SPINS)
@pytest.mark.parametrize("fault, message", [("exit", "exited with status 7"),
                                            ("segv", r"crashed \(segmentation fault\): SIGSEGV")])
def test_a_worker_that_dies_mid_call(app: Path, spin_us: int, fault: str, message: str) -> None:
    async def main() -> None:
        async with server(app, evaluator=fault_evaluator(fault)) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            transport = await transport_of(s)
            transport.spin_us = spin_us
            with pytest.raises(CrashError, match=message):
                await mod.say("__fault__")
            assert spin_us != SPINS[-1] or transport.spin_counts["answered"] == 1  # the spin saw it die
            mod = await s.environments["edge"].import_module("/main.js")
            assert await mod.say("fine") == "h:fine"
    run(main())


@pytest.mark.parametrize("spin_us", SPINS)
def test_killed_mid_call_and_the_wall_clock_deadline(app: Path, spin_us: int) -> None:
    async def main() -> None:
        async with server(app) as s:
            environment = s.environments["edge"]
            mod = await environment.import_module("/main.js")
            transport = await transport_of(s)
            transport.spin_us = spin_us
            call = asyncio.ensure_future(mod.spin())
            while transport._turns == 0:  # the call is on its way to the worker
                await asyncio.sleep(0)
            os.kill(transport.pid, signal.SIGKILL)
            with pytest.raises(CrashError, match="was killed by SIGKILL"):
                await asyncio.wait_for(call, 10)
        async with server(app, wall_ms=2000) as s:  # also the import's budget, worker start included
            mod = await s.environments["edge"].import_module("/main.js")
            (await transport_of(s)).spin_us = spin_us
            with pytest.raises(LimitError) as caught:
                await asyncio.wait_for(mod.spin(), 30)  # (a hang guard, not a bound on the stop)
            assert caught.value.limit == "wall-time"
            again = await s.environments["edge"].import_module("/main.js")  # a fresh runtime
            assert await again.say(1) == "h:1"
    run(main())


def test_the_spin_backs_off_on_slow_answers_and_returns(app: Path) -> None:
    async def main() -> None:
        async with server(app) as s:
            mod = await s.environments["edge"].import_module("/main.js")
            transport = await transport_of(s)
            transport.spin_us = 5_000  # far shorter than the slow calls, far longer than the quick ones
            for _ in range(process_transport.SPIN_CREDIT):
                assert await mod.busy(30) == 30
            assert transport._spin_credit == 0  # every spin missed: it stopped spinning
            for i in range(4 * process_transport.SPIN_PROBE_MAX):  # (a bound; a probe comes far sooner)
                assert await mod.echo(i) == i
                if transport._spin_credit > 0:
                    break
            assert transport._spin_credit > 0  # a probe caught a quick answer: spinning again
    run(main())
