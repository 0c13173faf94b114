"""Compiled module code, cached: how an engine gives the module runner its wrappers compiled, so
that a fresh runtime importing modules seen before skips compiling them.

The interface (the same shape for every engine):

1. The runtime is booted with `hostCompiles: true` in its config (runner/js/runtime.js) only by an
   engine that serves compile requests; the runner then, before linking, asks for the wrappers of
   the modules it is about to link and waits for the answer (runner/js/module_runner/host_compiler.js).
2. While such requests wait, the runtime's `drain` answers DRAIN_COMPILE (runner/rpc/protocol.py)
   instead of its outbox. The engine then takes the requests one by one through the runtime's
   `nextCompile()` (the text the Function constructor would compile, as a string; null when there
   are no more), or all at once through `takeCompiles()` (the wasm evaluator, where each call into
   the runtime costs), finds or makes a function for each, and answers them all with one call of the
   runtime's `compiled(...wrappers)`, in order, undefined for any it has none for (the runner
   compiles those itself, which also reports syntax errors). Then it runs the job queue again.
   An engine that boots the runtime with `codeKeys` too takes requests by key
   (runner/rpc/code_keys.py): a request that starts with "K" is a wrapper key alone, or a key, a
   newline and the source; the wrapper is kept under the key (`split_request`), and a key the cache
   does not hold is answered undefined (the runner then fetches the code and asks with it).
   `codeKeys` is "instead" (keys in place of code) where the cache or its store holds wrappers by key
   (`holds_keys`), else "alongside": a cache that holds none yet would only answer every key
   undefined, and a round trip later be asked again with the code (unless its host compiles them
   ahead, as the wasm evaluator's does for a cold sandbox: wasm/wrappers.py). The request is the runtime's
   word, made by JavaScript that module code shares a realm with and can subvert (by replacing the
   built-ins it uses), so the host does not take it: it compiles a source sent with a key, and keeps
   it under the key, only where the source is the wrapper of the very code the key's digest names
   (`may_compile`: keyed_wrapper.py undoes the wrapper's shaping and takes the digest of what it finds,
   or compares it with the code where this process keyed it; any other is answered undefined).
   Module code cannot so file one module's code under another's key for a later run:
   `tests/test_code_key_trust.py`. The wasm evaluator takes keys too: its sandboxes are a
   boundary and must not be able to write the cache, and with the check they cannot (the host files
   a keyed source only as the named code's wrapper, and the bytecode is made by its compiler guest:
   wasm/wrappers.py); it asks the probe of a fresh runtime in a guest of its own, since the reactor's
   QuickJS may be another version than the in-process one. "instead" and "alongside" are a snapshot each there.
3. Compiled code is kept in a `CodeCache`: bytecode by (engine build, wrapper source). The build
   is a digest of the engine's binary and its version, so no other build ever reads an entry;
   the source is the whole wrapper text, compared exactly (no hash collisions to reason about), or
   a wrapper key, whose code is named by 160 bits of its SHA-256.
   Each entry carries a checksum of its bytecode, checked before it is handed out: a damaged
   entry is dropped, never read. Without a disk store (below) a wrapper is compiled to bytecode the second time
   its source is seen: a process that imports a graph once pays nothing for an in-memory cache.

A runtime that asks for many wrappers by key at once (a graph's import) is answered, once they all have
bytecode (from the second time), from one object holding them all, kept in memory like a wrapper under
`batch_key` (never in a disk store: a command-line run would pay its write for the run after it):
the wrappers' exact keys in order (quickjs_bytecode.py). Read whole, it costs about a third less than
reading each wrapper (QuickJS reads the names they share once); any other request (a module changed,
added or missing) is another key, and its wrappers are read one by one.

Where it lives: in memory, one cache per host process, shared by its runtimes; and, when the
runtime is given a cache directory (the transform cache's: node_modules/.modrun, or the user's
cache for a read-only root), on disk in that directory (code_store.py), so that a command-line run
compiles nothing it compiled before. With a store, a wrapper is compiled to bytecode the first time
it is seen, and the batch is written when the runtime's compile requests have been answered (in a
thread where the process waits for it: code_store.py). The in-process cache also keeps, in memory
only, the parse of large messages sent to runtimes again (quickjs_parsed.py: data, keyed by the text).

The trust model. QuickJS does not check bytecode when it reads it: it trusts it as it trusts its
own compiler, so bytecode that did not come from its compiler can do anything the host process
can. A cache on disk would turn a write into the cache directory (a project's node_modules, which
any npm package's tarball or install script can fill) into native code run by the engine. So
every row on disk carries an HMAC-SHA256 over (engine build, SHA-256 of the wrapper source, the
bytecode) under a secret key of the user's (code_key.py: in the user's cache directory, outside
every project, mode 0600). A row is read only when its MAC verifies for the source asked for and
this build; any other row is never read, it is deleted and the wrapper compiled again. Bytecode is
only ever produced by this user's own modrun compiling the source, so:
- someone who can write the project directory (or its node_modules: an npm tarball, a copied
  project, another user's or machine's cache) can delete rows or fill the table, which costs a
  compile, and no more: a planted, altered, swapped or foreign-key row fails the MAC;
- someone who can read the key (this user, root) can forge rows: the key is exactly as secret as
  the user's own files, which such a person can change anyway;
- the process evaluator's worker opens the store itself, so it holds the key: it runs as the
  user with no filesystem sandbox (only resource limits), so module code that broke out of its
  engine could already read the key file, and the MAC changes nothing there; it can write only
  what its own engine compiled otherwise. The wasm evaluator's bytecode comes from a guest that
  only compiles (wrappers.py), and the host signs it.
MODRUN_CODE_CACHE_MB bounds a cache, in memory and on disk (0 turns compiled code off); a server
without a transform cache (`cache_dir=False`) keeps compiled code in memory only.

In-process (quickjs_bytecode.py) the engine serves from its own context through the QuickJS C
API, and boots the runner bundle itself (runner/js/bundle.py) from the same cache, as one more
source; the process evaluator's worker runs the same engine, with its own cache.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from .code_store import CodeStore, open_store, user_store

if TYPE_CHECKING:
    from .keyed_wrapper import WrapperShapes

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
        # The code each entry had when its checksum was last checked. Bytes are immutable: only an
        # entry replaced by other code can be damaged, so code is checked once, on its first hit,
        # not on every one (a fresh runtime's import hits hundreds: about 1 ms of checksums).
        self._checked: dict[tuple[str, str], bytes] = {}
        self._seen: set[int] = set()  # hashes of sources seen once, not compiled
        self.keyed: Counter[str] = Counter()  # per build: entries kept under a wrapper key (split_request)

    def get(self, build: str, source: str) -> bytes | None:
        key = (build, source)
        entry = self._entries.get(key)
        if entry is not None and self._checked.get(key) is not entry[0]:
            if zlib.crc32(entry[0]) != entry[1]:  # damaged: never handed out
                self._drop(key)
                entry = None
            else:
                self._checked[key] = entry[0]
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
        self.keyed[build] += source.startswith("K")
        while self.size > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[str, str]) -> None:
        entry = self._entries.pop(key, None)
        self._checked.pop(key, None)
        if entry is not None:
            self.size -= len(key[1]) + len(entry[0])
            self.keyed[key[0]] -= key[1].startswith("K")

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._checked.clear()
        self._seen.clear()
        self.size = self.hits = self.misses = 0
        self.keyed.clear()


#: fewer wrappers than this, asked for at once, are never kept as one batch (see batch_key)
MIN_BATCH = 16


def batch_key(keys: list[str]) -> str | None:
    """What the wrappers of exactly these requests' keys (split_request), in this order, are kept under as
    one batch, or None where they are read one by one: fewer than MIN_BATCH, or any not a wrapper key (a
    source, whose whole text would have to be hashed). Wrapper keys name their code by digest and hold no
    newline, so the digest of them joined names the batch's code."""
    if len(keys) < MIN_BATCH or not all(key.startswith("K") for key in keys):
        return None
    return "B" + hashlib.sha256("\n".join(keys).encode()).hexdigest()


