"""Compiled module code in the wasm evaluator: the runner's wrappers as bytecode of our own reactor
(JS_WriteObject and JS_ReadObject through reactor/modrun_reactor.c), served as
evaluators/compiled_code.py describes, from the host process's CODE_CACHE, keyed by the
reactor's SHA-256.

Bytecode is not checked when it is read, and the cache is shared by every sandbox of the process,
so it is never written by a sandbox: a runtime that has run module code could have been made to
corrupt its engine, and bytecode it wrote would then run in other sandboxes. The bytecode is
compiled in a guest of its own, made from the same snapshot, that only ever compiles (it parses
sources and runs none); a large batch in two such guests at once, one on a helper thread, whose CPU
time the sandbox that asked is charged as if it had compiled the batch itself. A sandbox may ask by
wrapper key (runner/rpc/code_keys.py); a source it sends with a key is compiled and kept under the
key only where it is the wrapper of the code the key names (keyed_wrapper.py), so a sandbox cannot
file code under another module's key.

A cold import's wrappers are compiled ahead (a store that holds none of this engine's yet, a runtime
with no limit of its own bounding its compiles, as for the in-process engine, compile_ahead.py): the
host knows each wrapper's text from its own transforms, so once a sandbox is handed its graph the helper
thread compiles them in its compiler guest while the sandbox reads the graph, and the calling thread
compiles what the helper has not reached when the requests come. Such a sandbox is sent keys instead of
code, as a warm one is (runner/rpc/code_keys.py): it parses no code and sends none back. A request takes
a wrapper made ahead where its key names the same code started the same way (its format aside, as for
any keyed source: keyed_wrapper.py), and, where it comes with a source, the source is the very text
compiled (compared whole); any other key is answered as before (undefined, and the runner fetches the
code and asks with it: a module started early, one whose compile failed).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from ..compiled_code import CompiledCode, may_compile, split_request
from ..first_gc import first_gc_bytes
from .cache import cache_key
from .engine import Snapshot, WasmEngine
from .guest import Guest, GuestMemoryError, GuestTrap
from .native_stack import big_stack_pool
from .snapshot import FILENAME

if TYPE_CHECKING:
    from ..keyed_wrapper import WrapperShapes

COMPILER_HEAP = 256 * 1024 * 1024  # what compiling one source may take; beyond, the runtime compiles it
COMPILER_STACK = 256 * 1024
# Sources in a batch from which a helper thread compiles beside the calling one: a cold import compiles
# hundreds, and the runtime waits for all of them with nothing else for the host to do.
PARALLEL_MIN = 16
# Sources compiled in one call into a compiler guest: each call costs more than the work of packing a few
# (date-fns's 305 wrappers: 50 ms one at a time, 43 ms eight at a time).
CHUNK = 8
#: wrappers compiled ahead and not asked for (a module started early, a runtime that stopped) kept at most
KEPT_AHEAD = 20_000


class _Slot:
    """A compiler guest, made on first use, and the lock of the thread compiling in it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.guest: Guest | None = None


def wasm_build(engine: WasmEngine) -> str:
    """What this engine's compiled wrappers are kept under (compiled_code.py)."""
    return f"modrun-quickjs {engine.wasm_hash()}"


