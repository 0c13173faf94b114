"""modrun's QuickJS reactor (evaluators/wasm/reactor/): the same engine as the other evaluators, and
what its own entry points give the wasm evaluator — plain values across a call without JSON, and
bytecode for the warm-import cache."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import struct
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from evaluators import RuntimeOptions, get_evaluator
from evaluators.compiled_code import CodeCache, CompiledCode
from evaluators.wasm.engine import REACTOR, WasmEngine
from evaluators.wasm.evaluator import WasmTransport
from evaluators.wasm.guest import Guest, GuestTrap, JsonText, is_plain
from evaluators.wasm.wrappers import CHUNK, PARALLEL_MIN, WasmCompiler
from runner import Server
from runner.limits import Limits

# ---- one artifact ----

BUILD = Path(__file__).parents[1] / "evaluators" / "wasm" / "reactor" / "build.py"


def test_the_committed_reactor_is_what_its_pinned_sources_build():
    """Rebuilt from the pinned sdist with the pinned Debian toolchain (CI installs it: .ci/run), bit for
    bit the committed artifact and its recorded hash."""
    missing = subprocess.run([sys.executable, BUILD, "--missing-toolchain"], capture_output=True, text=True,
                             check=True).stdout.strip()
    if missing:
        pytest.skip(f"the pinned toolchain is not installed (apt-get install {missing})")
    done = subprocess.run([sys.executable, BUILD], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the build matches the recorded reactor" in done.stdout


def test_bytecode_is_keyed_by_the_reactor_build_so_another_build_reads_none_of_it(tmp_path: Path):
    """QuickJS does not check the bytecode it reads: bytecode one reactor wrote is never read by another
    (the key holds the reactor's SHA-256, reactor.json's hash)."""
    other = tmp_path / REACTOR.name
    other.write_bytes(REACTOR.read_bytes() + b"\x00\x05\x04note")  # a custom section: another build
    engine, rebuilt = WasmEngine(), WasmEngine()
    rebuilt.wasm_path = other
    recorded = json.loads((REACTOR.parent / "reactor.json").read_text())["sha256"]
    # only the build is read: no snapshot is needed for it
    compiler = WasmCompiler(engine, None)  # type: ignore[arg-type]
    other_compiler = WasmCompiler(rebuilt, None)  # type: ignore[arg-type]
    assert compiler.build == f"modrun-quickjs {recorded}" != other_compiler.build
    cache = CodeCache()
    cache.put(compiler.build, "(function () {})", b"bytecode")
    assert cache.get(other_compiler.build, "(function () {})") is None
    assert cache.get(compiler.build, "(function () {})") == b"bytecode"


# ---- one engine ----


def test_every_evaluator_reports_the_same_engine_version():
    async def engines() -> dict[str, str]:
        out = {}
        for name in ("inprocess", "process", "wasm"):
            transport = await get_evaluator(name).create_transport(RuntimeOptions())
            try:
                out[name] = transport.engine
            finally:
                await transport.close()
        return out

    reported = asyncio.run(engines())
    pinned = ".".join(version("quickjs-ng").split(".")[:3])  # 0.17.0.2 is QuickJS-ng 0.17.0
    assert reported == {name: f"quickjs-ng {pinned}" for name in reported}, reported


def test_the_reactor_is_built_from_the_sources_the_in_process_engine_runs():
    recorded = json.loads((REACTOR.parent / "reactor.json").read_text())
    assert recorded["quickjs-ng"]["version"] == version("quickjs-ng")
    assert hashlib.sha256(REACTOR.read_bytes()).hexdigest() == recorded["sha256"]


# ---- plain values cross a call as they are ----

SOURCE = """
export const id = (x) => x;
export const describe = (...args) => args.map((x) => typeof x + ":" + (Object.is(x, -0) ? "-0" : String(x)));
export const count = (...args) => args.length;
export const sum = (...args) => args.reduce((a, b) => a + b, 0);
export const none = () => {};
export const infinite = () => Infinity;
export const later = async (x) => x;
export const thrower = (message) => { throw new TypeError(message); };
"""

VALUES: list[Any] = [
    0, 1, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**53, -(2**53), 2**53 + 1, 2**60,
    1.5, -0.0, 0.1, 1e20, 1e21, 1e-7, 1e300, -2.5,
    "", "plain", "héllo ✓ 𝄞", "a\u0000b", "x" * 20000, True, False, None,
]


def _calls(evaluator: str, root: Path) -> list[Any]:
    async def main() -> list[Any]:
        async with Server(root=root, environments={"e": {"evaluator": evaluator}}, cache_dir=False) as server:
            module = await server.environments["e"].import_module("/m.js")
            out: list[Any] = [await module.id(value) for value in VALUES]
            out.append(await module.describe(*VALUES[:6]))
            out.append(await module.describe(*VALUES[11:17]))
            out.append(await module.count(*range(12)))  # more arguments than the plain path takes
            out.append(await module.sum(1, 2.5, 3))
            out.append(await module.none())
            out.append(await module.infinite())
            out.append(await module.later(7))
            try:
                await module.thrower("nope")
            except Exception as error:  # the outcome under test
                out.append([type(error).__name__, str(error).splitlines()[0]])
            return out

    return asyncio.run(main())


def test_plain_arguments_and_results_are_the_same_as_through_json(tmp_path):
    (tmp_path / "m.js").write_text(SOURCE)
    wasm, inprocess = _calls("wasm", tmp_path), _calls("inprocess", tmp_path)
    assert [type(v) for v in wasm] == [type(v) for v in inprocess]
    for a, b in zip(wasm, inprocess, strict=True):
        assert a == b or (isinstance(a, float) and math.copysign(1, a) == math.copysign(1, b) and a == b), (a, b)
    assert wasm[len(VALUES)] == ["number:0", "number:1", "number:-1", "number:2147483647", "number:2147483648",
                                 "number:-2147483648"]
    assert wasm[len(VALUES) + 1][1] == "number:-0"


def _json_numbers() -> list[str]:
    """Numbers as JSON writes them: the reactor's own strtod (modrun_reactor.c) reads the short ones
    itself and hands the rest to QuickJS's reader, so both sides of that line and the edges."""
    rng = random.Random(16)
    out = ["0", "-0", "1e400", "-1e400", "1e-400", "5e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
           "2.2250738585072011e-308", "1.7976931348623157e308", "1.7976931348623158e308", "0.1", "9007199254740993",
           "123456789012345", "1234567890123456", "1e22", "1e23", "1e-22", "1e-23", "0.0000000000000000000001",
           "0.3e1", "1E+2", "-12.5E-3", "100000000000000000000000", "3.14159265358979323846264338327950288"]
    for _ in range(3000):
        digits = str(rng.randint(0, 10 ** rng.randint(1, 17)))
        cut = rng.randint(1, len(digits))
        number = rng.choice(["-", ""]) + digits[:cut] + (f".{digits[cut:]}" if cut < len(digits) else "")
        out.append(number + (f"e{rng.randint(-30, 30)}" if rng.random() < 0.5 else ""))
    return out