def split_request(request: str) -> tuple[str, str | None]:
    """A compile request as what the code is kept under (the wrapper key, or the source itself) and
    the source to compile (None for a key alone)."""
    if not request.startswith("K"):  # a source: "0," and the wrapper's text (keyed_wrapper.SCRIPT_LEAD)
        return request, request
    key, newline, source = request.partition("\n")
    return key, source if newline else None


def may_compile(key: str, source: str, shapes: Callable[[], WrapperShapes]) -> bool:
    """May the host compile `source`, and keep it under `key` (split_request)? A source kept under itself (or
    a name of the host's own, the runner bundle's) yes; one sent with a wrapper key only where it is the
    wrapper of the code the key names (keyed_wrapper.py: the request is the runtime's word). `shapes` is
    asked only then (it can cost a probe of the engine)."""
    return not key.startswith("K") or shapes().names(key, source)


def _max_bytes() -> int:
    try:
        return int(float(os.environ.get("MODRUN_CODE_CACHE_MB", "")) * 1024 * 1024)
    except ValueError:
        return DEFAULT_MAX_BYTES


#: the host process's cache, shared by its runtimes
CODE_CACHE = CodeCache(_max_bytes())


class CompiledCode:
    """What one runtime's compile requests are served from: the process's cache, over the disk store of
    the runtime's cache directory when it has one."""

    def __init__(self, cache: CodeCache, directory: str | None) -> None:
        self.cache = cache
        self.store: CodeStore | None = open_store(directory, cache.max_bytes)
        self._shared: tuple[CodeStore, str] | None = None  # the user's store, for a source it lacked

    def build(self, file: str, compute: Callable[[], str]) -> str:
        """The engine build, remembered in the store under the binary's identity `file` (see
        CodeStore.build_of), else computed."""
        return compute() if self.store is None else self.store.build_of(file, compute)

    def find(self, build: Callable[[], str], sources: list[str]) -> list[bytes | None]:
        """The bytecode of each source, where the cache or the store has it (an empty list for no
        sources). `build` is asked only when one may have some (the digest can read the engine's binary)."""
        cache = self.cache
        if not len(cache) and self.store is None:
            return [None] * len(sources)
        codes = [cache.get(build(), source) if len(cache) else None for source in sources]
        if self.store is not None:
            missing = [source for source, code in zip(sources, codes, strict=True) if code is None]
            found = self.store.get_many(build(), missing) if missing else {}
            for source, code in found.items():
                cache.put(build(), source, code)
            codes = [found.get(source) if code is None else code for source, code in zip(sources, codes, strict=True)]
        return codes

    def find_shared(self, build: Callable[[], str], source: str) -> bytes | None:
        """`find` of code that is the same in every project (the runner bundle): where this cache and
        the project's store have none, from the store in the user's own directory (code_store.user_store),
        so that a project's first run, a cold one, does not compile it; compiled, it is kept there too."""
        code = self.find(build, [source])[0]
        user = user_store() if code is None and self.store is not None else None
        if user is None:
            return code
        code = user.get_many(build(), [source]).get(source)
        if code is None:
            self._shared = user, source  # `keep` adds it once compiled
        else:
            self.keep(build(), source, code)  # into the project's store: its later runs find it there
        return code

    def holds_keys(self, build: str) -> bool:
        """May this build's wrappers be found by key here: does the cache hold some of its keyed
        wrappers, or the store any of its rows? Another build's (the other evaluator's) do not count:
        they would only have its runtimes ask by key in vain, and fetch every module's code after."""
        return self.cache.keyed[build] > 0 or (self.store is not None and self.store.has_rows(build))

    def wanted(self, source: str) -> bool:
        """Should this source be compiled to bytecode? With a store, always: the next process reads it."""
        return self.store is not None or self.cache.wanted(source)

    def keep(self, build: str, source: str, code: bytes) -> None:
        self.cache.put(build, source, code)
        if self.store is not None:
            self.store.add(build, source, code)
        if self._shared is not None and self._shared[1] == source:
            self._shared[0].add(build, source, code)

    def flush(self) -> None:
        """Write what was compiled since the last flush (one transaction)."""
        if self.store is not None:
            self.store.flush()
        if self._shared is not None:
            self._shared[0].flush()
            self._shared = None
