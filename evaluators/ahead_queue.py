"""The modules whose wrappers may be compiled ahead of a cold runtime (compile_ahead.py), as the host
builds their answers (the environment's `on_code` hook): handed over with the graph where it is worth
it. Engine-free: the process evaluator's host keeps one, and sends what it hands over to its worker,
which compiles (process/transport.py); the in-process evaluator's CompileAhead keeps one for itself, and
the wasm evaluator's transport one for its compiler (wasm/wrappers.py).

Worth it where the graph has MIN_MODULES or more, and the machine was quiet while it was queued:
work other than the host's used less than half a core on average from the first module queued to
the hand-over (runner/cores.py `quiet`). On a busy machine a second thread only takes time from the
runtime's, which compiles all, as before; the moment of the hand-over says little (the host's own
transform worker may still be answering then). The wasm evaluator's queue hands over every module
(`gated`): its sandbox asks for wrappers by key alone, and its compile service takes a second core
whatever the load."""

from __future__ import annotations

from runner.cores import quiet, work_ticks

#: a graph with fewer modules compiles them in less time than a thread and its runtime take to start
MIN_MODULES = 8


class AheadQueue:
    """Modules queued by code key (runner/rpc/code_keys.py) since the last hand-over, with their code."""

    def __init__(self, gated: bool = True) -> None:
        """`gated`: handed over only where it is worth it (above); else always."""
        self._queued: dict[str, str] = {}
        self._gated = gated
        self._since: tuple[int, int, int] | None = None  # the machine's work_ticks() at the first queued

    def submit(self, key: str, code: str) -> None:
        """Queue a module (the environment's hook)."""
        if not self._queued and self._gated:  # the graph's first: the window the machine's load is judged over opens
            self._since = work_ticks()
        self._queued[key] = code

    def take(self) -> dict[str, str]:
        """What was queued since the last hand-over (code key -> code), where compiling it ahead may pay (or
        always, ungated); else nothing. Either way the queue starts again empty."""
        queued, self._queued = self._queued, {}
        if self._gated and (len(queued) < MIN_MODULES or not quiet(self._since, work_ticks())):
            return {}
        return queued