def test_json_numbers_read_as_the_nearest_double(tmp_path):
    numbers = _json_numbers()
    (tmp_path / "m.js").write_text(
        "export const bits = (text) => Array.from(new BigUint64Array(new Float64Array(JSON.parse(text)).buffer),"
        " (b) => b.toString(16));\n")

    async def main() -> list[str]:
        async with Server(root=tmp_path, cache_dir=False, environments={"w": {"evaluator": "wasm"}}) as server:
            module = await server.environments["w"].import_module("/m.js")
            return list(await module.bits("[" + ",".join(numbers) + "]"))

    nearest = [format(struct.unpack("<Q", struct.pack("<d", float(n)))[0], "x") for n in numbers]
    assert asyncio.run(main()) == nearest  # Python's float() rounds correctly


def test_what_crosses_without_json():
    assert all(is_plain(v) for v in [0, -(2**53), 2**53, 1.5, "", True, None])
    assert not any(is_plain(v) for v in [2**53 + 1, [1], {"a": 1}, b"x", (1,)])


JSON_TEXTS = [
    '["plain", 1, {"a": null}]', '["caf\u00e9 \u20ac \U0001d11e"]', '{"k\u00e9y": "\u00ff\u0100"}',
    '["' + "x" * 20000 + '\u00e9"]',  # beyond the box's inline text
]
JSON_BYTES = [text.encode() for text in JSON_TEXTS] + [
    b'["\xff"]', b'["a\xc3"]', b'["\xed\xa0\x80"]', b'["\xf0\x9f"]', b'["\xe2\x82"]',  # not UTF-8
]


