"""The child program of the process evaluator: the in-process evaluator's engine
(evaluators/quickjs_engine.py) in an OS process of its own, driven over a framed Unix-socket
channel (frames.py).

    python -P evaluators/process/worker.py FD

The worker runs the pull loop locally: for each TURN frame it delivers the messages, runs every
pending job and answers with the outbox in one OUT frame; for each CALL frame it calls the export
directly (RunnerClient.call's path without the message layer), runs a turn, and answers with the
call's answer and the outbox in one ANSWER frame; an AHEAD frame's modules (a cold graph, sent
before the TURN that hands it over) have their wrappers compiled on a second thread while the
runtime parses and links them (evaluators/compile_ahead.py). Engine work runs under the budget the
parent sent (its deadline and CPU seconds), with the engine's own limits (heap, stack, interrupt)
and OS limits on top: RLIMIT_AS on the whole process, RLIMIT_CPU re-armed before each turn that has
a time limit, no core files, and death with the parent (PR_SET_PDEATHSIG).
A limit or an engine failure is reported in a FAIL frame, after which the worker exits: a runtime
that hit a limit is never reused.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import time
from importlib.machinery import ModuleSpec

_STARTED = time.perf_counter()
# No cyclic collections while the worker loads and boots (it allocates, and frees almost nothing); its
# boot objects are then frozen out of later collections.
gc.disable()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class LeanPackages:
    """Load only the modules the worker needs: modrun's packages (`runner`, `evaluators` and every
    package below them) load as bare packages over their directories, without running their
    __init__. Those import the host side: `runner` the whole server (parser, transforms, plugins:
    ~110 ms), `evaluators.process` asyncio and the host's end of the channel (~25 ms). Every module
    still loads from its own file."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        parts = name.split(".")
        if parts[0] not in ("runner", "evaluators"):
            return None
        directory = os.path.join(ROOT, *parts)
        if not os.path.isfile(os.path.join(directory, "__init__.py")):
            return None  # a module: found the usual way, in its package's directory
        spec = ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [directory]
        return spec


if __name__ == "__main__":
    sys.meta_path.insert(0, LeanPackages())

# json, not orjson: orjson's import (about 8 ms of every worker's start) costs more than the few frames it encodes.
import ctypes  # noqa: E402
import errno  # noqa: E402
import faulthandler  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
from typing import Any, NoReturn  # noqa: E402

from evaluators.ascii_json import ascii_json  # noqa: E402
from evaluators.code_store import refusals  # noqa: E402
from evaluators.options import RuntimeOptions  # noqa: E402
from evaluators.process.frames import (  # noqa: E402
    AHEAD,
    CALL,
    FAIL,
    INIT,
    READY,
    STALL_TIMEOUT_S,
    TURN,
    FrameError,
    FrameReader,
    pack,
    pack_answer,
    pack_out,
    unpack_ahead,
    unpack_call,
    unpack_turn,
)
from evaluators.quickjs_engine import QuickJSEngine, engine_version  # noqa: E402
from runner.errors import CrashError, LimitError, RuntimeStopped  # noqa: E402
from runner.exit_waits import finish, promise  # noqa: E402
from runner.limits import Budget, Limits  # noqa: E402

#: RLIMIT_CPU is armed this many seconds beyond the engine's own CPU/wall slice
CPU_GRACE_S = 1.0
PR_SET_PDEATHSIG = 1
UNLIMITED = Budget()  # never spent from: no CPU limit to count down


def turn(engine: QuickJSEngine, budget: Budget, text: bytes) -> str:
    """One turn with the messages as they came off the channel; the outbox."""
    try:
        messages = ascii_json(text)  # (JSON.parse is faster on 8-bit strings)
    except UnicodeDecodeError as error:
        raise FrameError(f"a TURN frame whose messages are not UTF-8 ({error.reason})") from None
    return engine.enter(budget, lambda: engine.turn(messages))


def call(engine: QuickJSEngine, budget: Budget, url: str, request: str) -> tuple[str, str]:
    """A direct call and the turn after it: the answer and the outbox."""
    return engine.enter(budget, functools.partial(engine.call, url, request))


