"""Wrappers compiled ahead for the process evaluator (evaluators/compile_ahead.py in its worker): the host
queues each module's code and, at the hand-over, where the queue says it pays, sends the worker an
AHEAD frame (process/frames.py) before the graph's TURN; the worker compiles them on a thread and serves
its runtime's requests from it for the exact text only. Against real worker processes."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evaluators import ahead_queue, register_evaluator
from evaluators.options import RuntimeOptions
from evaluators.process import ProcessEvaluator, ProcessTransport, transport
from evaluators.process.frames import AHEAD, FrameError, pack, pack_ahead, unpack_ahead
from evaluators.quickjs_bytecode import unavailable
from runner import Server
from runner.errors import ModrunError
from runner.limits import Limits
from runner.prefetch import may_prefetch
from runner.rpc.exports import ModuleProxy
from tests.project_files import write
from tests.test_code_keys import compiled_result
from tests.test_compile_ahead import PROJECT

AHEAD_WORKER = Path(__file__).with_name("ahead_worker.py")
KEY = "0123456789abcdef0123456789abcdef01234567:s:"

pytestmark = [pytest.mark.skipif(unavailable() is not None, reason=unavailable() or ""),
              pytest.mark.usefixtures("empty_code_cache")]


@pytest.fixture(autouse=True)
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # the store's key (the worker's too)


def quiet(monkeypatch: pytest.MonkeyPatch, idle: bool) -> None:
    """Whether the machine is quiet is its own to say: here the host is told."""
    monkeypatch.setattr(ahead_queue, "quiet", lambda before, after: idle)


def spied(log: Path) -> str:
    """An evaluator whose workers log each request served from wrappers made ahead (ahead_worker.py)."""
    name = f"process-ahead-{abs(hash(str(log)))}"
    register_evaluator(name, ProcessEvaluator(pool_size=0, command=[sys.executable, str(AHEAD_WORKER), str(log)]))
    return name


def import_entry(root: Path, store: Path, evaluator: str) -> Any:
    async def main() -> Any:
        async with Server(root=root, cache_dir=store, environments={"ssr": {"evaluator": evaluator}}) as server:
            runner = await server.environments["ssr"].create_runner()
            try:
                return (await ModuleProxy.load(runner, "/entry.js")).result
            finally:
                await runner.close()

    return asyncio.run(main())


def taken(log: Path) -> list[tuple[str, bool]]:
    """(wrapper key, served from the wrappers made ahead) per request that asked them."""
    lines = log.read_text().splitlines() if log.exists() else []
    return [(key, found == "1") for key, found in (line.split(" ") for line in lines)]


def counted(sent: list[int]) -> Any:
    """`pack_ahead` that also notes how many modules each AHEAD frame carries."""
    def pack_counted(modules: dict[str, str]) -> bytes:
        sent.append(len(modules))
        return pack_ahead(modules)
    return pack_counted


def test_the_worker_serves_the_wrappers_made_ahead_but_one_started_early(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "app", PROJECT)
    expected = compiled_result(root)
    quiet(monkeypatch, True)
    log = tmp_path / "taken.log"
    evaluator = spied(log)
    assert import_entry(root, tmp_path / "cache", evaluator) == expected
    es_modules = [name for name in PROJECT if name.endswith(".js")]
    # each ES module asked for once, with its source: all found made ahead but the module started early
    served = taken(log)
    assert len(served) == len(es_modules)
    assert [key.split(":")[1] for key, found in served if not found] == ["e"]
    # kept by key as after the runtime's own compile: the next worker takes them from the store, sent no code
    # and so nothing ahead
    log.unlink()
    assert import_entry(root, tmp_path / "cache", evaluator) == expected
    assert taken(log) == []


def test_the_modules_transformed_while_the_worker_boots_are_sent_ahead(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # a cold import_module transforms the graph while the worker boots (runner/prefetch.py), before its
    # transport exists: the queue begun then is the one its transport hands over
    root = write(tmp_path / "app", PROJECT)
    expected = compiled_result(root)
    quiet(monkeypatch, True)
    sent: list[int] = []
    monkeypatch.setattr(transport, "pack_ahead", counted(sent))
    log = tmp_path / "taken.log"
    evaluator = spied(log)

    async def main() -> Any:
        environments = {"ssr": {"evaluator": evaluator}}
        async with Server(root=root, cache_dir=tmp_path / "cache", environments=environments) as server:
            env = server.environments["ssr"]
            assert may_prefetch(env)
            return (await env.import_module("/entry.js")).result

    assert asyncio.run(main()) == expected
    es_modules = [name for name in PROJECT if name.endswith(".js")]
    assert sent == [len(es_modules)]
    served = taken(log)
    assert len(served) == len(es_modules) and [key.split(":")[1] for key, found in served if not found] == ["e"]


def test_nothing_is_sent_ahead_on_a_busy_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "app", PROJECT)
    expected = compiled_result(root)
    quiet(monkeypatch, False)
    log = tmp_path / "taken.log"
    assert import_entry(root, tmp_path / "cache", spied(log)) == expected
    assert taken(log) == []  # no AHEAD frame: the worker never asked for wrappers made ahead


def test_a_syntax_error_is_reported_as_without_wrappers_made_ahead(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # an early error the transform does not see (a regular expression's flags): the worker thread's compile
    # of it fails, and the runtime's own compile reports it; enough modules beside it for the graph to be
    # compiled ahead
    project = {"bad.js": "import './ok0.js';\nconst twice = 1;\nexport const flags = /a/gg;\nexport default twice;\n",
               **{f"ok{i}.js": f"export const ok{i} = {i};\n" for i in range(10)},
               "entry.js": "".join(f"import './ok{i}.js';\n" for i in range(10))
               + "import bad from './bad.js';\nexport const result = bad;\n"}

    def error(idle: bool, name: str) -> tuple[str, list[int], list[tuple[str, bool]]]:
        root = write(tmp_path / name, project)
        sent: list[int] = []
        log = tmp_path / f"{name}.log"
        with pytest.MonkeyPatch.context() as patch:
            quiet(patch, idle)
            patch.setattr(transport, "pack_ahead", counted(sent))
            with pytest.raises(ModrunError) as raised:
                import_entry(root, tmp_path / name / "cache", spied(log))
        return str(raised.value).replace(str(root), "ROOT"), sent, taken(log)

    made_ahead, sent, served = error(True, "ahead")
    # the engine's own message (the host places it: test_compile_errors.py)
    assert made_ahead == "invalid regular expression flags"
    assert sent and sent[0] >= len(project) - 1  # sent ahead, with the graph
    # every wrapper but bad.js's was read as the thread made it; bad.js's compile failed there
    assert sorted(found for _, found in served) == [False] + [True] * (len(project) - 1)
    assert error(False, "not") == (made_ahead, [], [])


def ready_ahead(tmp_path: Path, cache: bool = True, **limits: Any) -> bool:
    """Does a worker made with these limits say it takes AHEAD frames?"""
    evaluator = ProcessEvaluator(pool_size=0)

    async def main() -> bool:
        options = RuntimeOptions(limits=Limits(**limits), code_cache=str(tmp_path / "cache") if cache else None)
        transport = await evaluator.create_transport(options)
        try:
            return transport.on_code is not None and transport.info["ahead"] is True
        finally:
            await transport.close()

    return asyncio.run(main())


@pytest.mark.parametrize("limits", ({"cpu_ms": 60_000}, {"memory_mb": 512}, {"stack_kb": 2048}, {"wall_ms": 60_000}))
def test_a_runtime_with_limits_of_its_own_has_no_wrappers_made_ahead(tmp_path: Path, limits: dict[str, Any]) -> None:
    # its compiles stay on its thread, bounded by its limits, as before (a wall-clock limit arms RLIMIT_CPU on
    # the whole worker, which a second thread would spend); and one without a store has none either
    assert ready_ahead(tmp_path) and not ready_ahead(tmp_path, **limits) and not ready_ahead(tmp_path, cache=False)


def test_ahead_frames_round_trip() -> None:
    modules = {KEY: "export const a = '\u00e9\U0001f600';\n", KEY.replace(":s:", ":t:12,40"): "\ud800 lone"}
    frame = pack_ahead(modules)
    assert frame[2] == AHEAD and unpack_ahead(frame[7:]) == modules
    assert unpack_ahead(pack_ahead({})[7:]) == {}


SIZES = (1).to_bytes(4, "little") + len(KEY).to_bytes(4, "little") + (3).to_bytes(4, "little")


@pytest.mark.parametrize("payload, message", [
    (b"\x01\x00", "too short"),
    ((5).to_bytes(4, "little") + b"\x00" * 8, "run past its end"),
    (SIZES + KEY.encode() + b"abcd", "do not add up"),
    (SIZES + KEY.encode() + b"a\xff\xfe", "not UTF-8"),
    (SIZES + KEY.replace("0", "g").encode() + b"abc", "malformed code key"),
    (SIZES + KEY.replace(":s:", ":x:").encode() + b"abc", "malformed code key"),
    (SIZES[:4] + (len(KEY) + 2).to_bytes(4, "little") + b"\x00" * 4 + KEY.encode() + b"1x", "malformed code key"),
])
def test_malformed_ahead_frames(payload: bytes, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        unpack_ahead(payload)


@pytest.mark.parametrize("cache, frame, message", [
    (True, pack(AHEAD, SIZES + KEY.encode() + b"a\xff\xfe"), "not UTF-8"),
    (True, pack(AHEAD, b"\x05"), "too short"),
    (False, pack_ahead({KEY: "export {};\n"}), "expected a TURN or CALL frame, got kind 4"),
])
def test_a_bad_ahead_frame_is_a_protocol_error_not_a_hang(tmp_path: Path, cache: bool, frame: bytes,
                                                           message: str) -> None:
    # the worker reports it by itself, and quits; one sent to a runtime that takes none (no store) as well
    evaluator = ProcessEvaluator(pool_size=0, stall_timeout=0.5)

    async def main() -> None:
        options = RuntimeOptions(code_cache=str(tmp_path / "cache") if cache else None)
        transport: ProcessTransport = await evaluator.create_transport(options)
        try:
            assert (transport.on_code is not None) == cache
            transport.worker.sock.send(frame)
            started = time.perf_counter()
            while not transport.dead and time.perf_counter() - started < 30:
                await asyncio.sleep(0.01)
            assert transport.dead and message in str(transport.failure)
        finally:
            await transport.close()

    asyncio.run(main())
