"""Wrappers compiled ahead of the runtime, on a host thread, from the host's own transforms.

A cold import's runtime is sent its graph once every module is transformed; it then parses the
answer, runs the runner up to its compile request (runner/js/module_runner/host_compiler.js) and
waits while the host compiles each wrapper on the runtime's thread. But the host knows each wrapper
before the runtime asks: a module's code and its code key (runner/rpc/code_keys.py) make the
wrapper's text exactly (the shape the runner gives it, esm_evaluator.js `shape`, as keyed_wrapper.py
makes it, with the engine's own text around a body). So each module's code is queued as its answer
is built (the environment's `on_code` hook), and once the runtime is handed its graph a thread
compiles the queue to bytecode, in a context of its own (a JSRuntime per thread is safe in
QuickJS-ng; the C calls release the GIL), from the first, while the runtime parses and then serves
its compile requests from the last: a request the thread compiled is read, not compiled. Not while
the host transforms (the transform has the machine's cores then: the host's and its worker's,
runner/transform_worker.py), and only where the queue says it pays (ahead_queue.py: a graph big
enough, a quiet machine). The process evaluator's host keeps the queue and sends its worker what it
hands over (process/transport.py); the worker compiles it here, on a thread of its own, beside its
runtime (process/worker.py).

A guess is used only where it is the request: the request's key names the same code started the
same way, and its source is the very text compiled (compared whole), so a module started early
(another function kind), a runner that shapes otherwise, or code the host did not predict costs the
compile it always did, never another wrapper. A source that does not compile (a syntax error) is
left to the runtime, which reports it as before. Only runtimes sent code with their keys
("alongside": no wrappers by key yet, a cold run) whose wrappers go to a store register the hook;
one asking "instead" finds its wrappers in the cache. This is the host compiling its own
transform's output, as the transform itself: it is not charged to the runtime's CPU limit (reading
the bytecode, and compiling what the thread did not, is).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Mapping

import _quickjs

from runner.limits import DEFAULT_STACK_KB

from .ahead_queue import AheadQueue
from .keyed_wrapper import WrapperShapes, wrapper_source
from .quickjs_bytecode import JS_TAG_EXCEPTION, Api, _api, _pointers, _shapes, compile_script, write_bytecode

#: wrappers compiled and not asked for (a module started early, a runtime that stopped) kept at most
_KEPT = 20_000
#: the thread's stack: room for the parser's bound (DEFAULT_STACK_KB) and what runs below it
_STACK = 2 * DEFAULT_STACK_KB * 1024


class CompileAhead:
    """Bytecode of wrappers compiled on a thread, by the request that will ask for it: the wrapper key
    without its format (`started`, e or l, and the code key). Modules are queued as their answers are
    built and compiled once the runtime is handed its graph (`start`): while the host transforms, the
    machine's cores are the transform's (the host's and its worker's, runner/transform_worker.py)."""

    def __init__(self, shapes: WrapperShapes) -> None:
        api = _api()  # the C API the runtime's compiler uses, available where this is made
        assert isinstance(api, Api)
        self._api = api
        self._shapes = shapes
        self._lock = threading.Condition()
        self._queue = AheadQueue()  # what the host process's own runtimes will ask for
        self._todo: OrderedDict[str, tuple[str, str]] = OrderedDict()  # started, not yet compiled
        self._busy: str | None = None  # the tail being compiled
        self._done: dict[str, tuple[str, bytes | None]] = {}  # -> (source, bytecode; None: did not compile)
        self._thread: threading.Thread | None = None

    def submit(self, key: str, code: str) -> None:
        """Queue the wrapper of `code`, keyed `key`, to be compiled before it is asked for (the
        environment's hook, for a runtime of this process)."""
        self._queue.submit(key, code)

    def start(self) -> None:
        """Compile what is queued, on the thread, where the queue says it pays (else the runtime's thread
        compiles it, as without this: a busy machine's cores are other work's)."""
        self.compile(self._queue.take())

    def compile(self, modules: Mapping[str, str]) -> None:
        """Compile the wrappers of `modules` (code key -> code) on the thread, from the first: started in
        their turn, as all but a module with top-level await and imports that is started early are."""
        if not modules:
            return
        with self._lock:
            for key, code in modules.items():
                tail = "l:" + key
                if tail not in self._done and tail != self._busy:
                    self._todo[tail] = (key, code)
            if self._thread is None:
                # made here, not at the first transform: a thread's locks must not be copied into the
                # transform worker's fork
                self._thread = threading.Thread(target=self._run, name="modrun-compile-ahead", daemon=True)
                previous = threading.stack_size(_STACK)
                try:
                    self._thread.start()
                finally:
                    threading.stack_size(previous)
            self._lock.notify()

    def take(self, key: str, source: str) -> bytes | None:
        """The bytecode of the request (`key`: a wrapper key, `source` its text) where compiled ahead as
        exactly that text; None where not (nor started: it is no longer compiled here)."""
        tail = key.partition(":")[2]
        if not self._todo and self._busy is None and not self._done:
            return None
        with self._lock:
            if self._todo.pop(tail, None) is not None:
                return None  # the runtime's thread compiles it now
            while self._busy == tail:
                self._lock.wait()
            done = self._done.pop(tail, None)
        return done[1] if done is not None and done[0] == source else None

    def _run(self) -> None:
        context = _quickjs.Context()  # this thread's own runtime: no module code ever runs in it
        # The runtime's bound on the parser's stack (runtimes with another have no wrappers made ahead:
        # quickjs_engine.py), so a module nested too deep for it fails here too, and is left to the runtime.
        context.set_max_stack_size(DEFAULT_STACK_KB * 1024)
        runtime, ctx = _pointers(context)
        self._api.update_stack_top(runtime)
        while True:
            with self._lock:
                while not self._todo:
                    self._lock.wait()
                tail, (key, code) = self._todo.popitem(last=False)
                self._busy = tail
            made: tuple[str, bytes | None] = ("", None)
            try:
                made = self._compile(ctx, key, code)
            finally:  # whatever happens, a request waiting for it goes on (and compiles it itself)
                with self._lock:
                    if len(self._done) >= _KEPT:
                        self._done.clear()
                    self._done[tail] = made
                    self._busy = None
                    self._lock.notify_all()

    def _compile(self, ctx: int, key: str, code: str) -> tuple[str, bytes | None]:
        """The wrapper's source and its bytecode (None where it does not compile: the runtime compiles
        it, and reports the error)."""
        api = self._api
        source = wrapper_source(self._shapes, key, code)
        if source is None:
            return "", None
        script = compile_script(api, ctx, source)
        if script.tag == JS_TAG_EXCEPTION:
            api.free_value(ctx, api.get_exception(ctx))
            return source, None
        try:
            return source, write_bytecode(api, ctx, script)
        finally:
            api.free_value(ctx, script)


@functools.cache
def compile_ahead() -> CompileAhead:
    """The host process's one (its wrappers serve any of its runtimes: one engine build)."""
    return CompileAhead(_shapes())
