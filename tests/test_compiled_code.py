"""The compiled-code cache (evaluators/compiled_code.py, quickjs_bytecode.py, runner/js/module_runner/host_compiler.js):
fresh runtimes of one host process take the wrappers of modules seen before as QuickJS bytecode,
keyed by the engine build and the exact source, and give the same results as compiling them."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from evaluators.compiled_code import CODE_CACHE, CodeCache
from evaluators.options import RuntimeOptions
from evaluators.quickjs_bytecode import engine_build, unavailable
from evaluators.wasm.guest import GuestTrap
from evaluators.wasm.wrappers import split_sources
from runner import Server
from runner.rpc.exports import ModuleProxy
from tests.project_files import write

EVALUATORS = ("inprocess", "wasm", "process")

PROJECT = {
    "a.js": "export let count = 1;\nexport function where() { return new Error('from a').stack; }\n"
            "export function bump() { count++; }\n",
    "b.js": "import { count } from './a.js';\nexport const seen = count;\nexport * from './a.js';\n",
    "c.cjs": "exports.k = 5;\nexports.where = function () { return new Error('from c').stack; };\n",
    "cycle1.js": "import { two } from './cycle2.js';\nexport function one() { return 'one' + two(); }\n",
    "cycle2.js": "import { one } from './cycle1.js';\nexport function two() { return '2'; }\n"
                 "export const early = typeof one;\n",
    "late.js": "await 0;\nexport const late = 'late';\n",
    "entry.js": "import * as b from './b.js';\nimport c from './c.cjs';\nimport { one } from './cycle1.js';\n"
                "import { early } from './cycle2.js';\nimport { late } from './late.js';\n"
                "b.bump();\n"
                "let thrown;\ntry { null.x; } catch (error) { thrown = error.stack; }\n"
                "export const result = {\n  seen: b.seen, count: b.count, k: c.k, one: one(), early, late,\n"
                "  names: Object.keys(b), aStack: b.where(), cStack: c.where(), text: String(b.where), thrown,\n};\n",
}

pytestmark = [pytest.mark.skipif(unavailable() is not None, reason=unavailable() or ""),
              pytest.mark.usefixtures("empty_code_cache")]


def bundle_entries() -> int:
    """How many entries of the cache hold a runner bundle (runner/js/bundle.py), not a module's wrapper."""
    bundles = ("(function modrunRuntime(", "\0runner bundle\0")  # by its text, or by its files' stamps
    return sum(source.startswith(bundles) for _, source in CODE_CACHE._entries)


def fresh_imports(root: Path, runtimes: int, evaluator: str = "inprocess") -> list[Any]:
    """The entry's `result`, imported into `runtimes` fresh runtimes of one environment."""

    async def main() -> list[Any]:
        results = []
        async with Server(root=root, cache_dir=False, environments={"ssr": {"evaluator": evaluator}}) as server:
            env = server.environments["ssr"]
            for _ in range(runtimes):
                runner = await env.create_runner()
                try:
                    results.append((await ModuleProxy.load(runner, "/entry.js")).result)
                finally:
                    await runner.close()
        return results

    return asyncio.run(main())


def test_a_source_is_compiled_the_second_time_it_is_seen() -> None:
    cache = CodeCache()
    assert not cache.wanted("source")
    assert cache.wanted("source")
    cache.put("build", "source", b"code")
    assert cache.get("build", "source") == b"code"
    assert cache.get("another build", "source") is None
    assert cache.get("build", "source ") is None  # exact text, not a prefix or a hash
    assert (cache.hits, cache.misses) == (1, 2)


def test_the_cache_keeps_to_its_size_least_recently_used_out_first() -> None:
    cache = CodeCache(max_bytes=25)
    cache.put("b", "one", b"x" * 7)
    cache.put("b", "two", b"x" * 7)
    assert cache.get("b", "one") is not None  # "two" is now the least recently used
    cache.put("b", "six", b"x" * 7)
    assert (cache.get("b", "one"), cache.get("b", "two"), cache.get("b", "six")) == (b"x" * 7, None, b"x" * 7)
    assert cache.size == 20
    cache.put("b", "big", b"x" * 40)  # larger than the whole cache: not kept, nothing dropped for it
    assert len(cache) == 2


def test_a_damaged_entry_is_dropped_never_handed_out() -> None:
    cache = CodeCache()
    cache.put("build", "source", b"bytecode")
    code, crc = cache._entries[("build", "source")]
    cache._entries[("build", "source")] = (b"bytecodf", crc)
    assert cache.get("build", "source") is None
    assert len(cache) == 0 and cache.size == 0


def test_code_is_checked_on_its_first_hit_and_again_once_replaced() -> None:
    # Each entry's code is checked once (bytes cannot change), so an entry damaged after hits is still caught.
    cache = CodeCache()
    cache.put("build", "source", b"bytecode")
    assert cache.get("build", "source") == b"bytecode"
    assert cache.get("build", "source") == b"bytecode"
    code, crc = cache._entries[("build", "source")]
    cache._entries[("build", "source")] = (b"bytecodf", crc)
    assert cache.get("build", "source") is None
    assert len(cache) == 0 and cache.size == 0
    cache.put("build", "source", b"bytecode")  # and put again, checked anew
    assert cache.get("build", "source") == b"bytecode"