def test_json_text_crosses_as_ascii_and_parses_as_the_same_value():
    """The messages the host sends (`receive`) cross as JSON text of ASCII only; JSON.parse reads the
    same value as from the text as it was, even from bytes that are not UTF-8."""
    transport = WasmTransport(RuntimeOptions())
    guest = transport.guest
    try:
        seen = guest.eval("(s) => JSON.stringify([/^[\\x00-\\x7f]*$/.test(s), JSON.parse(s)])", "/parse.js")
        for raw in JSON_BYTES:
            ascii_only, parsed = json.loads(guest.step(seen, [JsonText(raw)])[0])
            as_it_was = json.loads(guest.step(seen, [raw])[0])[1]
            assert ascii_only and parsed == as_it_was, raw[:40]
        for text in JSON_TEXTS:
            assert json.loads(guest.step(seen, [JsonText(text.encode())])[0])[1] == json.loads(text)
    finally:
        asyncio.run(transport.close())


# ---- bytecode for the warm-import cache ----


def _answered(guest: Guest, bytecodes: list[bytes | None]) -> list[str]:
    """What a `compiled` function receives when the guest answers with these bytecodes."""
    got = guest.eval("globalThis.got = []; (...values) => { got = values.map(String); }", "/answer.js")
    try:
        guest.answer_compiled(got, bytecodes)
    finally:
        guest.free_value(got)
    return guest.take_text(guest.eval("got.join('|')", "/got.js")).split("|")


def test_bytecode_compiled_in_one_sandbox_runs_in_another():
    first, second = WasmTransport(RuntimeOptions()), WasmTransport(RuntimeOptions())
    try:
        code = "(() => { const square = (n) => n * n; return [1, 2, 3].map(square).join(); })() + ':' + typeof square"
        [bytecode] = first.guest.compile([code], "/src/squares.js")
        assert bytecode and b"square" in bytecode
        # each run on its own, None for a wrapper the host has none for
        answered = _answered(second.guest, [bytecode, None, bytecode])
        assert answered == ["1,4,9:undefined", "undefined", "1,4,9:undefined"]
        assert _answered(second.guest, [bytecode]) == ["1,4,9:undefined"]  # reusable
        assert first.guest.compile(["let = ;", code], "/src/squares.js") == [None, bytecode]  # a syntax error: none
    finally:
        asyncio.run(first.close())
        asyncio.run(second.close())


def test_a_large_batch_is_compiled_in_two_guests_at_once_into_the_same_bytecode_in_order():
    """A cold import's batch is cut in two and compiled on two threads (wrappers.py): what comes back is
    what one guest compiles, source by source, in the order asked, a syntax error in either half
    undefined; the helper's CPU time is reported so that the sandbox is charged for it."""
    engine = WasmEngine()
    snapshot = engine.snapshot(WasmTransport.runtime_config(RuntimeOptions()))
    sources = [f"(function m{i}() {{ return {'[' * (i % 7)}{i}{']' * (i % 7)}; }})" for i in range(3 * PARALLEL_MIN)]
    sources[3] = sources[-2] = "(function () { let = ; })"
    reference = engine.new_guest(snapshot, None)
    try:
        expected = [None if "let =" in source else reference.compile([source], "<input>")[0] for source in sources]
    finally:
        reference.close()
    compiler = WasmCompiler(engine, snapshot)
    code = CompiledCode(CodeCache(), None)
    assert compiler.bytecode(sources, code) == ([None] * len(sources), 0.0)  # seen once: not compiled yet
    found, helper_seconds = compiler.bytecode(sources, code)
    assert found == expected and helper_seconds > 0
    assert compiler.bytecode(sources, code) == (expected, 0.0)  # from the cache now
    few = sources[:PARALLEL_MIN - 1]
    single = WasmCompiler(engine, snapshot)
    single.bytecode(few, code := CompiledCode(CodeCache(), None))
    assert single.bytecode(few, code) == (expected[:len(few)], 0.0)  # a small batch: one thread


