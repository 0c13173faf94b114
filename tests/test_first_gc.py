"""A QuickJS runtime's first cycle collection waits until its heap holds FIRST_GC_BYTES, or half its memory
limit where that is less (evaluators/quickjs_engine.py: _defer_gc): a fresh runtime importing a graph is
not walked by a collection again and again as it grows. Cycles are still collected before the memory limit
is reached, in the in-process engine, in the process evaluator's worker (the same engine) and in the wasm
evaluator's sandboxes and compiler guests (its own build of QuickJS, evaluators/wasm/reactor)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evaluators.first_gc import FIRST_GC_BYTES, MB
from evaluators.options import RuntimeOptions
from evaluators.quickjs_bytecode import _api, _pointers
from evaluators.quickjs_engine import QuickJSEngine
from runner import Server
from runner.limits import Limits
from tests.project_files import write


@pytest.mark.parametrize(("memory_mb", "first"), [(None, FIRST_GC_BYTES), (1024, FIRST_GC_BYTES), (8, 4 * MB)])
def test_the_first_collection_waits_for_its_threshold(memory_mb: float | None, first: int) -> None:
    api = _api()
    assert not isinstance(api, str), api
    engine = QuickJSEngine(RuntimeOptions(limits=Limits(memory_mb=memory_mb)))
    try:
        runtime, _ = _pointers(engine.context)
        assert api.get_gc_threshold(runtime) == first
    finally:
        engine.close()


@pytest.mark.parametrize(("memory_mb", "first"), [(None, FIRST_GC_BYTES), (1024, FIRST_GC_BYTES), (8, 4 * MB)])
def test_the_wasm_sandbox_waits_for_its_threshold(memory_mb: float | None, first: int) -> None:
    from evaluators.wasm.evaluator import WasmTransport

    transport = WasmTransport(RuntimeOptions(limits=Limits(memory_mb=memory_mb)))
    try:
        assert transport.guest.defer_gc(0) == first  # (0 reads the threshold)
    finally:
        asyncio.run(transport.close())


def test_the_wasm_compiler_guests_wait_for_theirs() -> None:
    from evaluators.wasm.evaluator import WasmTransport
    from evaluators.wasm.wrappers import COMPILER_HEAP, WasmCompiler

    transport = WasmTransport(RuntimeOptions())
    try:
        shared = transport._compiler
        assert shared is not None
        compiler = WasmCompiler(shared._engine, shared._snapshot)  # guests of its own, made here
        for slot in compiler._slots:  # the calling thread's and the helper's
            with slot.lock:
                assert compiler._compiler_guest(slot).defer_gc(0) == min(FIRST_GC_BYTES, COMPILER_HEAP // 2)
    finally:
        asyncio.run(transport.close())


@pytest.mark.parametrize("evaluator", ["inprocess", "process", "wasm"])
def test_cycles_are_collected_before_the_memory_limit(tmp_path: Path, evaluator: str) -> None:
    # About 400 MB of cyclic garbage, 2 MB at a time, under a 12 MB limit: collected on the way.
    root = write(tmp_path, {"churn.js": (
        "let kept = 0;\n"
        "for (let i = 0; i < 200; i++) {\n"
        "  const a = { data: new Array(128 * 1024).fill(i) };\n"
        "  const b = { a };\n  a.b = b;\n  kept += a.data.length;\n"
        "}\nexport const total = kept;\n")})

    async def main() -> int:
        async with Server(root=root, cache_dir=False,
                          environments={"ssr": {"evaluator": evaluator, "limits": {"memory_mb": 12}}}) as server:
            return int((await server.environments["ssr"].import_module("/churn.js")).total)

    assert asyncio.run(main()) == 200 * 128 * 1024
