"""QuickJS-ng in a separate OS process: the shape of an edge runtime.

Each runtime is a worker process (worker.py) embedding QuickJS-ng and the same runner/js bundle
as the in-process evaluator. The host talks to it only through framed messages on a Unix socket of
its own (frames.py, transport.py), so a crash, a segfault, a kill or a runaway in the runtime never
takes the host down:

- the worker runs the pull loop itself: each TURN delivers the messages, runs every pending job
  and answers with the outbox; the host serves the runtime's `fetchModule` requests concurrently
  while it waits, as RunnerClient does for every transport;
- limits: the engine's own (heap, stack, CPU/wall interrupt) inside the worker, RLIMIT_AS and
  RLIMIT_CPU on the process, and a wall-clock deadline enforced from the host by SIGKILL;
- a worker that dies (segfault, `os._exit`, SIGKILL from outside) fails the pending operation
  with CrashError; the environment starts a fresh runtime on next use;
- a pool of pre-spawned, pre-booted workers per runtime configuration (pool.py) makes a new
  isolated runtime ready in well under 5 ms.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import CrashError

from ..options import RuntimeOptions
from .frames import INIT, STALL_TIMEOUT_S, pack
from .pool import REAPER, Worker, WorkerPool

if TYPE_CHECKING:
    from ..ahead_queue import AheadQueue
    from .transport import ProcessTransport

WORKER = Path(__file__).with_name("worker.py")

DEFAULT_POOL_SIZE = int(os.environ.get("MODRUN_PROCESS_POOL", "2"))
#: address space a runtime may add beyond the worker's baseline when no heap limit is set
DEFAULT_ADDRESS_SPACE_MB = 4096


class ProcessEvaluator:
    """QuickJS-ng in a worker process per runtime: crash isolation, OS limits, a kill on the
    wall-clock deadline, and a pool of ready workers.

    `command` replaces `[python, -P, evaluators/process/worker.py]` (the channel's fd number is appended), for
    example to start workers under a sandbox wrapper; `address_space_mb` is the address space a
    runtime may add beyond the worker's baseline (default: twice the heap limit plus 256 MiB, or
    4 GiB without one); `pool_size` workers per configuration are kept ready
    (env `MODRUN_PROCESS_POOL`, default 2)."""

    name = "process"

    def __init__(self, *, pool_size: int | None = None, command: Sequence[str] | None = None,
                 python: str | None = None, address_space_mb: float | None = None,
                 stall_timeout: float = STALL_TIMEOUT_S) -> None:
        self.stall_timeout = stall_timeout
        self.command = list(command) if command is not None else [python or sys.executable, "-P", str(WORKER)]
        self.address_space_mb = address_space_mb
        self.pool = WorkerPool(self.spawn, DEFAULT_POOL_SIZE if pool_size is None else pool_size)
        self._early: dict[RuntimeOptions, AheadQueue] = {}  # queue_ahead's, until a runtime of theirs starts

    def spawn(self, options: RuntimeOptions) -> Worker:
        """Start a worker and send it its configuration; it boots on its own."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            proc = subprocess.Popen([*self.command, str(child.fileno())], pass_fds=(child.fileno(),),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        REAPER.started(proc)
        if proc.stderr is not None:
            flags = fcntl.fcntl(proc.stderr.fileno(), fcntl.F_GETFL)
            fcntl.fcntl(proc.stderr.fileno(), fcntl.F_SETFL, flags | os.O_NONBLOCK)
        parent.setblocking(False)
        worker = Worker(proc, parent)
        from runner.rpc import wire  # after the spawn: a command's first worker starts before the host has loaded it

        with contextlib.suppress(OSError):  # a worker that died at once is reported by start()
            parent.send(pack(INIT, wire.dumps_bytes(self._init_config(options))))
        return worker

    def _init_config(self, options: RuntimeOptions) -> dict[str, Any]:
        limits = options.limits
        if self.address_space_mb is not None:
            headroom = self.address_space_mb
        elif limits.memory_mb is not None:
            headroom = 2 * limits.memory_mb + 256
        else:
            headroom = DEFAULT_ADDRESS_SPACE_MB
        return {"profile": options.profile, "mode": options.mode, "hmr": options.hmr, "code_cache": options.code_cache,
                "limits": {"cpu_ms": limits.cpu_ms, "wall_ms": limits.wall_ms, "memory_mb": limits.memory_mb,
                           "stack_kb": limits.stack_kb, "output_bytes": limits.output_bytes},
                "address_space_headroom_bytes": int(headroom * 1024 * 1024), "stall_s": self.stall_timeout}

    def queue_ahead(self, options: RuntimeOptions) -> AheadQueue | None:
        """A queue for the modules of the next runtime of `options` (the environment's hook, runner/prefetch.py),
        begun before it is ready: the host transforms while its worker boots. Its transport takes it where
        the worker takes their wrappers compiled ahead; None where a limit of the runtime's rules that out."""
        if options.code_cache is None or not options.compiles_ahead_in_a_worker:
            return None  # (as the worker's READY would say: worker.py)
        from ..ahead_queue import AheadQueue  # (a cold run's: a warm one never loads it)

        queue = self._early[options] = AheadQueue()
        return queue

    async def create_transport(self, options: RuntimeOptions) -> ProcessTransport:
        transport = None
        early = self._early.pop(options, None)
        worker = self.pool.take(options)
        if worker is not None:
            try:
                transport = await self._start(worker, early)
            except CrashError:
                transport = None  # the pooled worker died while it waited: start a fresh one
        if transport is None:
            transport = await self._start(self.spawn(options), early)
        if self.pool.size > 0:
            import asyncio

            asyncio.get_running_loop().call_soon(self._refill, options)
        return transport

    async def _start(self, worker: Worker, early: AheadQueue | None) -> ProcessTransport:
        # Imported here (it needs asyncio): a host can spawn workers early (start_early) before it
        # has loaded asyncio and the rest of itself.
        from .transport import ProcessTransport

        transport = ProcessTransport(worker, self.stall_timeout, early)
        try:
            await transport.start()
        except BaseException:
            await transport.close()
            raise
        return transport

    def booting(self, options: RuntimeOptions) -> bool:
        """Would a runtime of `options` made now wait for its worker to boot? Then the host has time for
        other work first (runner/prefetch.py)."""
        worker = self.pool.peek(options)
        return worker is None or not worker.ready()

    def _refill(self, options: RuntimeOptions) -> None:
        with contextlib.suppress(OSError):
            self.pool.fill(options)

    def start_early(self, options: RuntimeOptions) -> None:
        """For a host that will need one runtime of `options` soon and no other (a command): its
        worker is spawned now, to boot while the host gets ready, and no pool is kept beyond it
        (a pool would spawn workers nobody uses, competing for the CPU the run needs)."""
        self.pool.size = 0
        self.pool.fill(options, 1)

    def prewarm(self, options: RuntimeOptions, count: int | None = None) -> None:
        """Spawn workers for `options` ahead of the first runtime."""
        self.pool.fill(options, count)

    def release(self, options: RuntimeOptions) -> None:
        """No more runtimes of `options` will be asked for (their server closed): the pool's idle
        workers for them end now rather than outlive their server and its cache directory."""
        self.pool.drop(options)

    def shutdown(self) -> None:
        """Kill the pool's idle workers (runtimes in use are closed by their environments)."""
        self.pool.shutdown()