class Channel:
    """The worker's end: blocking reads (bounded once a frame has started) and writes."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self.sock.setblocking(True)
        self.reader = FrameReader()
        self.stall_s = STALL_TIMEOUT_S  # until INIT says otherwise

    def read(self) -> tuple[int, bytes] | None:
        """The next frame, or None when the parent closed the channel between frames."""
        while True:
            frame = self.reader.next()
            if frame is not None:
                return frame
            if self.reader.partial:  # the rest of a started frame must come soon
                ready = select.select([self.sock], [], [], self.stall_s)[0]
                if not ready:
                    raise FrameError(f"a truncated frame: its rest did not arrive within {self.stall_s:g} s")
            if not self.reader.fill_from(self.sock):
                if self.reader.partial:
                    raise FrameError("the channel closed in the middle of a frame")
                return None

    def write(self, frame: bytes) -> None:
        finish()  # the parent, once answered, may end, and this process with it: writes are done first
        self.sock.sendall(frame)


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(0)


def _vm_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _os_limits(config: dict[str, Any]) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    headroom = config.get("address_space_headroom_bytes")
    if headroom:
        address_space = _vm_bytes() + int(headroom)
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or address_space < hard:
            resource.setrlimit(resource.RLIMIT_AS, (int(address_space), hard))
    # The engine recurses on this thread's stack: make room for its own stack limit.
    want = int(config["limits"].get("stack_kb") or 0) * 1024 + 8 * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if soft != resource.RLIM_INFINITY and soft < want and (hard == resource.RLIM_INFINITY or want <= hard):
        resource.setrlimit(resource.RLIMIT_STACK, (want, hard))


class CpuGuard:
    """RLIMIT_CPU as a backstop for the engine's interrupt: armed before each turn that has a
    finite slice, a little beyond it. Exceeding it ends the process with SIGXCPU."""

    def __init__(self) -> None:
        self.soft, self.hard = resource.getrlimit(resource.RLIMIT_CPU)

    def arm(self, seconds: float | None) -> None:
        if seconds is None:
            return
        want = int(time.process_time() + max(seconds, 0.0) + CPU_GRACE_S) + 1
        if self.hard != resource.RLIM_INFINITY:
            want = min(want, self.hard)
        if want != self.soft:
            resource.setrlimit(resource.RLIMIT_CPU, (want, self.hard))
            self.soft = want


def _fail_frame(error: BaseException) -> bytes:
    output = error.output if isinstance(error, RuntimeStopped) else []
    if isinstance(error, LimitError):
        body: dict[str, Any] = {"kind": "limit", "limit": error.limit, "message": error.message}
    elif isinstance(error, MemoryError):
        body = {"kind": "limit", "limit": "memory", "message": "the runtime process ran out of address space"}
    elif isinstance(error, CrashError):
        body = {"kind": "crash", "message": error.message}
    elif isinstance(error, FrameError):
        body = {"kind": "crash", "message": f"the runtime received a bad frame: {error}"}
    else:
        body = {"kind": "crash", "message": f"the runtime process failed: {type(error).__name__}: {error}"}
    body["output"] = output
    try:
        return pack(FAIL, json.dumps(body).encode())
    except Exception:
        body["output"] = []
        return pack(FAIL, json.dumps(body).encode())


def serve(channel: Channel) -> int:
    first = channel.read()
    if first is None:
        return 0
    kind, payload = first
    if kind != INIT:
        raise FrameError(f"expected an INIT frame, got kind {kind}")
    config = json.loads(payload)
    channel.stall_s = float(config.get("stall_s") or STALL_TIMEOUT_S)
    _os_limits(config)
    options = RuntimeOptions(profile=config["profile"], mode=config["mode"], hmr=bool(config.get("hmr")),
                             limits=Limits(**config["limits"]), code_cache=config.get("code_cache"))
    engine = QuickJSEngine(options)
    ahead = engine.may_ahead and options.compiles_ahead_in_a_worker  # (AHEAD frames)
    guard = CpuGuard()
    refused = refusals.get(config.get("code_cache") or "")  # said by the parent: this stderr is for crashes
    channel.write(pack(READY, json.dumps({"pid": os.getpid(), "vm_bytes": _vm_bytes(), "engine": engine_version(),
                                          "code_cache_off": refused, "ahead": ahead,
                                          "boot_ms": (time.perf_counter() - _STARTED) * 1000}).encode()))
    gc.freeze()
    gc.enable()
    while True:
        frame = channel.read()
        if frame is None:
            return 0
        kind, payload = frame
        if kind == CALL:
            deadline, cpu_left, url, request = unpack_call(payload)
        elif kind == TURN:
            deadline, cpu_left, text = unpack_turn(payload)
        elif kind == AHEAD and ahead:
            # the next TURN's modules: compiled on a thread while the runtime parses and links them
            engine.use_ahead().compile(unpack_ahead(payload))
            continue
        else:
            raise FrameError(f"expected a TURN or CALL frame, got kind {kind}")
        budget = UNLIMITED if deadline is None and cpu_left is None else Budget(deadline=deadline, cpu_left=cpu_left)
        if budget is not UNLIMITED:
            guard.arm(budget.slice()[0])
        if kind == CALL:
            answer, out = call(engine, budget, url, request)
        else:
            out = turn(engine, budget, text)
        spent = cpu_left - budget.cpu_left if cpu_left is not None and budget.cpu_left is not None else 0.0
        channel.write(pack_answer(spent, answer, out) if kind == CALL else pack_out(spent, out))


def main(argv: list[str]) -> NoReturn:
    faulthandler.enable()  # a segfault in the engine leaves a Python stack on stderr for the parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the host's to handle, not the runtime's
    if len(argv) != 2:
        sys.stderr.write("usage: worker.py FD\n")
        os._exit(2)
    _die_with_parent()
    promise()  # (Channel.write, and the end below)
    channel = Channel(int(argv[1]))
    try:
        status = serve(channel)
    except BaseException as error:  # every failure is reported as a frame, then the worker exits
        try:
            channel.write(_fail_frame(error))
        except OSError as write_error:
            if write_error.errno not in (errno.EPIPE, errno.ECONNRESET):
                raise
        status = 3
    sys.stdout.flush()
    finish()
    os._exit(status)  # no interpreter teardown: the engine's heap goes with the process


if __name__ == "__main__":
    main(sys.argv)