class WasmCompiler:
    """Compiles wrappers for the sandboxes of one engine and answers their requests."""

    def __init__(self, engine: WasmEngine, snapshot: Snapshot) -> None:
        self.build = wasm_build(engine)
        self._engine = engine
        self._snapshot = snapshot
        self._slots = (_Slot(), _Slot())  # the calling thread's guest, the helper's
        self._helper: Any = None  # the helper thread (native_stack.big_stack_pool), made when first needed
        self._helper_lock = threading.Lock()
        self._wrapper_shapes: WrapperShapes | None = None
        self._ahead_lock = threading.Lock()  # `_ahead` and `_made`
        #: the batch the helper compiles ahead (`ahead`) until its sandbox's compile request finishes it: the
        #: sandbox, request tails, sources, their bytecode as it is made, the chunks' counter, the helper's work
        self._ahead: tuple[Guest, list[str], list[str], list[bytes | None], Iterator[int], Future[float]] | None = None
        #: what was compiled ahead and not yet asked for: request tail -> (source, bytecode or None)
        self._made: dict[str, tuple[str, bytes | None]] = {}

    def serve(self, guest: Guest, take_compiles: int, compiled: int, code: CompiledCode) -> float:
        """Answer `guest`'s compile requests (runner/js/module_runner/host_compiler.js) from `code`: each
        wrapper read from bytecode where there is some, undefined where not. The sources come out in
        one call (takeAll) and the answer goes in with one more (Guest.answer_compiled): each call
        into the guest costs more than the work of splitting and joining. Returns the CPU seconds
        compiling took on the helper thread, which the caller counts as the guest's own."""
        bytecodes: list[bytes | None] = []
        helper_seconds = 0.0
        try:
            sources = split_sources(*guest.take_chars(guest.call_function(take_compiles)))
            bytecodes, helper_seconds = self.bytecode(sources, code, guest)
            code.flush()
        finally:
            guest.answer_compiled(compiled, bytecodes)  # always answered: the runner waits for it
        return helper_seconds

    def bytecode(self, requests: list[str], code: CompiledCode,
                 sandbox: Guest | None = None) -> tuple[list[bytes | None], float]:
        """The cached bytecode of the wrappers the requests name (a source, a wrapper key, or both:
        compiled_code.split_request), compiled when `code` wants them, and the CPU seconds the helper
        thread spent compiling them. A keyed source is compiled and kept under its key only where it
        is the wrapper of the code the key names (keyed_wrapper.py): the request is the sandbox's word.
        The batch compiled ahead for `sandbox` (None: any) is finished first."""
        split = [split_request(request) for request in requests]
        keys = [key for key, _ in split]
        found = code.find(lambda: self.build, keys)
        self._finish_ahead(sandbox)
        if self._made:
            for index, (key, source) in enumerate(split):
                if found[index] is None and key.startswith("K") and (made := self._take_made(key, source)) is not None:
                    found[index] = made
                    code.keep(self.build, key, made)
        wanted = [index for index, (key, source) in enumerate(split)
                  if found[index] is None and source is not None and code.wanted(key)
                  and may_compile(key, source, self._shapes)]
        compiled, helper_seconds = self._compile_all([split[index][1] or "" for index in wanted])
        for index, bytecode in zip(wanted, compiled, strict=True):
            if bytecode is not None:
                found[index] = bytecode
                code.keep(self.build, keys[index], bytecode)
        return found, helper_seconds

    def _shapes(self) -> WrapperShapes:
        """The runner's wrappers as this engine (the reactor, not the in-process binding, whose QuickJS
        may be another version) writes them: PROBE asked of a guest of the host's own, in a runtime
        made fresh in it (the snapshot's has locked its function constructors away in the edge profile),
        where no module code runs."""
        if self._wrapper_shapes is None:
            from ..keyed_wrapper import PROBE, WrapperShapes  # (only a run that compiles by key needs it)

            # Remembered in the wasm cache (a fresh process's cold run would make a guest for it: 1 to 1.5 ms),
            # the user's private directory whose compiled modules are run as native code anyway.
            cache, remembered = self._engine.cache, cache_key("wrapper-shapes", self._engine.wasm_hash(), PROBE)
            texts = cache.remembered(remembered)
            if texts is None:
                guest = self._engine.new_guest(self._snapshot, COMPILER_HEAP)
                try:
                    guest.create_runtime()
                    guest.set_limits(COMPILER_HEAP, COMPILER_STACK)
                    texts = guest.text(guest.eval(PROBE, "<probe>"))
                finally:
                    guest.close()
                cache.remember(remembered, texts)
            self._wrapper_shapes = WrapperShapes(texts)
        return self._wrapper_shapes

    def ahead(self, guest: Guest, modules: Mapping[str, str]) -> None:
        """Compile the wrappers of `modules` (code key -> code, the host's own transforms handed to the
        sandbox `guest` with its graph) on the helper thread, from now until its compile requests finish
        them (`_finish_ahead`). One batch at a time: another sandbox's, not yet asked for, is finished first."""
        if not modules:
            return
        self._finish_ahead(None)
        from ..keyed_wrapper import wrapper_source  # (a cold run's: a warm one never loads it)

        shapes = self._shapes()
        tails, sources = [], []
        for key, code in modules.items():
            source = wrapper_source(shapes, key, code)
            if source is not None:
                tails.append("l:" + key)  # started in its turn: the request's key after its format
                sources.append(source)
        with self._ahead_lock:
            if self._ahead is not None or not sources:  # (another hand-over's, meanwhile)
                return
            compiled: list[bytes | None] = [None] * len(sources)
            taken = itertools.count()
            work = self._helper_pool().submit(self._compile_from, self._slots[1], sources, compiled, taken)
            self._ahead = guest, tails, sources, compiled, taken, work

    def _finish_ahead(self, guest: Guest | None) -> None:
        """The batch compiled ahead for `guest` (None: for any) finished: what the helper has not reached
        compiled on this thread beside it, then its wrappers kept for their requests (`_take_made`). Only
        sandboxes whose compiles no limit bounds have a batch: another's requests never compile one."""
        with self._ahead_lock:
            ahead = self._ahead
            if ahead is None or guest not in (None, ahead[0]):
                return
            self._ahead = None
        _, tails, sources, compiled, taken, work = ahead
        self._compile_from(self._slots[0], sources, compiled, taken)
        work.result()
        with self._ahead_lock:
            if len(self._made) + len(tails) > KEPT_AHEAD:
                self._made.clear()
            self._made.update(zip(tails, zip(sources, compiled, strict=True), strict=True))

    def _take_made(self, key: str, source: str | None) -> bytes | None:
        """The bytecode compiled ahead as this very request (its key after the format, and its whole source
        where it comes with one), or None."""
        with self._ahead_lock:
            made = self._made.pop(key.partition(":")[2], None)
        return made[1] if made is not None and (source is None or made[0] == source) else None

    def _helper_pool(self) -> Any:
        with self._helper_lock:
            if self._helper is None:
                self._helper = big_stack_pool("modrun-wasm-compile")
            return self._helper

    def _compile_all(self, sources: list[str]) -> tuple[list[bytes | None], float]:
        """Each source compiled, in order, CHUNK at a time; a large batch on two threads at once, this one
        and the helper, each in a guest of its own (the calls into wasm let go of the GIL). Both take the
        next chunk from one counter, so that a thread the machine leaves waiting holds up no share of
        the batch: the other compiles it."""
        compiled: list[bytes | None] = [None] * len(sources)
        if len(sources) < PARALLEL_MIN or (os.cpu_count() or 1) < 2:
            self._compile_from(self._slots[0], sources, compiled, itertools.count())
            return compiled, 0.0
        taken = itertools.count()  # next() on it is atomic: each chunk goes to one thread
        helper = self._helper_pool().submit(self._compile_from, self._slots[1], sources, compiled, taken)
        try:
            self._compile_from(self._slots[0], sources, compiled, taken)
        finally:
            helper_seconds = helper.result()  # never left running past the answer
        return compiled, helper_seconds

    def _compile_from(self, slot: _Slot, sources: list[str], compiled: list[bytes | None],
                      taken: Iterator[int]) -> float:
        """Compile sources into `compiled`, the chunks `taken` gives, until it passes the end; returns
        the CPU seconds this thread spent."""
        started = time.thread_time()
        for chunk in taken:
            start = chunk * CHUNK
            if start >= len(sources):
                break
            compiled[start:start + CHUNK] = self._compile(slot, sources[start:start + CHUNK])
        return time.thread_time() - started

    def _compile(self, slot: _Slot, sources: list[str]) -> list[bytes | None]:
        """The sources' bytecode, None for one that does not compile (the runner reports its error)."""
        with slot.lock:
            try:
                return self._compiler_guest(slot).compile(sources, FILENAME)
            except (GuestTrap, GuestMemoryError):  # the compiler guest is not reused after a trap
                if slot.guest is not None:
                    slot.guest.close()
                slot.guest = None
        if len(sources) == 1:
            return [None]
        # Which source trapped cannot be told: each again on its own, so that it alone goes without.
        return [self._compile(slot, [source])[0] for source in sources]

    def _compiler_guest(self, slot: _Slot) -> Guest:
        """The slot's guest, made on first use (the caller holds the slot's lock)."""
        if slot.guest is None:
            slot.guest = self._engine.new_guest(self._snapshot, COMPILER_HEAP)
            slot.guest.set_limits(COMPILER_HEAP, COMPILER_STACK)
            slot.guest.defer_gc(first_gc_bytes(COMPILER_HEAP))
            # Its pages faulted in at once, not one by one as its first compiles write them: two compiler guests
            # faulting their copies of the snapshot's pages at the same time slow each other down (date-fns's
            # 305 wrappers on two threads: 30 ms, each thread's CPU time as long as one thread alone; 20 ms so).
            slot.guest.prefault()
        return slot.guest


