"""QuickJS-ng in a separate OS process: the shape of an edge runtime.

Each runtime is a worker process (evaluators/process/worker.py) embedding QuickJS-ng and the same
runner/js bundle as the in-process evaluator. The host talks to it only through framed messages
on a Unix socket of its own (evaluators/process_frames.py), so a crash, a segfault, a kill or a
runaway in the runtime never takes the host down:

- the worker runs the pull loop itself (deliver, run jobs, drain) and answers each TURN with its
  outbox and an idle flag; the host serves the runtime's `fetchModule` requests concurrently
  while it waits, as RunnerClient does for every transport;
- limits: the engine's own (heap, stack, CPU/wall interrupt) inside the worker, RLIMIT_AS and
  RLIMIT_CPU on the process, and a wall-clock deadline enforced from here by SIGKILL;
- a worker that dies (segfault, `os._exit`, SIGKILL from outside) fails the pending operation
  with CrashError; the environment starts a fresh runtime on next use;
- a pool of pre-spawned, pre-booted workers per runtime configuration makes a new isolated
  runtime ready in well under 5 ms.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import fcntl
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from runner.errors import CrashError, LimitError, ModrunError, UsageError
from runner.limits import Budget
from runner.rpc import wire
from runner.rpc.protocol import Message
from runner.rpc.transport import RuntimeTransport

from ..options import RuntimeOptions
from .frames import (
    FAIL,
    INIT,
    OUT,
    READY,
    FrameError,
    FrameReader,
    pack,
    pack_turn,
    unpack_out,
)

WORKER = Path(__file__).with_name("worker.py")

DEFAULT_POOL_SIZE = int(os.environ.get("MODRUN_PROCESS_POOL", "2"))
#: how long a worker may take to boot before it is declared dead
BOOT_TIMEOUT_S = 30.0
#: once a frame has started (either way), the rest must move within this many seconds
STALL_TIMEOUT_S = 5.0
#: after the wall-clock deadline the engine's own interrupt gets this long before SIGKILL
KILL_GRACE_S = 0.05
#: how long to wait for a quick answer without going through the event loop (0 disables)
FAST_WAIT_MS = 0.5
#: address space a runtime may add beyond the worker's baseline when no heap limit is set
DEFAULT_ADDRESS_SPACE_MB = 4096


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "closed its channel"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        what = {"SIGSEGV": "crashed (segmentation fault)", "SIGBUS": "crashed (bus error)",
                "SIGABRT": "aborted", "SIGKILL": "was killed"}.get(name, "was terminated")
        return f"{what} by {name}" if name in ("SIGKILL", "SIGTERM") else f"{what}: {name}"
    return f"exited with status {returncode}"


class _Reaper:
    """Worker processes that were killed or closed, waited for without blocking the host."""

    def __init__(self) -> None:
        self.dying: list[subprocess.Popen[bytes]] = []
        self.live: set[subprocess.Popen[bytes]] = set()

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        self.live.discard(proc)
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


_REAPER = _Reaper()
atexit.register(_REAPER.kill_all)


class Worker:
    """A spawned worker process and the host's end of its channel. Not tied to an event loop until
    a transport attaches it, so a pool can outlive any one loop."""

    def __init__(self, proc: subprocess.Popen[bytes], sock: socket.socket, key: RuntimeOptions) -> None:
        self.proc = proc
        self.sock = sock
        self.key = key
        self.spawned = time.monotonic()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

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
        _REAPER.add(self.proc)


class ProcessTransport(RuntimeTransport):
    """The host's end of the channel to one worker process."""

    def __init__(self, worker: Worker, evaluator: ProcessEvaluator) -> None:
        self.worker = worker
        self.evaluator = evaluator
        self.info: dict[str, Any] = {}
        self._inbox: list[Message] = []
        self._reader = FrameReader()
        self._frames: collections.deque[tuple[int, bytes]] = collections.deque()
        self._failure: ModrunError | None = None  # set when the channel broke
        self._eof = False
        self._turns = 0  # TURN frames sent and not yet answered
        self._waiter: asyncio.Future[None] | None = None
        self._progress = 0.0
        self._stall_handle: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()
        self._fd = worker.sock.fileno()
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)
        self._attached = True
        self._loop.add_reader(self._fd, self._on_readable)

    @property
    def pid(self) -> int:
        return self.worker.pid

    async def start(self) -> None:
        """Wait for the worker's READY frame (usually already waiting in the socket)."""
        self._on_readable()
        kind, payload = await self._next_frame(Budget(deadline=time.monotonic() + BOOT_TIMEOUT_S),
                                               what="the runtime process did not start in time")
        try:
            if kind != READY:
                raise FrameError(f"expected a READY frame, got kind {kind}")
            self.info = orjson.loads(payload)
        except (FrameError, orjson.JSONDecodeError) as error:
            self._break(self._protocol_error(str(error)))
            raise self._failure from None  # type: ignore[misc]

    # ---- RuntimeTransport ----

    async def send(self, messages: list[Message]) -> None:
        self._inbox.extend(messages)

    async def receive(self, budget: Budget) -> list[Message]:
        if self.dead:
            raise self._failure or CrashError("the runtime was discarded")
        if self._inbox:
            seconds, which = budget.slice()
            if seconds is not None and seconds <= 0:
                raise LimitError(f"{which} limit exceeded", limit=which)
            try:
                messages = wire.dumps_bytes(self._inbox)
            except TypeError as error:
                raise TypeError(f"a message for the runtime is not JSON-serialisable: {error}") from None
            self._inbox.clear()
            try:
                frame = pack_turn(budget.deadline, budget.cpu_left, messages)
            except FrameError as error:  # nothing was sent: the runtime stays usable
                raise UsageError(f"a message for the runtime is too large: {error}") from None
            try:
                sent = self.worker.sock.send(frame)  # the usual case: all of it at once
            except (BlockingIOError, OSError):
                sent = 0
            if sent < len(frame):
                await self._write(memoryview(frame)[sent:], budget)
            self._turns += 1
        elif self._turns == 0:
            return []  # the runtime said it is idle and has been sent nothing since
        while True:
            kind, payload = await self._next_frame(budget)
            try:
                if kind != OUT:
                    raise FrameError(f"expected an OUT frame, got kind {kind}")
                cpu, _idle, text = unpack_out(payload)
                messages = wire.loads(text) if text else []
            except (FrameError, ValueError) as error:
                self._break(self._protocol_error(str(error)))
                raise self._failure from None  # type: ignore[misc]
            self._turns -= 1
            budget.spend_cpu(cpu)
            if messages or self._turns == 0:
                return messages  # type: ignore[no-any-return]

    async def close(self) -> None:
        if self._attached:
            self._detach()
        if not self.dead:
            self.dead = True
        self.worker.kill()

    # ---- reading ----

    def _on_readable(self) -> None:
        # One read per call: the reader is level-triggered, so whatever is left calls again.
        try:
            got = self._reader.fill_from(self.worker.sock)
        except BlockingIOError:
            got = -1
        except OSError:
            got = 0
        if got == 0:
            self._eof = True
            self.dead = True  # noticed even while idle: the environment starts a fresh runtime
            if self._attached:
                self._detach()
        elif got > 0:
            self._progress = time.monotonic()
            try:
                while (frame := self._reader.next()) is not None:
                    if frame[0] == FAIL:
                        self._failed(frame[1])
                        break
                    self._frames.append(frame)
            except FrameError as error:
                self._break(self._protocol_error(str(error)))
        self._watch_stall()
        self._wake()

    def _watch_stall(self) -> None:
        if self._reader.partial and not self._eof and self._failure is None:
            if self._stall_handle is None:
                self._stall_handle = self._loop.call_later(self.evaluator.stall_timeout, self._check_stall)
        elif self._stall_handle is not None:
            self._stall_handle.cancel()
            self._stall_handle = None

    def _check_stall(self) -> None:
        self._stall_handle = None
        if not self._reader.partial or self._failure is not None or self._eof:
            return
        stall = self.evaluator.stall_timeout
        idle = time.monotonic() - self._progress
        if idle >= stall:
            self._break(self._protocol_error(f"a truncated frame: its rest did not arrive within {stall:g} s"))
            self._wake()
        else:
            self._stall_handle = self._loop.call_later(stall - idle, self._check_stall)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _detach(self) -> None:
        self._attached = False
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self._fd)
        if self._stall_handle is not None:
            self._stall_handle.cancel()
            self._stall_handle = None

    def _protocol_error(self, detail: str) -> CrashError:
        return CrashError(f"the channel to the runtime process (pid {self.pid}) is corrupt: {detail}")

    def _break(self, error: ModrunError) -> None:
        """The channel can no longer be trusted: kill the worker, remember why."""
        if self._failure is None:
            self._failure = error
        self.dead = True
        if self._attached:
            self._detach()
        self.worker.kill()

    async def _next_frame(self, budget: Budget, what: str = "") -> tuple[int, bytes]:
        if not self._frames and FAST_WAIT_MS > 0 and self._failure is None and not self._eof:
            # A quick answer is picked up here without a trip through the event loop.
            if self._poll.poll(FAST_WAIT_MS):
                self._on_readable()
        while not self._frames:
            if self._failure is not None:
                raise self._failure
            if self._eof:
                raise await self._died()
            waiter = self._loop.create_future()
            self._waiter = waiter
            left = budget.wall_left()
            timer = None
            if left is not None:
                timer = self._loop.call_later(max(left, 0.0) + KILL_GRACE_S, self._wake)
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
            if not self._frames and self._failure is None and not self._eof:
                left = budget.wall_left()
                if left is not None and left + KILL_GRACE_S <= 0:
                    if what:
                        self._break(CrashError(f"{what} (pid {self.pid}, {BOOT_TIMEOUT_S:g} s)"))
                    else:
                        self._break(LimitError("wall-time limit exceeded (the runtime process was killed)",
                                               limit="wall-time"))
        return self._frames.popleft()

    @property
    def failure(self) -> ModrunError | None:
        """Why the runtime is gone, once it is (a limit, a crash, a broken channel)."""
        return self._failure

    def _failed(self, payload: bytes) -> ModrunError:
        """The worker reported its end in a FAIL frame."""
        self.dead = True
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            body = {"kind": "crash", "message": "the runtime process failed (an unreadable FAIL frame)"}
        message = str(body.get("message") or "the runtime failed")
        error: Any
        if body.get("kind") == "limit":
            error = LimitError(message, limit=str(body.get("limit") or "unknown"))
        else:
            error = CrashError(message)
        error.output = body.get("output") or []  # console output from before the end (RunnerClient prints it)
        self._failure = error
        if self._attached:
            self._detach()
        self.worker.discard()
        return error

    async def _died(self) -> ModrunError:
        """The worker's channel closed: say how the process ended."""
        self.dead = True
        proc = self.worker.proc
        for _ in range(100):  # the exit status follows the socket's close by a moment
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.001)
        returncode = proc.poll()
        tail = self.worker.stderr_tail()
        self.worker.discard()
        if returncode == -signal.SIGXCPU:
            error: ModrunError = LimitError("cpu limit exceeded (the runtime process hit RLIMIT_CPU)", limit="cpu")
        else:
            detail = next((line for line in tail.splitlines() if line.startswith("Fatal Python error")), "")
            error = CrashError(f"the runtime process (pid {self.pid}) {_describe_exit(returncode)}"
                               + (f" [{detail}]" if detail else ""))
        self._failure = error
        return error

    # ---- writing ----

    async def _write(self, view: memoryview, budget: Budget) -> None:
        sock = self.worker.sock
        while view:
            if self._failure is not None or self._eof:
                raise self._failure or await self._died()
            try:
                sent = sock.send(view)
            except BlockingIOError:
                sent = 0
            except OSError:  # the worker is gone; the reader tells how
                self._on_readable()
                raise self._failure or await self._died() from None
            view = view[sent:]
            if view:
                await self._writable(budget)

    async def _writable(self, budget: Budget) -> None:
        """Wait until the worker reads again; a worker that stops reading is killed (bounded
        memory: only the one frame being written is held)."""
        waiter = self._loop.create_future()

        def ready() -> None:
            if not waiter.done():
                waiter.set_result(True)

        stall = self.evaluator.stall_timeout
        left = budget.wall_left()
        timeout = stall if left is None else min(stall, max(left, 0.0) + KILL_GRACE_S)
        self._loop.add_writer(self._fd, ready)
        def expire() -> None:
            if not waiter.done():
                waiter.set_result(False)

        timer = self._loop.call_later(timeout, expire)
        try:
            moved = await waiter
        finally:
            timer.cancel()
            with contextlib.suppress(Exception):
                self._loop.remove_writer(self._fd)
        if not moved:
            left = budget.wall_left()
            if left is not None and left + KILL_GRACE_S <= 0:
                self._break(LimitError("wall-time limit exceeded (the runtime process was killed)", limit="wall-time"))
            else:
                self._break(CrashError(f"the runtime process (pid {self.pid}) stopped reading its channel for "
                                       f"{stall:g} s and was killed"))
            assert self._failure is not None
            raise self._failure


