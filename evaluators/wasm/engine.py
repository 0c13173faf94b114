"""The process-wide wasm engine: one wasmtime Engine, modrun's QuickJS reactor (reactor/, built from
the same QuickJS-ng sources as the in-process engine) given its stop checks and compiled once, a
snapshot per runner configuration, and new sandboxes made from those snapshots.

Fast start, in order of what a new sandbox costs:
- in a warm process a sandbox is `InstancePre.instantiate` of the snapshot module (its memory
  mapped copy-on-write from the compiled image) plus a few writes: tens of microseconds;
- a fresh process memory-maps the compiled snapshot from the on-disk cache (cache.py) and
  pre-links it;
- the very first run adds the stop checks (stop_checks.py), boots a runtime compiled by
  Winch, wasmtime's fast baseline compiler (a few hundred milliseconds), bakes it into a snapshot
  module (snapshot.py) and compiles that with Cranelift, the optimising compiler, once.

The guest has no ambient authority: the reactor imports five WASI functions (`clock_time_get`,
`fd_close`, `fd_fdstat_get`, `fd_seek`, `fd_write`), none of which can block; WASI is configured
empty (no preopened directories, no environment, no arguments, no inherited standard streams),
`fd_write` goes nowhere, and the runtime is created with the standard intrinsics only: no
`qjs:std`, no `qjs:os`, no module loader.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

from runner.js.bundle import boot_expression, boot_identity

from . import capi, snapshot
from .cache import ModuleCache, cache_key, default_directory
from .guest import Guest, Signature, function_types, signatures
from .native_stack import MAX_WASM_STACK
from .stop_checks import VERSION as STOP_CHECKS_VERSION
from .stop_checks import add_stop_checks

REACTOR = Path(__file__).resolve().parent / "reactor" / "modrun-quickjs.wasm"  # built by reactor/build.py

# Measured: a JS frame takes 2 to 3 times as much native stack as shadow stack. QuickJS's check
# fires at a quarter of the native allowance, so recursion ends in a RangeError before wasmtime's
# own guard; paths that recurse in C without the check end at one of the guards (a trap).
SHADOW_PER_NATIVE = 4
STACK_HEADROOM = 128 << 10  # shadow stack kept beyond QuickJS's check, for the C code that throws
STACK_GUARD = 64 << 10  # a trap with the stack pointer this close to the bottom ran out of stack


def _native_library() -> str:
    """What identifies the wasmtime build compiled code depends on: its shared library."""
    stat = os.stat(capi.LIBRARY)
    return f"{capi.LIBRARY}:{stat.st_size}:{stat.st_mtime_ns}"


def _new_engine(strategy: int) -> tuple[int, str]:
    engine = capi.new_engine(strategy, MAX_WASM_STACK + (1 << 20), MAX_WASM_STACK)
    machine = os.uname().machine if hasattr(os, "uname") else sys.platform
    return engine, f"strategy={strategy};stack={MAX_WASM_STACK};may_move=0;opt=speed;{machine}"


class Snapshot(NamedTuple):  # not a dataclass: every wasm run makes this class, and a dataclass costs a compile
    """A booted runtime baked into a compiled module, ready to instantiate."""

    pre: int  # a wasmtime_instance_pre_t
    signatures: dict[str, Signature]
    booted: snapshot.BootedRuntime
    memory_size: int  # bytes of linear memory a new instance starts with
    stack_top: int  # where the shadow stack starts (it grows down to 0)
    source: str  # "disk" (the on-disk cache) or "built" (by this process)
    timings: dict[str, float]  # ms per step of its making (bench/wasm_start.py)


class WasmEngine:
    def __init__(self) -> None:
        self.wasm_path = REACTOR
        self.native = _native_library()
        self.engine, self.fingerprint = _new_engine(capi.STRATEGY_CRANELIFT)
        self.linker = capi.new_linker(self.engine)
        self.cache = ModuleCache(default_directory())
        self._lock = threading.Lock()
        self._snapshots: dict[str, Snapshot] = {}
        self._checked: bytes | None = None
        self._wasm_hash: str | None = None

    def _key(self, kind: str, *parts: str) -> str:
        return cache_key(kind, self.wasm_hash(), self.native, self.fingerprint,
                         str(STOP_CHECKS_VERSION), *parts)

    def wasm_hash(self) -> str:
        """The reactor's SHA-256. Hashing it on every start would cost more than loading the
        snapshot, so the digest is remembered in the cache, under the file's identity (path,
        size, modification time)."""
        if self._wasm_hash is None:
            stat = self.wasm_path.stat()
            identity = cache_key("reactor", str(self.wasm_path), str(stat.st_size), str(stat.st_mtime_ns))
            self._wasm_hash = self.cache.remembered(identity)
            if self._wasm_hash is None:
                self._wasm_hash = hashlib.sha256(self.wasm_path.read_bytes()).hexdigest()
                self.cache.remember(identity, self._wasm_hash)
        return self._wasm_hash

    def with_stop_checks(self) -> bytes:
        """The reactor with its stop checks (only needed when a snapshot is built)."""
        if self._checked is None:
            self._checked = add_stop_checks(self.wasm_path.read_bytes())
        return self._checked

    def snapshot(self, runtime_config: dict[str, Any]) -> Snapshot:
        """The snapshot of a runtime booted with this configuration (runner/js's `config`). The profile's
        interfaces are all defined at boot (`preload`), so that the snapshot holds them compiled."""
        runtime_config = {**runtime_config, "preload": True}
        config = json.dumps(runtime_config, sort_keys=True)
        found = self._snapshots.get(config)
        if found is not None:
            return found
        with self._lock:
            found = self._snapshots.get(config)
            if found is None:
                started = time.perf_counter()
                source, digest = self._boot_source(runtime_config)
                keyed = time.perf_counter()
                key = self._key("snapshot", digest)
                found = self._load(key) or self._build(key, source or boot_expression(runtime_config))
                found.timings["key"] = (keyed - started) * 1000
                self._snapshots[config] = found
            return found

    def _boot_source(self, runtime_config: dict[str, Any]) -> tuple[str | None, str]:
        """The boot source's SHA-256, and the source when it had to be made. Making it costs a fresh
        process 7 to 15 ms (the edge profile's libraries are read and quoted), so its digest is
        remembered in the cache under the identity of what it is made from."""
        identity = boot_identity(runtime_config)
        remembered = cache_key("boot", identity) if identity is not None else None
        digest = self.cache.remembered(remembered) if remembered is not None else None
        if digest is not None:
            return None, digest
        source = boot_expression(runtime_config)
        digest = hashlib.sha256(source.encode()).hexdigest()
        if remembered is not None:
            self.cache.remember(remembered, digest)
        return source, digest

    def _load(self, key: str) -> Snapshot | None:
        started = time.perf_counter()
        cached = self.cache.load(self.engine, key)
        if cached is None:
            return None
        loaded = time.perf_counter()
        module, meta = cached
        try:
            booted = snapshot.BootedRuntime.from_json(meta["booted"])
            types = meta["functions"]
            memory_size, stack_top = int(meta["memory_size"]), int(meta["stack_top"])
        except (KeyError, TypeError, ValueError):
            return None  # written by another version: rebuilt and overwritten
        found = Snapshot(capi.instantiate_pre(self.linker, module), signatures(types), booted, memory_size, stack_top,
                         "disk", {})
        found.timings.update({"load": (loaded - started) * 1000, "pre-link": (time.perf_counter() - loaded) * 1000})
        return found

    def _build(self, key: str, boot_source: str) -> Snapshot:
        base = self.with_stop_checks()
        image, booted, stack_top = _boot_in_baseline(base, boot_source)
        wasm = snapshot.snapshot_module(base, image)
        module = capi.compile_module(self.engine, wasm)
        types = function_types(wasm)
        meta = {"booted": booted.to_json(), "memory_size": len(image), "stack_top": stack_top, "functions": types}
        self.cache.store(key, capi.serialize(module), meta)
        return Snapshot(capi.instantiate_pre(self.linker, module), signatures(types), booted, len(image), stack_top,
                        "built", {})

    def new_guest(self, snapshot: Snapshot, memory_cap: int | None) -> Guest:
        """A new instance of a snapshot; `memory_cap` bounds its linear memory (bytes beyond the
        snapshot's own)."""
        store = capi.Store(self.engine, None if memory_cap is None else snapshot.memory_size + memory_cap)
        try:
            guest = Guest(store, store.instantiate_pre(snapshot.pre), snapshot.signatures)
        except BaseException:
            store.close()
            raise
        guest.restore(snapshot.booted.state)
        guest.reseed()
        return guest


def _boot_in_baseline(base: bytes, boot_source: str) -> tuple[bytes, snapshot.BootedRuntime, int]:
    """Boot a runtime in an instance compiled by Winch (fast to compile, and it runs only the
    boot) and capture its memory."""
    try:
        engine, _ = _new_engine(capi.STRATEGY_WINCH)
        module = capi.compile_module(engine, base)
    except capi.WasmError:  # a wasmtime built without Winch
        engine, _ = _new_engine(capi.STRATEGY_CRANELIFT)
        module = capi.compile_module(engine, base)
    store, linker = capi.Store(engine), capi.new_linker(engine)
    try:
        guest = Guest(store, store.instantiate(linker, module), signatures(function_types(base)))
        stack_top = guest.stack_pointer()
        booted = snapshot.boot(guest, boot_source)
        return snapshot.capture(guest, stack_top), booted, stack_top
    finally:
        store.close()
        capi.delete(engine=engine, module=module, linker=linker)


_engine: WasmEngine | None = None
_engine_lock = threading.Lock()


def shared_engine() -> WasmEngine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = WasmEngine()
        return _engine