def split_sources(chars: bytes, wide: bool) -> list[str]:
    """The sources in HostCompiler.takeAll's answer, from its characters as the guest holds them
    (UTF-16 code units when `wide`, else Latin-1): their lengths in code units, a newline, the
    sources. Text the lengths do not cut cleanly comes from a broken guest: a trap."""
    if not chars:
        return []
    if not wide:  # one character per code unit: the text is cut as it is
        header, _, joined = chars.decode("latin-1").partition("\n")
        lengths = [int(length) for length in header.split(",") if length.isdigit()]
        ends = list(itertools.accumulate(lengths, initial=0))
        if ends[-1] == len(joined):
            return [joined[start:end] for start, end in itertools.pairwise(ends)]
    elif (newline := chars.find(b"\n\0")) >= 0 and newline % 2 == 0:  # (the header is ASCII)
        header = chars[:newline].decode("utf-16-le", "surrogatepass")
        lengths = [int(length) for length in header.split(",") if length.isdigit()]
        ends = list(itertools.accumulate((2 * length for length in lengths), initial=newline + 2))
        if ends[-1] == len(chars):
            return [chars[start:end].decode("utf-16-le", "surrogatepass") for start, end in itertools.pairwise(ends)]
    raise GuestTrap("the compile requests' lengths do not match their text", None, 0)


_compilers: dict[int, WasmCompiler] = {}
_compilers_lock = threading.Lock()


def shared_compiler(engine: WasmEngine, snapshot: Snapshot) -> WasmCompiler:
    """The process's compiler for this engine."""
    with _compilers_lock:
        found = _compilers.get(id(engine))
        if found is None:
            found = _compilers[id(engine)] = WasmCompiler(engine, snapshot)
        return found
