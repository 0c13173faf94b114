"""Compiled module code, cached: how an engine gives the module runner its wrappers compiled, so
that a fresh runtime importing modules seen before skips compiling them.

The interface (the same shape for every engine):

1. The runtime is booted with `hostCompiles: true` in its config (runner/js/runtime.js) only by an
   engine that serves compile requests; the runner then, before linking, asks for the wrappers of
   the modules it is about to link and waits for the answer (runner/js/module_runner/host_compiler.js).
2. While such requests wait, the runtime's `drain` answers DRAIN_COMPILE (runner/rpc/protocol.py)
   instead of its outbox. The engine then takes the requests one by one through the runtime's
   `nextCompile()` (the text the Function constructor would compile, as a string; null when there
   are no more), finds or makes a function for each, and answers them all with one call of the
   runtime's `compiled(...wrappers)`, in order, undefined for any it has none for (the runner
   compiles those itself, which also reports syntax errors). Then it runs the job queue again.
3. Compiled code is kept in a `CodeCache`: bytecode by (engine build, wrapper source). The build
   is a digest of the engine's binary and its version, so no other build ever reads an entry;
   the source is the whole wrapper text, compared exactly (no hash collisions to reason about).
   Each entry carries a checksum of its bytecode, checked before it is handed out: a damaged
   entry is dropped, never read. A wrapper is compiled to bytecode the second time its source is
   seen: a process that imports a graph once (the command line) pays nothing for the cache.

Where it lives: in memory, one cache per host process, shared by its runtimes. Not on disk:
bytecode is not checked when it is read (QuickJS trusts it as it trusts its own compiler), so a
cache file anyone can write would turn a write into the cache directory into native code run by
the engine. Bytecode only ever comes from this process's own compiler.

In-process (quickjs_bytecode.py) the engine serves from its own context through the QuickJS C
API, and boots the runner bundle itself (runner/js/bundle.py) from the same cache, as one more
source; the process evaluator's worker runs the same engine, with its own cache. MODRUN_CODE_CACHE_MB
bounds a cache (0 turns compiled code off).
"""

from __future__ import annotations

import os
import zlib
from collections import OrderedDict

#: the default bound of a CodeCache (bytes of sources and bytecode), MODRUN_CODE_CACHE_MB to change
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


class CodeCache:
    """Bytecode by (engine build, wrapper source), least recently used first out beyond
    `max_bytes` (sources and bytecode counted); `hits` and `misses` count lookups."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[str, str], tuple[bytes, int]] = OrderedDict()  # -> (code, crc32)
        self._seen: set[int] = set()  # hashes of sources seen once, not compiled

    def get(self, build: str, source: str) -> bytes | None:
        key = (build, source)
        entry = self._entries.get(key)
        if entry is not None and zlib.crc32(entry[0]) != entry[1]:  # damaged: never handed out
            self._drop(key)
            entry = None
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return entry[0]

    def wanted(self, source: str) -> bool:
        """Should this source, which the cache does not hold, be compiled into it? Yes the second
        time it is seen. Sightings are not code, so they need no build: a wrong one costs a compile."""
        mark = hash(source)
        if mark in self._seen:
            self._seen.discard(mark)
            return True
        if len(self._seen) > 1_000_000:  # bounded: forget the sightings, not the code
            self._seen.clear()
        self._seen.add(mark)
        return False

    def put(self, build: str, source: str, code: bytes) -> None:
        key = (build, source)
        self._drop(key)
        cost = len(source) + len(code)
        if cost > self.max_bytes:
            return
        self._entries[key] = (code, zlib.crc32(code))
        self.size += cost
        while self.size > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[str, str]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.size -= len(key[1]) + len(entry[0])

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._seen.clear()
        self.size = self.hits = self.misses = 0


def _max_bytes() -> int:
    try:
        return int(float(os.environ.get("MODRUN_CODE_CACHE_MB", "")) * 1024 * 1024)
    except ValueError:
        return DEFAULT_MAX_BYTES


#: the host process's cache, shared by its runtimes
CODE_CACHE = CodeCache(_max_bytes())
