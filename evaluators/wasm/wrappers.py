"""Compiled module code in the wasm evaluator: the runner's wrappers as bytecode of our own reactor
(JS_WriteObject and JS_ReadObject through reactor/modrun_reactor.c), served as
evaluators/compiled_code.py describes, from the host process's CODE_CACHE, keyed by the
reactor's SHA-256.

Bytecode is not checked when it is read, and the cache is shared by every sandbox of the process,
so it is never written by a sandbox: a runtime that has run module code could have been made to
corrupt its engine, and bytecode it wrote would then run in other sandboxes. The bytecode is
compiled in a guest of its own, made from the same snapshot, that only ever compiles (it parses
sources and runs none).
"""

from __future__ import annotations

import itertools
import threading

from ..compiled_code import CompiledCode
from .engine import Snapshot, WasmEngine
from .guest import Guest, GuestException, GuestMemoryError, GuestTrap
from .snapshot import FILENAME

COMPILER_HEAP = 256 * 1024 * 1024  # what compiling one source may take; beyond, the runtime compiles it
COMPILER_STACK = 256 * 1024


class WasmCompiler:
    """Compiles wrappers for the sandboxes of one engine and answers their requests."""

    def __init__(self, engine: WasmEngine, snapshot: Snapshot) -> None:
        self.build = f"modrun-quickjs {engine.wasm_hash()}"
        self._engine = engine
        self._snapshot = snapshot
        self._guest: Guest | None = None
        self._lock = threading.Lock()

    def serve(self, guest: Guest, take_compiles: int, compiled: int, code: CompiledCode) -> None:
        """Answer `guest`'s compile requests (runner/js/module_runner/host_compiler.js) from `code`: each
        wrapper read from bytecode where there is some, undefined where not. The sources come out in
        one call (takeAll) and the answer goes in with one more (Guest.answer_compiled): each call
        into the guest costs more than the work of splitting and joining."""
        bytecodes: list[bytes | None] = []
        try:
            sources = split_sources(*guest.take_chars(guest.call_function(take_compiles)))
            bytecodes = self.bytecode(sources, code)
            code.flush()
        finally:
            guest.answer_compiled(compiled, bytecodes)  # always answered: the runner waits for it

    def bytecode(self, sources: list[str], code: CompiledCode) -> list[bytes | None]:
        """The cached bytecode of the wrappers' sources, compiled when `code` wants them."""
        found = code.find(lambda: self.build, sources)
        for index, source in enumerate(sources):
            if found[index] is None and code.wanted(source):
                compiled = found[index] = self._compile(source)
                if compiled is not None:
                    code.keep(self.build, source, compiled)
        return found

    def _compile(self, source: str) -> bytes | None:
        with self._lock:
            try:
                if self._guest is None:
                    self._guest = self._engine.new_guest(self._snapshot, COMPILER_HEAP)
                    self._guest.set_limits(COMPILER_HEAP, COMPILER_STACK)
                return self._guest.compile(source, FILENAME)
            except GuestException:  # a syntax error: the runner reports it
                return None
            except (GuestTrap, GuestMemoryError):  # the compiler guest is not reused after a trap
                if self._guest is not None:
                    self._guest.close()
                self._guest = None
                return None


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
