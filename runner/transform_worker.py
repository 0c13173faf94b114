"""The cold transform on the machine's second core: a forked process that runs `runner_format`
(parse, scope walk, code and map) for modules the host hands it, while the host goes on with the
others and with everything else (resolution, plugins, the runtime).

The transform is CPU-bound Python holding the GIL, so a thread would not help; a process forked
after the host's own first transforms starts in a millisecond or two with the transform's modules
imported (the CommonJS transform, where a graph has none of it, is imported by the worker itself). It is
forked only once a server has transformed START_AFTER modules itself (a small graph, or a warm one,
never pays for it), and only when the machine has a core to spare (on a machine busy with other work
a second process only takes time from the host): the idle share of its cores since the server
started, once that window holds MIN_TICKS of /proc/stat's clock ticks (10 ms each per core), else,
while a couple of ticks say nothing, the tasks running at that moment. A machine found busy is looked
at again after another RECHECK transforms of the host's own, over the window grown since: a moment's
load does not cost a run its second core, and a machine loaded on and off is judged by its average.
Once forked, the worker serves every environment of the server until it closes.

The host decides per module (`transform`): the worker gets it while fewer than BACKLOG are under way
there, otherwise the host transforms it itself, so neither side waits on the other while both have
work; and a host left with nothing to do but wait for the worker takes back, one at a time, what the
worker holds beyond the module it is at (`take_back`: runner/rpc/graph_fetch.py, at the end of a
level). Answers come back as the cache entry's JSON bytes, which the host stores as they are. A
module the worker could not transform (a syntax error, any failure, a worker that died) is
transformed again by the host, which raises the error exactly as without a worker. A worker that
answers nothing for STALL seconds while it holds modules is taken as hung (a fork copies locks other
threads held at that moment) and killed, and the host does its modules: one timer for the worker
checks that, not one per module (a timeout and a shield around each wait cost more than the wait).
"""

from __future__ import annotations

import asyncio
import gc
import os
import select
import signal
import struct
import sys
from collections import deque
from typing import Any

import orjson

from .cores import HELPERS, MIN_SPARE, cpu_times, spare_cores

START_AFTER = 8  # the host's own transforms before a worker pays for its fork
RECHECK = 32  # the host's own transforms between two looks at a busy machine
BACKLOG = 8  # modules under way in the worker at a time
STALL = 10.0  # seconds with no answer at all while the host waits: the worker is hung
_READ = 1 << 20  # bytes of answers read at a time
# Requests and answers alike: id, then a request's kind (_MODULE or _TAKEN_BACK) or whether an answer is ok,
# then the payload's length
_FRAME = struct.Struct("<IBI")
_MODULE = 0  # a module to transform (the payload)
_TAKEN_BACK = 1  # one asked for earlier that the host transforms itself, if the worker has not begun it


