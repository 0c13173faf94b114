"""Writes left to threads, which a process that ends without teardown waits for before it ends.

`modrun run` ends with os._exit (cli/__init__.py: `main`), which stops every thread where it is. Its
main promises (`promise`) to call `finish` first, and then a cache may write in a thread while the
runtime goes on (evaluators/code_store.py). So does the process evaluator's worker, which is killed
with its parent: it finishes before each frame it sends (evaluators/process/worker.py), and so before
the parent, answered, can end. Where nothing promised (a library's process), `leave` declines and the
caller writes at once.
"""

from __future__ import annotations

import threading

_left: list[threading.Thread] | None = None  # None until promised: no one waits for a thread


def promise() -> None:
    """This process calls `finish` before it ends."""
    global _left
    if _left is None:
        _left = []


def leave(thread: threading.Thread) -> bool:
    """Start `thread`, to be waited for at `finish`; False (not started) where no one promised to wait."""
    if _left is None:
        return False
    _left[:] = [left for left in _left if left.is_alive()]  # (a long-lived process, `modrun dev`, leaves many)
    _left.append(thread)
    thread.start()
    return True


def finish() -> None:
    """Wait for every thread left so far."""
    while _left:
        _left.pop(0).join()
