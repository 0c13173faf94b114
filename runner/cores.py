"""The machine's idle cores, as /proc/stat tells them: whether work beside the host's own (the transform
worker, runner/transform_worker.py; wrappers compiled ahead, evaluators/compile_ahead.py) would run on a
core of its own or only take time from the host's. The transform worker asks how idle the cores were
(spare_cores); the wrappers made ahead, which start once the transform is done and its worker has had
the second core, ask how much work other than the host's the machine did meanwhile (quiet)."""

from __future__ import annotations

import os

MIN_SPARE = 0.25  # idle cores (besides the host's) the machine must have for work beside the host's to pay
MIN_TICKS = 20  # clock ticks (summed over the cores) a window needs for its idle share to count
MAX_OTHER = 0.5  # cores' worth of other work, on average over a window, beside which the host's own may pay

#: the host's own helper processes (the transform worker, the process evaluator's workers): their work is the
#: host's, not other work's load
HELPERS: set[int] = set()


def cpu_times() -> tuple[int, int, int] | None:
    """The machine's idle and total CPU time so far, in clock ticks summed over its cores, and the
    tasks running now, this one included (Linux's /proc/stat), or None where that cannot be read."""
    try:
        with open("/proc/stat", "rb") as stat:
            text = stat.read()
        fields = [int(field) for field in text[:text.index(b"\n")].split()[1:]]
        running = int(text[text.index(b"procs_running ") + 14:].split(None, 1)[0])
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields[:8]), running  # idle + iowait; user to steal (guests are in user)


def spare_cores(before: tuple[int, int, int] | None, after: tuple[int, int, int] | None) -> float:
    """How many cores were idle on average between two cpu_times(), or, where fewer than MIN_TICKS
    passed between them, are idle now (the cores less the tasks running, this one included); where that
    cannot be known, the cores besides this process's own."""
    cores = _usable_cores()
    if before is None or after is None:
        return cores - 1.0
    if after[1] - before[1] < MIN_TICKS:
        return max(0.0, min((os.cpu_count() or 1) - after[2], cores - 1.0))
    return min((after[0] - before[0]) / (after[1] - before[1]) * (os.cpu_count() or 1), cores - 1.0)


def work_ticks() -> tuple[int, int, int] | None:
    """The machine's busy and total CPU time so far, in clock ticks summed over its cores (Linux's
    /proc/stat), and the host's own: this process's, its reaped children's and its HELPERS' (their
    /proc/<pid>/stat, in the same ticks); None where that cannot be read."""
    times = cpu_times()
    own = _ticks("self", children=True)
    if times is None or own is None:
        return None
    for pid in tuple(HELPERS):  # copied at once: the transform worker's loop may add or drop one meanwhile
        own += _ticks(str(pid), children=False) or 0  # one gone was reaped: its ticks are in this process's
    idle, total, _ = times
    return total - idle, total, own


def other_work(before: tuple[int, int, int] | None, after: tuple[int, int, int] | None) -> float | None:
    """How many cores' worth of work other than the host's the machine did on average between two
    work_ticks(): its busy ticks less the host's own, over the window's length (its ticks per core);
    None where either is unknown, or fewer than MIN_TICKS passed (a couple of ticks say nothing)."""
    if before is None or after is None or after[1] - before[1] < MIN_TICKS:
        return None
    length = (after[1] - before[1]) / (os.cpu_count() or 1)
    return max(0.0, (after[0] - before[0]) - (after[2] - before[2])) / length


def quiet(before: tuple[int, int, int] | None, after: tuple[int, int, int] | None) -> bool:
    """Was the machine quiet between two work_ticks(): this process may use two cores or more, and
    other work used less than MAX_OTHER of one on average? A machine not known to be is taken as busy
    (a window too short, no /proc): work beside the host's then only risks taking time from it."""
    load = other_work(before, after)
    return load is not None and load < MAX_OTHER and _usable_cores() >= 2


def _usable_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _ticks(pid: str, children: bool) -> int | None:
    """A process's user and system time so far in clock ticks (with its reaped children's), or None
    where /proc/<pid>/stat cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
        # the fields after the command's name (which may hold spaces and parentheses): state first
        fields = text[text.rfind(b")") + 2:].split()
        return sum(int(field) for field in fields[11:15 if children else 13])  # utime, stime, cutime, cstime
    except (OSError, ValueError):
        return None
