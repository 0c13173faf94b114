"""The gate of work beside the host's own that starts once the host's transform is done (runner/cores.py
`quiet`, for the wrappers compiled ahead): open only where work other than the host's used less than
MAX_OTHER of a core on average over the window, the host's own work (its process, its helpers) not
counted; closed where that is not known."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from runner import cores
from runner.cores import MAX_OTHER, MIN_TICKS, other_work, quiet, work_ticks

linux = pytest.mark.skipif(work_ticks() is None, reason="no /proc to read the machine's ticks from")


def test_other_work_is_the_busy_ticks_less_the_hosts_own_over_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(cores, "_usable_cores", lambda: 2)
    # 200 ticks over 2 cores: a window of 100 ticks; 150 busy, 120 of them the host's: 0.3 cores of other work
    assert other_work((1000, 5000, 400), (1150, 5200, 520)) == pytest.approx(0.3)
    assert quiet((1000, 5000, 400), (1150, 5200, 520))
    # the same busy ticks, 60 of them the host's: 0.9 cores of other work
    assert other_work((1000, 5000, 400), (1150, 5200, 460)) == pytest.approx(0.9)
    assert not quiet((1000, 5000, 400), (1150, 5200, 460))
    # at the bound: closed
    assert not quiet((0, 0, 0), (50, 200, 0)) and other_work((0, 0, 0), (50, 200, 0)) == MAX_OTHER
    # the host's ticks counted beyond the machine's (their rounding): no work of others, not less than none
    assert other_work((1000, 5000, 400), (1100, 5200, 510)) == 0.0


def test_a_window_too_short_or_unknown_keeps_it_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cores, "_usable_cores", lambda: 2)
    assert other_work((0, 0, 0), (0, MIN_TICKS - 1, 0)) is None and not quiet((0, 0, 0), (0, MIN_TICKS - 1, 0))
    assert not quiet(None, (0, 1000, 0)) and not quiet((0, 0, 0), None)  # no /proc (not Linux)
    # a quiet machine, but one core for this process: nothing to run beside it on
    monkeypatch.setattr(cores, "_usable_cores", lambda: 1)
    assert not quiet((0, 0, 0), (0, 1000, 0))


@pytest.fixture
def busy() -> Iterator[list[int]]:
    """Two processes of this test's own spinning on the machine's cores, killed after."""
    spinning = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.2)  # running, not starting
        yield [child.pid for child in spinning]
    finally:
        for child in spinning:
            child.kill()
            child.wait()


def _window() -> tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]:
    before = work_ticks()
    time.sleep(0.5)  # 50 ticks a core: well over MIN_TICKS
    return before, work_ticks()


@linux
@pytest.mark.usefixtures("busy")
def test_a_machine_busy_with_other_work_keeps_it_closed() -> None:
    # two cores' worth of other work (less on a machine with one: still more than MAX_OTHER)
    before, after = _window()
    load = other_work(before, after)
    assert load is not None and load >= MAX_OTHER
    assert not quiet(before, after)


@linux
def test_the_hosts_helpers_are_its_own_work(busy: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cores, "HELPERS", set(busy))
    before = work_ticks()
    inner = sum(cores._ticks(str(pid), children=False) or 0 for pid in busy)
    time.sleep(0.5)
    spun = sum(cores._ticks(str(pid), children=False) or 0 for pid in busy) - inner
    after = work_ticks()
    assert before is not None and after is not None and spun > 0
    assert after[2] - before[2] >= spun  # the host's own ticks hold its helpers'
