"""Worker processes on the host's side: a spawned worker and its channel (Worker), the workers
kept booted and waiting per runtime configuration (WorkerPool), and the reaper that waits for the
ones that ended and kills what is left when the host exits."""

from __future__ import annotations

import atexit
import collections
import contextlib
import os
import select
import socket
import subprocess
from collections.abc import Callable

from runner.cores import HELPERS

from ..options import RuntimeOptions

#: runtime configurations the pool keeps workers for; the least recently used one goes first
POOL_CONFIGS = 4


class Reaper:
    """Every worker process the host started: those killed or closed are waited for without
    blocking the host, and whatever is left is killed when it exits."""

    def __init__(self) -> None:
        self.dying: list[subprocess.Popen[bytes]] = []
        self.live: set[subprocess.Popen[bytes]] = set()

    def started(self, proc: subprocess.Popen[bytes]) -> None:
        self.reap()
        self.live.add(proc)
        # its work (a boot while the host transforms, wrappers compiled ahead) is the host's own, not load
        HELPERS.add(proc.pid)

    def ended(self, proc: subprocess.Popen[bytes]) -> None:
        """A worker that was killed or closed: waited for from now on."""
        self.live.discard(proc)
        HELPERS.discard(proc.pid)
        if proc.poll() is None:
            self.dying.append(proc)
        self.reap()

    def reap(self) -> None:
        self.dying = [p for p in self.dying if p.poll() is None]

    def kill_all(self) -> None:
        for proc in [*self.live, *self.dying]:
            with contextlib.suppress(OSError):
                proc.kill()
        for proc in [*self.live, *self.dying]:
            with contextlib.suppress(Exception):
                proc.wait(timeout=1)
        self.live.clear()
        self.dying.clear()


REAPER = Reaper()
atexit.register(REAPER.kill_all)


class Worker:
    """A spawned worker process and the host's end of its channel. Not tied to an event loop until
    a transport attaches it, so a pool can outlive any one loop."""

    def __init__(self, proc: subprocess.Popen[bytes], sock: socket.socket) -> None:
        self.proc = proc
        self.sock = sock

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ready(self) -> bool:
        """Has it said anything yet (its first frame says it booted; an end says it died)?"""
        try:
            return bool(select.select([self.sock], [], [], 0)[0])
        except (OSError, ValueError):
            return True  # closed: not booting any more (its start reports why)

    def stderr_tail(self, limit: int = 2000) -> str:
        stream = self.proc.stderr
        if stream is None:
            return ""
        try:
            data = os.read(stream.fileno(), 65536)
        except (BlockingIOError, OSError, ValueError):
            return ""
        return data.decode("utf-8", "replace")[-limit:].strip()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.discard()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.proc.stderr is not None:
            with contextlib.suppress(OSError):
                self.proc.stderr.close()
        REAPER.ended(self.proc)


class WorkerPool:
    """Pre-spawned, pre-booted workers per runtime configuration."""

    def __init__(self, spawn: Callable[[RuntimeOptions], Worker], size: int) -> None:
        self.spawn = spawn
        self.size = size
        self.idle: collections.OrderedDict[RuntimeOptions, collections.deque[Worker]] = collections.OrderedDict()

    def take(self, options: RuntimeOptions) -> Worker | None:
        workers = self.idle.get(options)
        if workers is None:
            return None
        self.idle.move_to_end(options)
        while workers:
            worker = workers.popleft()
            if worker.alive():
                return worker
            worker.discard()
        return None

    def peek(self, options: RuntimeOptions) -> Worker | None:
        """The worker `take` would answer now, left in the pool."""
        return next((worker for worker in self.idle.get(options, ()) if worker.alive()), None)

    def fill(self, options: RuntimeOptions, size: int | None = None) -> None:
        want = self.size if size is None else size
        workers = self.idle.setdefault(options, collections.deque())
        self.idle.move_to_end(options)
        while len(self.idle) > POOL_CONFIGS:
            _, evicted = self.idle.popitem(last=False)
            for worker in evicted:
                worker.kill()
        while len(workers) < want:
            workers.append(self.spawn(options))

    def drop(self, options: RuntimeOptions) -> None:
        """Kill the idle workers kept for `options` and wait for them to end: a booted worker may be
        writing its code store, whose directory the caller may remove next."""
        for worker in self.idle.pop(options, ()):
            worker.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.proc.wait(timeout=5)

    def shutdown(self) -> None:
        for workers in self.idle.values():
            for worker in workers:
                worker.kill()
        self.idle.clear()
