"""One QuickJS-ng runtime (PyPI `quickjs-ng`) running the runner bundle under a runtime's limits:
the engine of the in-process evaluator (inprocess.py) and of the process worker
(process/worker.py), which both compose it.

The runtime never calls into Python: the binding refuses host callbacks while a time limit is
set, and a callback that raises leaves the interpreter in a bad state. It is pulled instead:
deliver the inbox, run the job queue, drain the outbox (runner/js/transport.js), where the event
loop runs its due tasks first (runner/js/event_loop.js). The hooks into the engine are its
promise rejection tracker (quickjs_tracker.py) and, while a time limit runs, its interrupt
handler (quickjs_interrupt.py: a deadline on the wall clock, or on this thread's CPU clock; the
binding's own limit is never used). `turn` and `call` are that engine work; `enter` runs it under
a budget, and on a limit or an engine failure discards the runtime and raises what stopped it
(stops.py), with the output it still held.

A time limit counts from `enter`, the engine's entry. The deadline holds across every entry into
the engine the step makes (each promise job is one). A job the interrupt stops is a rejection to
QuickJS, not an error, so the job loop checks the deadline between jobs as well.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

# The binding's C module: its Python package adds only a thread-pool helper, whose imports (concurrent.futures,
# logging) cost each process worker several milliseconds of its start.
import _quickjs

from runner.errors import RuntimeStopped
from runner.js.bundle import boot_expression, profile_libraries, runtime_identity, runtime_source, runtime_source_of
from runner.limits import Budget
from runner.rpc.protocol import DRAIN_AGAIN, DRAIN_COMPILE

from .first_gc import first_gc_bytes
from .options import RuntimeOptions
from .quickjs_bytecode import QuickJSCompiler, _api, _pointers
from .quickjs_interrupt import CPU, WALL, EngineInterrupt
from .quickjs_parsed import ParsedMessages
from .quickjs_tracker import RejectionTracker
from .stops import SALVAGE_HEAP, SALVAGE_SECONDS, Interrupted, classify, discarded, limit_exceeded, salvage

if TYPE_CHECKING:
    from .compile_ahead import CompileAhead

T = TypeVar("T")

MB = 1024 * 1024


@functools.cache
def engine_version() -> str:
    """The engine, as `quickjs-ng X.Y.Z`: the binding's version less its fourth component, which
    counts releases of the binding (0.17.0.2 runs QuickJS-ng 0.17.0). Read from the dist-info
    folder beside the binding's C module, which costs a directory listing where importlib.metadata
    costs tens of milliseconds (and Path.glob compiles a pattern)."""
    found = sorted(name for name in os.listdir(os.path.dirname(os.path.realpath(_quickjs.__file__)))
                   if name.startswith("quickjs_ng-") and name.endswith(".dist-info"))
    if found:
        release = found[-1][len("quickjs_ng-"):-len(".dist-info")]
    else:  # installed some other way
        from importlib.metadata import version

        release = version("quickjs-ng")
    return "quickjs-ng " + ".".join(release.split(".")[:3])


class QuickJSEngine:
    def __init__(self, options: RuntimeOptions, *, ahead: bool = False) -> None:
        """Boot the runner bundle in a new context; raises what stopped it if it cannot. `ahead`: the
        engine runs in the process whose host transforms its modules, which may compile their wrappers
        ahead of it (compile_ahead.py), and whose later runtimes may be sent the same messages again
        (quickjs_parsed.py); elsewhere (the process worker) `use_ahead` once given some."""
        self.limits = options.limits
        self.dead = False
        self._limited = False  # the running step has a deadline armed
        self.context = _quickjs.Context()
        if self.limits.memory_mb is not None:
            self.context.set_memory_limit(int(self.limits.memory_mb * MB))
        self.context.set_max_stack_size(int(self.limits.stack_kb) * 1024)
        self._interrupt = EngineInterrupt(self.context)
        config = options.runtime_config()
        # Wrappers compiled once per host process (compiled_code.py), where the binding allows it.
        self._compiler = QuickJSCompiler.attach(self.context, options.code_cache)
        config["hostCompiles"] = self._compiler is not None
        if self._compiler is not None:  # keys to wrappers, in place of code once it holds some (compiled_code.py)
            config["codeKeys"] = "instead" if self._compiler.holds_keys() else "alongside"
        #: may wrappers be compiled ahead for this runtime (compile_ahead.py)? For one sent code whose
        #: wrappers are compiled into a store, and whose compiles no limit of its own bounds
        self.may_ahead = self._compiler is not None and config["codeKeys"] == "alongside" \
            and self._compiler.code.store is not None and options.compiles_unbounded
        #: the wrappers compiled ahead that its compile requests are served from, once it has some
        self.ahead: CompileAhead | None = None
        if ahead and self.may_ahead:
            self.use_ahead()
        # The libraries' sources go in as strings (about 0.1 ms), not as literals to parse (tens of ms).
        units = profile_libraries(options.profile)["units"]
        for name, unit in units.items():
            self.context.set(f"__modrun_unit_{name}", unit["source"])
        self._tracker: RejectionTracker | None = None
        try:
            # The bundle itself from the code cache where it holds it: compiling it is most of a boot.
            defined = self._compiler is not None and self._define_runtime(options.profile)
            runtime = "__modrun_runtime" if defined else None
            self.context.eval("globalThis.__modrun_boot = "
                              f"{boot_expression(config, lambda n: f'__modrun_unit_{n}', runtime)}")
            #: delivers a message text to the runtime
            self._receive: Callable[[str], object] = self.context.eval("__modrun_boot.receive")
            if ahead and self._compiler is not None:
                self._receive = ParsedMessages(self._compiler.api, self.context, self._compiler.code.cache,
                                               self._compiler._build, self._receive,
                                               self.context.eval("__modrun_boot.deliver"))
            self._drain = self.context.eval("__modrun_boot.drain")
            self._call_now = self.context.eval("__modrun_boot.callNow")
            self._outbox = self.context.eval("__modrun_boot.outbox")
            self._tracker = RejectionTracker(self.context, self.context.eval("__modrun_boot.track"))
            if self._compiler is not None:
                self._compiler.connect(self.context.eval("__modrun_boot.nextCompile"),
                                       self.context.eval("__modrun_boot.compiled"))
            self.context.eval("delete globalThis.__modrun_boot; delete globalThis.__modrun_runtime;" + "".join(
                f"delete globalThis.__modrun_unit_{name};" for name in units))
        except _quickjs.JSException as error:
            self.dead = True
            raise self._classify(error, "") from None
        self._defer_gc()

    def _defer_gc(self) -> None:
        """Let the runtime's first cycle collection wait until it holds FIRST_GC_BYTES (half its memory limit,
        where that is less). QuickJS frees what is not in a cycle as soon as it is let go, and collects cycles
        whenever its heap grows by half since the last collection (its threshold then becomes 1.5 times what
        is left): a fresh runtime importing a graph of hundreds of modules, whose objects all stay live, grew
        through about five collections, each a walk over every object (2 ms of the 500-module tree's 60,
        2.5 of lodash-es's). After the first, QuickJS's own rule applies again. Cycles it leaves wait a little
        longer; never past the memory limit, which a collection at half of it keeps them from reaching."""
        api = _api()
        if isinstance(api, str):
            return  # (the binding's layout is not the one checked: the engine keeps its own threshold)
        runtime, _ = _pointers(self.context)
        limit = self.limits.memory_mb
        first = first_gc_bytes(None if limit is None else int(limit * MB))
        if api.get_gc_threshold(runtime) < first:
            api.set_gc_threshold(runtime, first)

    def use_ahead(self) -> CompileAhead:
        """The wrappers compiled ahead (the process's one CompileAhead), which this runtime's compile
        requests are now served from; only where it `may_ahead`."""
        assert self.may_ahead and self._compiler is not None
        if self.ahead is None:
            from .compile_ahead import compile_ahead

            self.ahead = self._compiler.ahead = compile_ahead()
        return self.ahead

    def _define_runtime(self, profile: str) -> bool:
        """The bundle's function as the global `__modrun_runtime`, from compiled code keyed by its files'
        stamps where they stand for its text (not read, then, nor hashed), else by the text."""
        assert self._compiler is not None
        identity = runtime_identity(profile)
        if identity is None:
            source = runtime_source(profile)
            return self._compiler.define("__modrun_runtime", source, lambda: source)
        return self._compiler.define("__modrun_runtime", identity, lambda: runtime_source_of(profile, identity))

    def turn(self, messages: str) -> str:
        """Deliver `messages` (a JSON array, "" for none), run every pending job and every due task
        (each followed by the jobs it left), and return the outbox ("" when it is empty). Engine
        work: run it under `enter`."""
        if messages:
            self._receive(messages)
        run_job = self.context.execute_pending_job
        while True:
            if not self._limited:
                while run_job():
                    pass
            else:
                expired = self._interrupt.expired
                while run_job():
                    if fired := expired():
                        raise limit_exceeded(fired)
                if fired := expired():  # drain may run a task (a timer): only before the deadline
                    raise limit_exceeded(fired)
            out = self._checked(str(self._drain()))
            if out == DRAIN_COMPILE:
                assert self._compiler is not None  # asked only of a runtime booted with hostCompiles
                self._compiler.serve()
            elif out != DRAIN_AGAIN:
                return out

    def call(self, url: str, request: str) -> tuple[str, str]:
        """Call an export directly (`request`: the JSON of its path and arguments), then a turn:
        the runner's answer and the outbox. Engine work: run it under `enter`."""
        answer = self._call_now(url, request)
        return answer, self.turn("")

    def enter(self, budget: Budget, work: Callable[[], T]) -> T:
        """Run engine work under the budget's time limit, charging the CPU it used; a limit or an
        engine failure discards the runtime."""
        if self.dead:
            raise discarded()
        seconds, which = budget.slice()
        if seconds is not None and seconds <= 0:  # spent before any work
            raise limit_exceeded(which)
        cpu_left = budget.cpu_left  # reading the CPU clock costs a microsecond: only when needed
        started = CPU() if cpu_left is not None else 0.0
        if seconds is not None:
            # Both deadlines: CPU time passes slower than wall time on a loaded machine, and faster
            # where the engine's thread is not the only one running.
            self._interrupt.arm(budget.deadline, None if cpu_left is None else started + cpu_left)
            self._limited = True
        try:
            return work()
        except (_quickjs.JSException, _quickjs.StackOverflow, Interrupted) as error:
            raise self._stop(error, self._interrupt.expired() or which) from None
        except RuntimeStopped as stopped:  # the job loop spent the slice
            raise self._stopped(stopped) from None
        finally:
            self._limited = False
            self._interrupt.disarm()
            if cpu_left is not None:
                budget.spend_cpu(CPU() - started)

    def _checked(self, outbox: str) -> str:
        """The outbox of a step, unless the engine's interrupt fired during it (see Interrupted)."""
        if self._interrupt.expired() is not None:
            from runner.rpc import wire  # (orjson: not loaded by a process-evaluator worker that is never stopped)

            raise Interrupted(wire.loads(outbox) if outbox and outbox != DRAIN_AGAIN else [])
        return outbox

    def close(self) -> None:
        """Discard the runtime, and let the engine go now: its context is freed here, where the host is
        done with it, unless a handle on one of its values is still held elsewhere. Freeing a runtime
        that holds a graph takes milliseconds (the 500-module tree: about 6), which were otherwise paid
        wherever its last reference went: in a re-import, as the next runtime's proxy replaced this one's."""
        self.dead = True
        self._interrupt.disarm()
        if self._tracker is not None:
            self._tracker.remove()
            self._tracker = None
        if self._compiler is not None:
            self._compiler.close()
        # The handles on the context's values hold the context; nothing enters a dead engine (`enter`).
        for name in ("_receive", "_drain", "_call_now", "_outbox", "context"):
            self.__dict__.pop(name, None)

    def _stop(self, error: Exception, which: str) -> RuntimeStopped:
        stopped = self._stopped(self._classify(error, which))
        if isinstance(error, Interrupted):  # what the interrupted step printed comes first
            stopped.output = error.messages + stopped.output
        return stopped

    def _stopped(self, stopped: RuntimeStopped) -> RuntimeStopped:
        # Keep what the module printed before it was stopped: drain once more, then discard.
        self._interrupt.disarm()
        stopped.output = salvage(self._last_drain)
        self.dead = True
        return stopped

    def _last_drain(self) -> str:
        if self.limits.memory_mb is not None:
            self.context.set_memory_limit(int(self.limits.memory_mb * MB) + SALVAGE_HEAP)
        self._interrupt.arm(WALL() + SALVAGE_SECONDS)
        try:
            return str(self._outbox())  # the outbox only: no task of a stopped runtime runs again
        finally:
            self._interrupt.disarm()

    def _classify(self, error: Exception, which: str) -> RuntimeStopped:
        if isinstance(error, _quickjs.StackOverflow):
            return limit_exceeded("stack")
        return classify(error, memory_mb=self.limits.memory_mb, running=which)
