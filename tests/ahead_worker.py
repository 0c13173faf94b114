"""A process-evaluator worker that says what its wrappers compiled ahead served, for tests/test_process_ahead.py.

    python tests/ahead_worker.py LOG FD

It is the real worker (evaluators/process/worker.py); each compile request that asks the wrappers compiled
ahead appends a line to LOG: the wrapper key, a space, 1 where it was served from them, else 0. An AHEAD
frame's modules are all compiled before its runtime goes on (the runtime's thread compiles any not yet
begun when asked, so a test could not otherwise tell which it is served).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping

from evaluators.compile_ahead import CompileAhead
from evaluators.process import worker as process_worker


def main() -> None:
    log = sys.argv[1]
    take, compile_ = CompileAhead.take, CompileAhead.compile

    def logged_take(ahead: CompileAhead, key: str, source: str) -> bytes | None:
        code = take(ahead, key, source)
        with open(log, "a") as out:
            out.write(f"{key} {int(code is not None)}\n")
        return code

    def finished_compile(ahead: CompileAhead, modules: Mapping[str, str]) -> None:
        compile_(ahead, modules)
        deadline = time.monotonic() + 30
        with ahead._lock:
            while (ahead._todo or ahead._busy is not None) and time.monotonic() < deadline:
                ahead._lock.wait(0.05)

    CompileAhead.take = logged_take  # type: ignore[method-assign,assignment]
    CompileAhead.compile = finished_compile  # type: ignore[method-assign,assignment]
    process_worker.main([sys.argv[0], sys.argv[2]])


if __name__ == "__main__":
    main()
