"""The host's end of the channel to one worker process: TURN frames out, OUT frames in (frames.py);
for a direct call, a CALL frame out and an ANSWER frame in.

A turn runs the runtime until it is idle, so `receive` waits for the one OUT frame that answers a
TURN. Reading is level-triggered from the event loop, with a short poll first so that a quick
answer skips the loop; a direct call first spins for its answer (`_spin`), adaptively. Everything
that can go wrong ends in a `failure` and a dead transport: a FAIL frame (a limit or an engine
failure in the worker), the worker's death (how it died is told from its exit status and its
stderr), a frame that is garbage or stops half-way (the stall timeout), a worker that stops
reading, and the wall-clock deadline (the worker is killed).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import select
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runner.errors import CrashError, LimitError, ModrunError, UsageError
from runner.limits import Budget
from runner.rpc import wire
from runner.rpc.protocol import Message
from runner.rpc.transport import RuntimeTransport

from ..code_store import warn_refusal
from ..pulled import PulledTransport
from ..stops import discarded, limit_exceeded
from .frames import (
    ANSWER,
    FAIL,
    OUT,
    READY,
    FrameError,
    FrameReader,
    pack_ahead,
    pack_call,
    pack_turn,
    unpack_answer,
    unpack_out,
)
from .pool import Worker

if TYPE_CHECKING:
    from ..ahead_queue import AheadQueue

#: how long a worker may take to boot before it is declared dead
BOOT_TIMEOUT_S = 30.0
#: after the wall-clock deadline the engine's own interrupt gets this long before SIGKILL
KILL_GRACE_S = 0.05
#: how long to wait for a quick answer without going through the event loop (0 disables)
FAST_WAIT_MS = 0.5
#: how long a direct call polls for its answer, yielding the core between polls, before it sleeps
#: (0 disables): a sleeping host is woken late, most of all on an idle machine's drowsy CPUs
SPIN_US = 40
#: a spin that misses costs this much credit, a hit earns one back (up to the cap); without credit
#: the host stops spinning (calls that take long) and only probes now and then
SPIN_CREDIT = 8
SPIN_MISS_COST = 2
SPIN_PROBE_EVERY = 64
#: a spin that overran its budget by this much lost its core to another process (a loaded
#: machine): spinning stops at once, and the probes grow rarer (up to SPIN_PROBE_MAX calls apart)
SPIN_LATE_US = 200
SPIN_PROBE_MAX = 4096


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


class ProcessTransport(RuntimeTransport):
    """The host's end of the channel to one worker process."""

    direct_calls = True
    awaited_calls = True

    def __init__(self, worker: Worker, stall_timeout: float, early: AheadQueue | None = None) -> None:
        """`early`: the modules queued for this runtime before it was ready (ProcessEvaluator.queue_ahead)."""
        self.worker = worker
        self.stall_timeout = stall_timeout
        self.info: dict[str, Any] = {}
        self._inbox: list[Message] = []
        self._reader = FrameReader()
        self._frames: collections.deque[tuple[int, bytes]] = collections.deque()
        self._failure: ModrunError | None = None  # set when the channel broke
        self._eof = False
        self._turns = 0  # TURN (or CALL) frames sent and not yet answered
        self._waiter: asyncio.Future[None] | None = None
        self._progress = 0.0
        self._stall_handle: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()
        self._fd = worker.sock.fileno()
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)
        self._attached = True
        self._loop.add_reader(self._fd, self._on_readable)
        self.spin_us = SPIN_US  # this transport's spin budget (0 turns it off, as the benchmark does)
        self._spin_credit = SPIN_CREDIT
        self._spin_skipped = 0
        self._spin_probe_every = SPIN_PROBE_EVERY
        #: how the spins went (for benchmarks): spins, answers caught by one, spins that lost the core
        self.spin_counts = {"spins": 0, "answered": 0, "late": 0}
        #: the modules whose wrappers the worker may compile ahead (evaluators/compile_ahead.py), where it
        #: takes them; `on_code` is the environment's hook
        self._early = early
        self._ahead: AheadQueue | None = None
        self.on_code: Callable[[str, str], None] | None = None

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
            self.info = wire.loads(payload)
            self.engine = str(self.info.get("engine", ""))
            if self.info.get("code_cache_off"):
                warn_refusal(str(self.info["code_cache_off"]))
            if self.info.get("ahead") is True:
                from ..ahead_queue import AheadQueue  # (a cold run's: a warm one never loads it)

                self._ahead = self._early or AheadQueue()
                self.on_code = self._ahead.submit
        except (FrameError, ValueError) as error:
            raise self._broken(self._protocol_error(str(error))) from None

    # ---- RuntimeTransport ----

    async def send(self, messages: list[Message]) -> None:
        self._inbox.extend(messages)

    async def receive(self, budget: Budget) -> list[Message]:
        if self.dead:
            raise self._failure or discarded()
        if self._inbox:
            seconds, which = budget.slice()
            if seconds is not None and seconds <= 0:  # spent: send nothing
                raise limit_exceeded(which)
            try:
                messages = wire.dumps_bytes(self._inbox)
            except TypeError as error:
                raise TypeError(f"a message for the runtime is not JSON-serialisable: {error}") from None
            self._inbox.clear()
            try:
                frame = pack_turn(budget.deadline, budget.cpu_left, messages)
            except FrameError as error:  # nothing was sent: the runtime stays usable
                raise UsageError(f"a message for the runtime is too large: {error}") from None
            if self._ahead is not None and (modules := self._ahead.take()):
                # the graph's answer may be in this turn: its wrappers are wanted next
                with contextlib.suppress(FrameError):  # too large: the runtime compiles them, as before
                    frame = pack_ahead(modules) + frame
            await self._send(frame, budget)
            self._turns += 1
        elif self._turns == 0:
            return []  # each turn ran the runtime until it was idle, and it has been sent nothing since
        while True:
            kind, payload = await self._next_frame(budget)
            try:
                if kind != OUT:
                    raise FrameError(f"expected an OUT frame, got kind {kind}")
                cpu, text = unpack_out(payload)
                messages = wire.loads(text) if text else []
            except (FrameError, ValueError) as error:
                raise self._broken(self._protocol_error(str(error))) from None
            self._turns -= 1
            budget.spend_cpu(cpu)
            if messages or self._turns == 0:
                return messages  # type: ignore[no-any-return]

    @property
    def busy(self) -> bool:
        return self._turns != 0

    async def call_awaited(self, budget: Budget, url: str, path: list[Any],
                           args: list[Any]) -> tuple[dict[str, Any], list[Message]]:
        """A CALL frame, answered by one ANSWER frame: the direct call without the message layer
        (the caller holds the client's lock)."""
        if self.dead:
            raise self._failure or discarded()
        seconds, which = budget.slice()
        if seconds is not None and seconds <= 0:
            raise limit_exceeded(which)
        try:
            frame = pack_call(budget.deadline, budget.cpu_left, url, PulledTransport._call_request(path, args))
        except FrameError as error:
            raise UsageError(f"a call for the runtime is too large: {error}") from None
        await self._send(frame, budget)
        self._turns += 1
        if self.spin_us > 0:
            self._spin()
        kind, payload = await self._next_frame(budget)
        self._turns -= 1
        try:
            if kind != ANSWER:
                raise FrameError(f"expected an ANSWER frame, got kind {kind}")
            cpu, answer, text = unpack_answer(payload)
            result = wire.loads(answer)
            messages = wire.loads(text) if text else []
            if not isinstance(result, dict):
                raise FrameError("an ANSWER frame whose answer is not an object")
        except (FrameError, ValueError) as error:
            raise self._broken(self._protocol_error(str(error))) from None
        budget.spend_cpu(cpu)
        return result, messages

    async def close(self) -> None:
        if self._attached:
            self._detach()
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

    def _spin(self) -> None:
        """Poll for a direct call's answer for up to `spin_us`, yielding the core between polls
        (the worker may need it), before the caller sleeps. Reads go through `_on_readable`, as the
        event loop's do, so nothing is taken from it; a worker that dies shows as readable (end of
        stream) and ends the spin. The spin pays only while answers come back within it and the
        host keeps its core: misses use up credit, a late spin all of it, and without credit only
        a probe now and then spins."""
        if self._spin_credit <= 0:
            self._spin_skipped += 1
            if self._spin_skipped < self._spin_probe_every:
                return
            self._spin_skipped = 0
        poll, clock = self._poll.poll, time.perf_counter_ns
        started = clock()
        budget = self.spin_us * 1000
        while not (ready := bool(poll(0))) and clock() - started < budget:
            os.sched_yield()
        late = clock() - started > budget + SPIN_LATE_US * 1000
        counts = self.spin_counts
        counts["spins"] += 1
        counts["answered"] += ready
        counts["late"] += late
        if ready:
            self._on_readable()
        if late:
            self._spin_credit = 0
            self._spin_probe_every = min(self._spin_probe_every * 4, SPIN_PROBE_MAX)
        elif ready:
            if self._spin_credit > 0 or self._spin_probe_every <= SPIN_PROBE_EVERY:
                self._spin_credit = min(self._spin_credit + 1, SPIN_CREDIT)
            else:  # a clean probe after late ones: probe more often; spin again once back at the start
                self._spin_probe_every //= 2
        else:
            self._spin_credit = max(self._spin_credit - SPIN_MISS_COST, 0)

    def _watch_stall(self) -> None:
        if self._reader.partial and not self._eof and self._failure is None:
            if self._stall_handle is None:
                self._stall_handle = self._loop.call_later(self.stall_timeout, self._check_stall)
        elif self._stall_handle is not None:
            self._stall_handle.cancel()
            self._stall_handle = None

    def _check_stall(self) -> None:
        self._stall_handle = None
        if not self._reader.partial or self._failure is not None or self._eof:
            return
        stall = self.stall_timeout
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

    def _broken(self, error: ModrunError) -> ModrunError:
        """`_break`, and the failure to raise (the first one, should there be two)."""
        self._break(error)
        return self._failure or error

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
                        self._break(limit_exceeded("wall-time", "the runtime process was killed"))
        return self._frames.popleft()

    @property
    def failure(self) -> ModrunError | None:
        """Why the runtime is gone, once it is (a limit, a crash, a broken channel)."""
        return self._failure

    def _failed(self, payload: bytes) -> None:
        """The worker reported its end in a FAIL frame (with the console output from before it,
        which RunnerClient prints)."""
        self.dead = True
        try:
            body = wire.loads(payload)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {"kind": "crash", "message": "the runtime process failed (an unreadable FAIL frame)"}
        message = str(body.get("message") or "the runtime failed")
        output = body.get("output") or []
        if body.get("kind") == "limit":
            self._failure = LimitError(message, limit=str(body.get("limit") or "unknown"), output=output)
        else:
            self._failure = CrashError(message, output=output)
        if self._attached:
            self._detach()
        self.worker.discard()

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
            error: ModrunError = limit_exceeded("cpu", "the runtime process hit RLIMIT_CPU")
        else:
            detail = next((line for line in tail.splitlines() if line.startswith("Fatal Python error")), "")
            error = CrashError(f"the runtime process (pid {self.pid}) {_describe_exit(returncode)}"
                               + (f" [{detail}]" if detail else ""))
        self._failure = error
        return error

    # ---- writing ----

    async def _send(self, frame: bytes, budget: Budget) -> None:
        try:
            sent = self.worker.sock.send(frame)  # the usual case: all of it at once
        except (BlockingIOError, OSError):
            sent = 0
        if sent < len(frame):
            await self._write(memoryview(frame)[sent:], budget)

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

        stall = self.stall_timeout
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
                self._break(limit_exceeded("wall-time", "the runtime process was killed"))
            else:
                self._break(CrashError(f"the runtime process (pid {self.pid}) stopped reading its channel for "
                                       f"{stall:g} s and was killed"))
            assert self._failure is not None
            raise self._failure