class TransformWorker:
    def __init__(self) -> None:
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._to = -1  # requests, written by the host
        self._from = -1  # answers, read by the host
        self._local = 0
        self._look_at = START_AFTER  # the host's own transforms after which the machine is looked at
        self._next = 0
        self._answered = 0
        self._waiting: dict[int, asyncio.Future[bytes | None]] = {}
        self._watchdog: asyncio.TimerHandle | None = None  # the stall check, armed while modules are held
        self._writing = False  # the loop has a writer registered for what the pipe did not take
        self._out = bytearray()  # requests the pipe did not take yet
        self._in = bytearray()
        # Linux only: Windows has no fork, and macOS's system libraries do not support a fork without exec.
        self._closed = not sys.platform.startswith("linux")
        self._cpu_since = cpu_times()

    async def transform(self, code: str, file: str, hint: str) -> bytes | None:
        """The runner-format entry of `code` as JSON bytes, made by the worker; None when the host
        transforms it itself: the worker did not take it (decided before this first suspends), could
        not transform it, or was found hung or dead."""
        future = self._take(code, file, hint)
        if future is None:
            return None
        if not future.done():
            if self._watchdog is None and self._loop is not None:
                self._watchdog = self._loop.call_later(STALL, self._check, self._answered)
            await future  # answered, or None once the worker is closed (dead, or hung: _check)
        return future.result()

    def _check(self, answered: int) -> None:
        """STALL seconds after the check was armed: a worker that holds modules and has answered
        none of them since is hung, and closed (every module it held goes back to the host)."""
        self._watchdog = None
        if self._closed or not self._waiting:
            return
        if self._answered == answered:
            self.close()
        elif self._loop is not None:
            self._watchdog = self._loop.call_later(STALL, self._check, self._answered)

    def _take(self, code: str, file: str, hint: str) -> asyncio.Future[bytes | None] | None:
        """A future for the worker's answer, or None when the host should transform it itself now."""
        if self._closed:
            return None
        loop = asyncio.get_running_loop()
        if self._pid is None:
            self._local += 1
            if self._local <= self._look_at:
                return None
            if spare_cores(self._cpu_since, cpu_times()) < MIN_SPARE:
                self._look_at = self._local + RECHECK
                return None
            if not self._start(loop):
                return None
        if loop is not self._loop:
            return None  # the reader is registered with the loop the worker was started in
        if len(self._waiting) >= BACKLOG:
            self._read()  # answers the loop has not read yet (the host runs a level's fetches without it)
        if self._closed or len(self._waiting) >= BACKLOG:  # closed: the worker was found dead
            return None
        try:
            payload = orjson.dumps([code, file, hint])
        except orjson.JSONEncodeError:
            return None  # lone surrogates: the host keeps such a module
        self._next += 1
        future: asyncio.Future[bytes | None] = loop.create_future()
        self._waiting[self._next] = future
        self._out += _FRAME.pack(self._next, _MODULE, len(payload)) + payload
        self._write()
        return future

    def read_answers(self) -> None:
        """Read the answers the worker has sent (the loop's reader does, once the host yields to it)."""
        if self._pid is not None and not self._closed:
            self._read()

    def take_back(self) -> bool:
        """For a host with nothing else to do but wait for the worker: the newest module the worker holds
        beyond the one it is at goes back to the host, which transforms it itself (its caller gets None)
        rather than wait until the worker reaches it. The worker is told to skip it; one that began it
        already answers, unheard. False where the worker holds one module or none."""
        if self._closed or len(self._waiting) < 2:
            return False
        id = next(reversed(self._waiting))
        future = self._waiting.pop(id)
        self._out += _FRAME.pack(id, _TAKEN_BACK, 0)
        self._write()
        if not future.done():
            future.set_result(None)
        return True

    def _start(self, loop: asyncio.AbstractEventLoop) -> bool:
        requests_r, requests_w = os.pipe()
        answers_r, answers_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (requests_r, requests_w, answers_r, answers_w):
                os.close(fd)
            self._closed = True
            return False
        if pid == 0:  # the child: it never returns
            _serve(requests_r, answers_w)
        os.close(requests_r)
        os.close(answers_w)
        os.set_blocking(requests_w, False)
        os.set_blocking(answers_r, False)
        self._pid, self._loop, self._to, self._from = pid, loop, requests_w, answers_r
        HELPERS.add(pid)
        loop.add_reader(answers_r, self._read)
        return True

    def _write(self) -> None:
        try:
            written = os.write(self._to, self._out)
        except BlockingIOError:
            written = 0
        except OSError:
            self._fail()
            return
        del self._out[:written]
        assert self._loop is not None
        if self._out and not self._writing:
            self._loop.add_writer(self._to, self._write)
            self._writing = True
        elif not self._out and self._writing:
            self._loop.remove_writer(self._to)
            self._writing = False

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._from, _READ)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:
                self._fail()  # the worker is gone: what it held is transformed by the host
                return
            self._in += chunk
            if len(chunk) < _READ:
                break  # the pipe is drained: more that comes wakes the loop's reader
        for id, ok, answer in _frames(self._in):
            self._answered += 1
            future = self._waiting.pop(id, None)
            if future is not None and not future.done():
                future.set_result(answer if ok else None)

    def _fail(self) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_result(None)
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        for future in self._waiting.values():
            if not future.done():
                future.set_result(None)
        self._waiting.clear()
        if self._pid is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._from)
            self._loop.remove_writer(self._to)
        os.close(self._to)
        os.close(self._from)
        try:
            os.kill(self._pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self._pid, 0)
        HELPERS.discard(self._pid)
        self._pid = None


def _serve(requests: int, answers: int) -> None:
    """The worker's loop: take the requests the host has sent, answer the oldest not taken back, until the
    host closes the pipe."""
    status = 0
    try:
        # Only its own two pipes stay open: a copy of another (a runtime's channel) would keep that
        # open after the host closed it.
        os.dup2(requests, 0)
        os.dup2(answers, 1)
        os.closerange(3, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1024)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the host's: it closes the pipe
        gc.freeze()  # the host's objects stay untouched (and shared with it)
        os.set_blocking(0, False)
        pending: deque[tuple[int, bytes]] = deque()  # (id, payload), oldest first
        received = bytearray()
        while _receive(0, received, pending, wait=not pending):
            if pending:
                id, payload = pending.popleft()
                answer = _transform(payload)
                _write_all(1, _FRAME.pack(id, answer is not None, len(answer or b"")) + (answer or b""))
    except BaseException:
        status = 1
    os._exit(status)


def _receive(fd: int, received: bytearray, pending: deque[tuple[int, bytes]], wait: bool) -> bool:
    """Read what the host has sent on `fd` (non-blocking; waiting for it if `wait`) into `pending`, less what
    it took back; False once the host has closed the pipe."""
    if wait:
        select.select([fd], [], [])
    while True:
        try:
            chunk = os.read(fd, _READ)
        except BlockingIOError:
            break
        if not chunk:
            return False
        received += chunk
        if len(chunk) < _READ:
            break
    for id, kind, payload in _frames(received):
        if kind == _MODULE:
            pending.append((id, payload))
        else:  # taken back: sent after its request, so here already unless begun (then its answer goes unheard)
            for index, (held, _) in enumerate(pending):
                if held == id:
                    del pending[index]
                    break
    return True


def _frames(buffer: bytearray) -> list[tuple[int, int, bytes]]:
    """The whole frames at the start of `buffer` (id, kind or ok, payload), taken out of it; a frame not
    wholly read yet stays for the next read."""
    frames = []
    start = 0
    while len(buffer) - start >= _FRAME.size:
        id, flag, size = _FRAME.unpack_from(buffer, start)
        end = start + _FRAME.size + size
        if len(buffer) < end:
            break
        frames.append((id, flag, bytes(buffer[start + _FRAME.size:end])))
        start = end
    del buffer[:start]
    return frames


def _transform(payload: bytes) -> bytes | None:
    from .transform_request import runner_format

    try:
        code, file, hint = orjson.loads(payload)
        entry: Any = runner_format(code, file, hint)
        return orjson.dumps(entry)
    except Exception:
        return None  # the host transforms it again and reports the error as it would


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