def test_a_source_that_traps_the_compiler_guest_goes_without_alone():
    """Sources are compiled a chunk at a time (wrappers.py CHUNK): a trap loses the guest and the chunk, whose
    sources are then compiled again one at a time, so that only the one that trapped gets no bytecode (and the
    runner compiles it itself, and reports)."""
    engine = WasmEngine()
    snapshot = engine.snapshot(WasmTransport.runtime_config(RuntimeOptions()))
    sources = [f"(function m{i}() {{ return {i}; }})" for i in range(CHUNK + 3)]
    sources[2] = "(" * 50_000 + "1" + ")" * 50_000  # deeper than the parser's native stack: a trap
    reference = engine.new_guest(snapshot, None)
    try:
        expected = [reference.compile([source], "<input>")[0] for source in sources[3:]]
    finally:
        reference.close()
    compiler = WasmCompiler(engine, snapshot)
    code = CompiledCode(CodeCache(), None)
    compiler.bytecode(sources, code)  # seen once: not compiled yet
    found, _ = compiler.bytecode(sources, code)
    assert found[2] is None and all(found[:2]) and found[3:] == expected


def test_a_large_batch_with_a_store_takes_the_cache_refuses_a_forged_key_and_compiles_the_rest(tmp_path):
    """A cold import's batch with a store behind the cache, as `modrun run` has (wrappers.py bytecode): a
    source the cache holds comes from the cache, a keyed source that is not its key's wrapper gets no
    bytecode and is kept under no key, the rest is what one guest compiles, in order, on two threads."""
    engine = WasmEngine()
    snapshot = engine.snapshot(WasmTransport.runtime_config(RuntimeOptions()))
    sources = [f"(function m{i}() {{ return {i}; }})" for i in range(3 * PARALLEL_MIN)]
    forged = "K1:l:" + "0" * 40 + ":t:"
    reference = engine.new_guest(snapshot, None)
    try:
        expected: list[bytes | None] = [reference.compile([source], "<input>")[0] for source in sources]
    finally:
        reference.close()
    code = CompiledCode(CodeCache(), str(tmp_path))
    assert code.store is not None
    compiler = WasmCompiler(engine, snapshot)
    cached = b"cached bytecode"  # what the cache holds is what comes back: the batch skips it
    code.keep(compiler.build, sources[5], cached)
    requests = [*sources, forged + "\n" + sources[0]]
    found, helper_seconds = compiler.bytecode(requests, code)
    assert found == [*expected[:5], cached, *expected[6:], None] and helper_seconds > 0
    code.flush()
    assert code.find(lambda: compiler.build, [forged]) == [None]
    assert code.find(lambda: compiler.build, sources[:2]) == expected[:2]


def test_damaged_bytecode_is_refused_or_contained():
    transport = WasmTransport(RuntimeOptions())
    [bytecode] = transport.guest.compile(["40 + 2"], "/src/answer.js")
    for damaged in (bytecode[: len(bytecode) // 2], b"\x00" * 8, bytes([bytecode[0] ^ 0xFF]) + bytecode[1:]):
        try:
            fresh = WasmTransport(RuntimeOptions())
            try:  # never the host process: the wrapper is undefined, or the guest traps
                assert _answered(fresh.guest, [damaged, bytecode]) == ["undefined", "42"]
            except GuestTrap:
                pass
        finally:
            asyncio.run(fresh.close())
    assert _answered(transport.guest, [bytecode]) == ["42"]
    asyncio.run(transport.close())


def test_a_batch_with_no_room_in_the_guest_answers_no_wrappers():
    """The runner then compiles every module itself (host_compiler.js: null, asked, not compiled)."""
    transport = WasmTransport(RuntimeOptions(limits=Limits(memory_mb=16)))
    try:
        [bytecode] = transport.guest.compile(["40 + 2"], "/src/answer.js")
        assert _answered(transport.guest, [bytecode, b"\x00" * (64 << 20)]) == [""]  # called with none
        assert _answered(transport.guest, [bytecode]) == ["42"]  # and the guest goes on
    finally:
        asyncio.run(transport.close())