def test_fresh_runtimes_read_the_bytecode_and_give_the_same_results(tmp_path: Path) -> None:
    root = write(tmp_path, PROJECT)
    CODE_CACHE.max_bytes = 0  # off: every runtime compiles
    compiled = fresh_imports(root, 1)
    assert len(CODE_CACHE) == 0 and CODE_CACHE.hits == 0
    CODE_CACHE.max_bytes = 64 * 1024 * 1024
    results = fresh_imports(root, 4)
    modules = len(PROJECT)
    # the first runtime sees each wrapper once, the second compiles it into the cache, the rest read it;
    # the same for the runner bundle each runtime boots
    assert len(CODE_CACHE) == modules + 1 and bundle_entries() == 1
    assert CODE_CACHE.hits == 2 * modules + 2
    for result in results:
        assert result == compiled[0]
    first = compiled[0]
    assert (first["seen"], first["count"], first["k"], first["one"], first["early"], first["late"]) == (
        1, 2, 5, "one2", "function", "late")
    # Stack traces and source text come from the module's own file and lines, with or without bytecode.
    assert f"{root}/a.js:2:" in first["aStack"] and f"{root}/c.cjs:2:" in first["cStack"]
    assert f"{root}/entry.js:8:" in first["thrown"]
    assert first["text"] == "function where() { return new Error('from a').stack; }"


def test_a_changed_source_never_runs_the_old_bytecode(tmp_path: Path) -> None:
    root = write(tmp_path, PROJECT)
    before = fresh_imports(root, 3)[-1]
    assert CODE_CACHE.hits == len(PROJECT) + 1  # and the runner bundle the third runtime booted
    (root / "a.js").write_text(PROJECT["a.js"].replace("count = 1", "count = 41"))
    after = fresh_imports(root, 3)
    assert [result["count"] for result in after] == [42, 42, 42]
    assert before["count"] == 2
    # a.js is compiled anew (seen, then cached, then read); the other modules and the bundle are read
    # from the start
    assert CODE_CACHE.hits == len(PROJECT) + 1 + 3 * (len(PROJECT) - 1) + 1 + 3


def test_an_entry_of_another_build_or_damaged_is_never_loaded(tmp_path: Path) -> None:
    root = write(tmp_path, PROJECT)
    expected = fresh_imports(root, 3)[-1]
    entries = dict(CODE_CACHE._entries)
    assert entries and all(build == engine_build() for build, _ in entries)
    # The same sources under another build, with code no engine could read; and this build's
    # entries damaged: a runtime that loaded either would crash or fail.
    CODE_CACHE.clear()
    for (build, source), (code, crc) in entries.items():
        CODE_CACHE._entries[("quickjs-ng 0.0.0 another", source)] = (b"\xff" * len(code), crc)
        CODE_CACHE._entries[(build, source)] = (code[:8] + b"\x00" * (len(code) - 8), crc)
    assert fresh_imports(root, 1) == [expected]
    assert CODE_CACHE.hits == 0
    assert all(build != engine_build() for build, _ in CODE_CACHE._entries)


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_every_evaluator_gives_the_results_of_compiling(tmp_path: Path, evaluator: str) -> None:
    root = write(tmp_path, PROJECT)
    CODE_CACHE.max_bytes = 0
    expected = fresh_imports(root, 1)[0]
    CODE_CACHE.max_bytes = 64 * 1024 * 1024
    assert fresh_imports(root, 3, evaluator) == [expected] * 3
    if evaluator == "process":
        return  # its worker keeps its own cache (its third runtime reads bytecode there)
    # the third runtime read every wrapper from bytecode of this evaluator's own engine build (and,
    # in-process, the runner bundle it booted)
    assert CODE_CACHE.hits == len(PROJECT) + (evaluator == "inprocess")
    builds = {build for build, _ in CODE_CACHE._entries}
    assert len(builds) == 1 and (builds == {engine_build()}) == (evaluator == "inprocess")


