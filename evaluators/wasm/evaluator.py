"""QuickJS compiled to WebAssembly, run by wasmtime: a sandbox that untrusted code cannot hang,
exhaust or escape.

Each runtime is one wasm instance made from a snapshot of a booted runtime (engine.py,
snapshot.py). As in the in-process evaluator the runtime never calls the host: the host
pushes the inbox, runs the job queue and drains the outbox (runner/js/transport.js), where the
event loop runs its due tasks first (runner/js/event_loop.js), all through QuickJS's C API
(guest.py).

Limits:
- CPU time and wall time: the watchdog thread (watchdog.py) interrupts the guest through
  QuickJS's interrupt handler, then, if C code does not give way, stops it at the next loop head
  (stop_checks.py); CPU time is the running thread's own;
- memory: the reactor's allocator limit (a catchable `out of memory`, strings and ArrayBuffers
  included) under a hard cap on the instance's linear memory;
- stack: QuickJS's stack check (a catchable RangeError) on a shadow stack placed first in memory,
  so that C recursion past it traps rather than corrupts, and wasmtime's cap on native stack.
After a limit or a trap the instance is discarded; the host process is unaffected.
"""

from __future__ import annotations

import ctypes
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from runner.errors import CrashError, RuntimeStopped
from runner.limits import Budget, Limits
from runner.rpc import wire
from runner.rpc.protocol import DRAIN_AGAIN, DRAIN_COMPILE, Message
from runner.rpc.transport import RuntimeTransport

from ..compiled_code import CODE_CACHE, CompiledCode
from ..first_gc import first_gc_bytes
from ..options import RuntimeOptions
from ..pulled import PulledTransport
from ..stops import (
    SALVAGE_HEAP,
    SALVAGE_SECONDS,
    classify,
    discarded,
    limit_exceeded,
    memory_exceeded,
    salvage,
)
from . import capi
from .engine import SHADOW_PER_NATIVE, STACK_GUARD, STACK_HEADROOM, shared_engine
from .guest import MAX_ARGS as _MAX_ARGS
from .guest import Envelope, Guest, GuestException, GuestMemoryError, GuestTrap, JsonText, is_plain
from .native_stack import MAX_WASM_STACK, on_big_stack
from .watchdog import WATCHDOG
from .wrappers import WasmCompiler, shared_compiler, wasm_build

if TYPE_CHECKING:
    from ..ahead_queue import AheadQueue

T = TypeVar("T")

MB = 1024 * 1024
MEMORY_SLACK = 16 * MB  # linear memory allowed beyond the heap limit (allocator overhead)
DIRECT_ARGS = _MAX_ARGS - 2  # callDirect's url and name take two of the reactor's argument slots


