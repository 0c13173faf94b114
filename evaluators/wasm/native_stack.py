"""The host thread's native stack, on which wasm frames run: how much wasm may use, and running
guest work on a thread that can hold it."""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_WASM_STACK = 4 << 20  # native stack wasm may use on the host thread
THREAD_STACK_NEEDED = MAX_WASM_STACK + (2 << 20)  # plus what Python itself may be using

_local = threading.local()
_big_stack: Any = None  # a ThreadPoolExecutor, made on first need
_big_stack_lock = threading.Lock()


def _thread_stack_size() -> int | None:
    """The current thread's stack size (glibc and musl), or None when it cannot be told."""
    try:
        libc = ctypes.CDLL(None)
        attr = ctypes.create_string_buffer(256)
        libc.pthread_self.restype = ctypes.c_void_p
        if libc.pthread_getattr_np(ctypes.c_void_p(libc.pthread_self()), attr) != 0:
            return None
        address, size = ctypes.c_void_p(), ctypes.c_size_t()
        try:
            libc.pthread_attr_getstack(attr, ctypes.byref(address), ctypes.byref(size))
        finally:
            libc.pthread_attr_destroy(attr)
        return size.value
    except (AttributeError, OSError):
        return None


def big_stack_pool(name: str) -> Any:
    """A one-thread ThreadPoolExecutor whose thread's stack can hold wasm's native stack allowance."""
    from concurrent.futures import ThreadPoolExecutor

    previous = threading.stack_size(THREAD_STACK_NEEDED + (4 << 20))
    try:
        pool = ThreadPoolExecutor(1, thread_name_prefix=name)
        pool.submit(lambda: None).result()  # start the thread while the size is set
    finally:
        threading.stack_size(previous)
    return pool


def on_big_stack(work: Callable[[], T]) -> T:
    """Run `work` here when this thread's stack can hold wasm's native stack allowance, else on a
    helper thread that can (wasm frames run on the calling thread's stack; a thread with a small
    one would otherwise crash the process on deep recursion)."""
    ok = getattr(_local, "stack_ok", None)
    if ok is None:
        size = _thread_stack_size()
        ok = _local.stack_ok = size is None or size >= THREAD_STACK_NEEDED
    if ok:
        return work()
    global _big_stack
    with _big_stack_lock:
        if _big_stack is None:
            _big_stack = big_stack_pool("modrun-wasm-stack")
    return _big_stack.submit(work).result()