def test_the_wasm_hosts_requests_are_cut_at_their_utf16_lengths() -> None:
    # HostCompiler.takeAll: lengths in UTF-16 code units, a newline, the sources one after the other,
    # read as the guest holds the string: UTF-16 code units, or Latin-1 when every character fits.
    def wide(text: str) -> bytes:
        return text.encode("utf-16-le", "surrogatepass")

    sources = ["(a)", "(café)", "(\U0001F600 two units)", "(\ud800 a lone surrogate)", "(\u010a)", "(x)"]
    text = ",".join(str(len(wide(s)) // 2) for s in sources) + "\n" + "".join(sources)
    assert split_sources(wide(text), True) == sources
    latin = ["(a)", "(café)", "(\xff)"]
    text = ",".join(str(len(s)) for s in latin) + "\n" + "".join(latin)
    assert split_sources(text.encode("latin-1"), False) == latin
    assert split_sources(b"3,3\n(a)(b)", False) == ["(a)", "(b)"]
    assert split_sources(b"", False) == split_sources(b"", True) == []
    for broken in ("3,4\n(a)(b)", "3,x\n(a)(b)", "9\n(\U0001F600)", "\u0a31\u0100(a)"):
        with pytest.raises(GuestTrap):
            split_sources(wide(broken), True)
        if broken.isascii():
            with pytest.raises(GuestTrap):
                split_sources(broken.encode(), False)


def _anonymous_kb(start: int, size: int) -> int:
    """The anonymous memory (this process's own pages, not a file's) of the mappings over [start, start + size),
    in kB, as /proc/self/smaps counts it."""
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split(None, 1)[0]
            if "-" in head and not head.endswith(":"):
                low, high = (int(part, 16) for part in head.split("-"))
                inside = low < start + size and high > start
            elif inside and head == "Anonymous:":
                total += int(line.split()[1])
    return total


def _linux(least: tuple[int, int]) -> bool:
    return sys.platform.startswith("linux") and tuple(map(int, re.findall(r"\d+", os.uname().release)[:2])) >= least


@pytest.mark.skipif(not _linux((5, 14)), reason="MADV_POPULATE_WRITE is Linux 5.14's")
def test_a_wasm_compiler_guest_has_its_own_copy_of_its_memory_from_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # written in when the guest is made, in one call, not page by page by its first compiles (two guests
    # doing that at once slow each other down)
    from evaluators.wasm.engine import shared_engine
    from evaluators.wasm.evaluator import WasmTransport
    from evaluators.wasm.guest import Guest
    from evaluators.wasm.wrappers import WasmCompiler, _Slot

    engine = shared_engine()
    snapshot = engine.snapshot(WasmTransport.runtime_config(RuntimeOptions()))

    def own_share() -> float:
        slot = _Slot()
        assert WasmCompiler(engine, snapshot)._compile(slot, ["(function () { return 1; })"])[0]
        assert slot.guest is not None
        try:
            size = slot.guest.memory_size()
            return _anonymous_kb(slot.guest.base, size) * 1024 / size
        finally:
            slot.guest.close()

    assert own_share() >= 0.99
    monkeypatch.setattr(Guest, "prefault", lambda guest: None)
    assert own_share() < 0.5  # without it, only what its compile wrote


def test_wasm_reads_the_bytecode_of_sources_beyond_ascii(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "accents.js": "export const accents = 'café, naïve';\n",
        "emoji.js": "import { accents } from './accents.js';\nexport const both = accents + ' \U0001F600 \\ud83d';\n",
        "entry.js": "import { both } from './emoji.js';\nexport const result = { both, length: both.length };\n",
    })
    CODE_CACHE.max_bytes = 0
    expected = fresh_imports(root, 1)[0]
    assert expected == {"both": "café, naïve \U0001F600 \ud83d", "length": 16}
    CODE_CACHE.max_bytes = 64 * 1024 * 1024
    assert fresh_imports(root, 3, "wasm") == [expected] * 3
    assert CODE_CACHE.hits == 3  # the third runtime read every module's wrapper, cut from one string


@pytest.mark.parametrize("profile", ["bare", "edge"])
def test_runtimes_boot_the_runner_bundle_from_bytecode_and_behave_the_same(tmp_path: Path, profile: str) -> None:
    root = write(tmp_path, {**PROJECT, "boom.js": "export function boom() { throw new TypeError('boom'); }\n"
                                                  "export function deep(n) { return n ? deep(n - 1) : boom(); }\n"})

    async def main(runtimes: int) -> list[Any]:
        results = []
        async with Server(root=root, cache_dir=False, environments={"ssr": {"profile": profile}}) as server:
            env = server.environments["ssr"]
            for _ in range(runtimes):
                runner = await env.create_runner()
                try:
                    module = await ModuleProxy.load(runner, "/boom.js")
                    try:
                        await module.deep(3)
                    except Exception as error:  # the JS error, with its source-mapped stack
                        results.append((type(error).__name__, str(error), getattr(error, "stack", None)))
                    results.append((await ModuleProxy.load(runner, "/entry.js")).result)
                finally:
                    await runner.close()
        return results

    CODE_CACHE.max_bytes = 0
    expected = asyncio.run(main(1))
    CODE_CACHE.max_bytes = 64 * 1024 * 1024
    assert asyncio.run(main(3)) == expected * 3
    assert bundle_entries() == 1 and CODE_CACHE.hits > 0  # the third runtime booted from it
    stack = expected[0][2]
    # user frames only, at the module's own lines: the runner's frames are told apart in the bundle read
    # from bytecode as in the bundle compiled from its text
    assert f"{root}/boom.js:1:" in stack and f"{root}/boom.js:2:" in stack and "modrunRuntime" not in stack
    assert stack.count("\n    at ") == 5