class WasmTransport(PulledTransport):
    direct_calls = True

    def __init__(self, options: RuntimeOptions) -> None:
        self.limits: Limits = options.limits
        engine = shared_engine()
        config = self.runtime_config(options)
        self._compiler: WasmCompiler | None = None
        self._code = CompiledCode(CODE_CACHE, options.code_cache) if config["hostCompiles"] else None
        #: the modules whose wrappers are compiled ahead (wrappers.py), queued by the environment's hook
        #: (runner/environment.py) as their answers are built: where the store holds none of this engine's
        #: wrappers yet (a cold run), for a runtime whose compiles no limit of its own bounds (as the in-process
        #: engine's, compile_ahead.py)
        self._ahead: AheadQueue | None = None
        if self._code is not None:
            holds = self._code.holds_keys(wasm_build(engine))
            if not holds and self._code.store is not None and options.compiles_unbounded:
                from ..ahead_queue import AheadQueue  # (a cold run's: a warm one never loads it)

                self._ahead = AheadQueue(gated=False)  # every one: the sandbox asks by key alone
            # keys in place of code once the cache holds this engine's wrappers by key (compiled_code.py), or
            # where they are compiled ahead: the sandbox then neither parses the code nor sends it back
            if holds or self._ahead is not None:
                config["codeKeys"] = "instead"
        self.on_code = None if self._ahead is None else self._ahead.submit
        heap = self._heap = int(self.limits.memory_mb * MB) if self.limits.memory_mb is not None else None

        def create() -> Guest:
            snapshot = engine.snapshot(config)
            guest = engine.new_guest(snapshot, None if heap is None else heap + MEMORY_SLACK)
            self._stack = min(self.limits.stack_kb * 1024, MAX_WASM_STACK) // SHADOW_PER_NATIVE
            self._stack = min(self._stack, snapshot.stack_top - STACK_HEADROOM)
            guest.set_limits(heap, self._stack)
            guest.defer_gc(first_gc_bytes(heap))
            entry = snapshot.booted.entry_points
            self._receive, self._call_now, self._outbox = entry["receive"], entry["callNow"], entry["outbox"]
            self._call_direct = entry["callDirect"]
            self._take_compiles, self._compiled = entry["takeCompiles"], entry["compiled"]
            if config["hostCompiles"]:
                self._compiler = shared_compiler(engine, snapshot)
            self.engine = f"quickjs-ng {snapshot.booted.version}"
            return guest

        try:
            self.guest = on_big_stack(create)
        except (GuestTrap, GuestException, GuestMemoryError, capi.WasmError) as error:
            self.dead = True
            raise CrashError(f"the wasm runtime could not start: {error}") from None
        self._arm = WATCHDOG.register(self.guest.interrupt_word, self.guest.stop_word)
        weakref.finalize(self, WATCHDOG.unregister, self._arm)  # a transport dropped without close()
        super().__init__()

    @staticmethod
    def runtime_config(options: RuntimeOptions) -> dict[str, Any]:
        """The configuration a sandbox's runtime is booted with (which snapshot it is made from)."""
        config = options.runtime_config()
        config["hostCompiles"] = CODE_CACHE.max_bytes > 0  # compiled code (wrappers.py), unless turned off
        if config["hostCompiles"]:
            # Keys to wrappers alongside the code; "instead" of it once the cache holds wrappers by key
            # (a snapshot each: the runtime reads it at boot). The host checks every keyed source.
            config["codeKeys"] = "alongside"
        return config

    def call_now(self, budget: Budget, url: str, path: list[Any],
                 args: list[Any]) -> tuple[dict[str, Any], list[Message]]:
        """Call an export directly, without the message round trip; see RunnerClient.call. An
        export called by name with plain arguments (numbers, strings, booleans, None) gets them as
        they are, integers as integers, and a plain result comes back the same way; anything else
        crosses as JSON."""
        if len(path) == 1 and type(path[0]) is str and len(args) <= DIRECT_ARGS and all(map(is_plain, args)):
            function, call_args = self._call_direct, [url, path[0], *args]
        else:
            function, call_args = self._call_now, [url.encode(), self._call_request(path, args)]

        def work() -> tuple[Any, list[Message]]:
            # the call, then the jobs it left, then drain: one call into the guest.
            answer, out = self.guest.step(function, call_args)
            out = self._tasks(out)
            messages = wire.loads(out) if out else []
            if self._inbox:
                more = self._turn()
                messages += wire.loads(more) if more else []
            return answer, messages

        answer, messages = self._enter(budget, work)
        if function == self._call_direct and not isinstance(answer, Envelope):
            return {"result": answer}, messages
        if not isinstance(answer, str):
            raise CrashError("the runtime's call returned no answer")
        return wire.loads(answer), messages

    def _turn(self) -> str:
        """Deliver the inbox, run every pending job and due task, and collect the outbox."""
        if self._inbox:
            if self._ahead is not None and self._compiler is not None:
                self._compiler.ahead(self.guest, self._ahead.take())  # the graph may be in it: its wrappers next
            payload = wire.dumps_bytes(self._inbox)
            self._inbox.clear()
            return self._tasks(self.guest.step(self._receive, [JsonText(payload)])[1])
        return self._tasks(self.guest.step(0)[1])

    def _tasks(self, out: str | None) -> str:
        """While drain ran a task (the event loop's) or asked for compiled wrappers, run the jobs it
        left (or serve them) and drain again."""
        while out == DRAIN_AGAIN or out == DRAIN_COMPILE:
            if out == DRAIN_COMPILE:
                assert self._compiler is not None and self._code is not None  # asked only with hostCompiles
                helper_seconds = self._compiler.serve(self.guest, self._take_compiles, self._compiled, self._code)
                WATCHDOG.charge(self._arm, helper_seconds)
            out = self.guest.step(0)[1]
        return out or ""

    def _enter(self, budget: Budget, work: Callable[[], T]) -> T:
        """Run guest work under the budget; a limit or a failure discards the runtime."""
        if self.dead:
            raise discarded()
        seconds, which = budget.slice()
        if seconds is not None and seconds <= 0:  # spent before any work
            raise limit_exceeded(which)

        def run() -> T:
            armed = seconds is not None
            if armed:
                WATCHDOG.arm(self._arm, budget.deadline, budget.cpu_left)
            try:
                result = work()
                # The guest answered although its limit fired: QuickJS can lose the uncatchable
                # interrupt in an allocation and throw `null` instead, which JS then catches (the
                # runner's own catch turns it into an ordinary error answer). The limit stopped it.
                fired = self._arm.fired if armed else None
                if fired is not None:
                    raise limit_exceeded(fired)
                return result
            except (GuestException, GuestTrap, GuestMemoryError) as error:
                fired = self._arm.fired if armed else None
                if armed:
                    armed = False
                    budget.spend_cpu(WATCHDOG.disarm(self._arm))
                raise self._stop(error, which, fired) from None
            except RuntimeStopped as stopped:
                if armed:
                    armed = False
                    budget.spend_cpu(WATCHDOG.disarm(self._arm))
                stopped.output = salvage(self._last_drain)
                self._discard()
                raise
            finally:
                if armed:
                    budget.spend_cpu(WATCHDOG.disarm(self._arm))

        return on_big_stack(run)

    def _stop(self, error: Exception, which: str, fired: str | None) -> RuntimeStopped:
        # A limit's stop word can trap C code that loops while QuickJS builds the interrupted error:
        # the guest is then whole enough to drain (a failure there only loses the output), and
        # what it printed before the limit is kept. Any other trap is a broken guest: nothing is read.
        output = salvage(self._last_drain) if isinstance(error, GuestException) or fired is not None else []
        self._discard()
        stopped = self._classify(error, which, fired)
        stopped.output = output
        return stopped

    def _discard(self) -> None:
        self.dead = True
        WATCHDOG.unregister(self._arm)
        self.guest.close()

    def _last_drain(self) -> str:
        """Drain once more, with time and heap to do it, to keep what the module printed before it
        was stopped."""
        guest = self.guest
        ctypes.c_uint32.from_address(guest.interrupt_word).value = 0
        if self._heap is not None:
            guest.set_limits(self._heap + SALVAGE_HEAP, self._stack)
        WATCHDOG.arm(self._arm, time.monotonic() + SALVAGE_SECONDS, None)
        try:
            return guest.take_text(guest.call_function(self._outbox))  # no task of a stopped runtime runs
        finally:
            WATCHDOG.disarm(self._arm)

    def _classify(self, error: Exception, which: str, fired: str | None) -> RuntimeStopped:
        """What stopped the guest: what only wasm knows (a trap's cause, the watchdog having fired),
        then what the engine reported. Once the watchdog has fired, whatever the guest then reports
        (QuickJS's `interrupted`, a trap at a loop head, or an exception it lost on the way out:
        interrupted promise jobs surface as `null`) is that limit."""
        if isinstance(error, GuestTrap):
            # The shadow stack grows down to address 0: past it, the stack pointer wraps around and
            # the next access is out of bounds.
            ran_out = error.stack_pointer < STACK_GUARD or error.stack_pointer >= 1 << 31
            if error.code == capi.STACK_OVERFLOW or (error.code == capi.MEMORY_OUT_OF_BOUNDS and ran_out):
                return limit_exceeded("stack")
            if self._arm.stopped:  # the stop word was set: the trap is the watchdog's hard stop
                fired = fired or "cpu"
        elif isinstance(error, GuestMemoryError) and not fired:
            return memory_exceeded(self.limits.memory_mb)
        return classify(error, memory_mb=self.limits.memory_mb, running=which, fired=fired,
                        trapped=isinstance(error, GuestTrap))

    async def close(self) -> None:
        if not self.dead:
            self._discard()


class WasmEvaluator:
    """QuickJS-ng compiled to WASI (reactor/), in wasmtime: hard limits, no ambient authority, and
    a new sandbox in well under a millisecond from a snapshot."""

    name = "wasm"

    async def create_transport(self, options: RuntimeOptions) -> RuntimeTransport:
        return WasmTransport(options)