class WorkerPool:
    """Pre-spawned, pre-booted workers per runtime configuration."""

    def __init__(self, evaluator: ProcessEvaluator, size: int, max_configs: int = 4) -> None:
        self.evaluator = evaluator
        self.size = size
        self.max_configs = max_configs
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

    def fill(self, options: RuntimeOptions, size: int | None = None) -> None:
        want = self.size if size is None else size
        workers = self.idle.setdefault(options, collections.deque())
        self.idle.move_to_end(options)
        while len(self.idle) > self.max_configs:
            _, evicted = self.idle.popitem(last=False)
            for worker in evicted:
                worker.kill()
        while len(workers) < want:
            workers.append(self.evaluator.spawn(options))

    def shutdown(self) -> None:
        for workers in self.idle.values():
            for worker in workers:
                worker.kill()
        self.idle.clear()


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
        self.pool = WorkerPool(self, DEFAULT_POOL_SIZE if pool_size is None else pool_size)

    def spawn(self, options: RuntimeOptions) -> Worker:
        """Start a worker and send it its configuration; it boots on its own."""
        _REAPER.reap()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            proc = subprocess.Popen([*self.command, str(child.fileno())], pass_fds=(child.fileno(),),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        _REAPER.live.add(proc)
        if proc.stderr is not None:
            flags = fcntl.fcntl(proc.stderr.fileno(), fcntl.F_GETFL)
            fcntl.fcntl(proc.stderr.fileno(), fcntl.F_SETFL, flags | os.O_NONBLOCK)
        parent.setblocking(False)
        worker = Worker(proc, parent, options)
        with contextlib.suppress(OSError):  # a worker that died at once is reported by start()
            parent.send(pack(INIT, orjson.dumps(self._init_config(options))))
        return worker

    def _init_config(self, options: RuntimeOptions) -> dict[str, Any]:
        limits = options.limits
        if self.address_space_mb is not None:
            headroom = self.address_space_mb
        elif limits.memory_mb is not None:
            headroom = 2 * limits.memory_mb + 256
        else:
            headroom = DEFAULT_ADDRESS_SPACE_MB
        return {"profile": options.profile, "mode": options.mode,
                "limits": {"cpu_ms": limits.cpu_ms, "wall_ms": limits.wall_ms, "memory_mb": limits.memory_mb,
                           "stack_kb": limits.stack_kb, "output_bytes": limits.output_bytes},
                "address_space_headroom_bytes": int(headroom * 1024 * 1024), "stall_s": self.stall_timeout}

    async def create_transport(self, options: RuntimeOptions) -> ProcessTransport:
        transport = None
        worker = self.pool.take(options)
        if worker is not None:
            try:
                transport = await self._start(worker)
            except CrashError:
                transport = None  # the pooled worker died while it waited: start a fresh one
        if transport is None:
            transport = await self._start(self.spawn(options))
        if self.pool.size > 0:
            asyncio.get_running_loop().call_soon(self._refill, options)
        return transport

    async def _start(self, worker: Worker) -> ProcessTransport:
        transport = ProcessTransport(worker, self)
        try:
            await transport.start()
        except BaseException:
            await transport.close()
            raise
        return transport

    def _refill(self, options: RuntimeOptions) -> None:
        with contextlib.suppress(OSError):
            self.pool.fill(options)

    def prewarm(self, options: RuntimeOptions, count: int | None = None) -> None:
        """Spawn workers for `options` ahead of the first runtime."""
        self.pool.fill(options, count)

    def shutdown(self) -> None:
        """Kill the pool's idle workers (runtimes in use are closed by their environments)."""
        self.pool.shutdown()
