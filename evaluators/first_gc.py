"""When a fresh QuickJS runtime first collects cycles: once its heap holds FIRST_GC_BYTES, or half its
memory limit where that is less. QuickJS frees what is not in a cycle as soon as it is let go, and
collects cycles whenever its heap grows by half since the last collection: a runtime importing a graph
of hundreds of modules, whose objects all stay live, would otherwise grow through about five collections,
each a walk over every object. Every engine applies it (quickjs_engine.py `_defer_gc`, wasm/guest.py
`defer_gc`); it needs no engine binding, so the wasm evaluator loads none for it."""

from __future__ import annotations

MB = 1024 * 1024
#: malloc'd bytes a booted runtime may reach before its first cycle collection
FIRST_GC_BYTES = 16 * MB


def first_gc_bytes(memory_limit: int | None) -> int:
    """The heap (bytes) a runtime whose heap limit is `memory_limit` bytes (None: none) first collects at:
    half the limit at most, so that cycles are collected before it is reached."""
    return FIRST_GC_BYTES if memory_limit is None else min(FIRST_GC_BYTES, memory_limit // 2)
