"""The machine's idle cores, as /proc/stat tells them: whether work beside the host's own (the transform
worker, runner/transform_worker.py; wrappers compiled ahead, evaluators/compile_ahead.py) would run on a
core of its own or only take time from the host's."""

from __future__ import annotations

import os

MIN_SPARE = 0.25  # idle cores (besides the host's) the machine must have for work beside the host's to pay
MIN_TICKS = 20  # clock ticks (summed over the cores) a window needs for its idle share to count


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
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if before is None or after is None:
        return cores - 1.0
    if after[1] - before[1] < MIN_TICKS:
        return max(0.0, min((os.cpu_count() or 1) - after[2], cores - 1.0))
    return min((after[0] - before[0]) / (after[1] - before[1]) * (os.cpu_count() or 1), cores - 1.0)



#: the host's own helper processes (the transform worker): their work is the host's, not other work's load
HELPERS: set[int] = set()


def helpers_running() -> int:
    """How many of HELPERS are running now (Linux's /proc; 0 where unknown)."""
    running = 0
    for pid in HELPERS:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                text = stat.read()
        except OSError:
            continue
        at = text.rfind(b")") + 2
        running += text[at:at + 1] == b"R"
    return running
