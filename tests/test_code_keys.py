"""Code keys (runner/rpc/code_keys.py): a runtime whose engine keeps compiled wrappers by key is sent keys
with the code until the engine holds wrappers by key, then in place of it; it takes its wrappers by
key, fetches the code only where its engine has none (another engine build, a damaged entry), and
gives the results of compiling."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from evaluators.compiled_code import CODE_CACHE, split_request
from evaluators.options import RuntimeOptions
from evaluators.quickjs_bytecode import unavailable
from runner import Server
from runner.rpc.code_keys import code_key, key_shape
from runner.rpc.exports import ModuleProxy
from tests.project_files import write
from tests.test_compiled_code import PROJECT

# And a cycle through a module with top-level await: started early, its wrapper is another (an "e" key).
KEYED_PROJECT = {
    **PROJECT,
    "tla1.js": "import { t2 } from './tla2.js';\nawait 0;\nexport function t1() { return 't1' + t2(); }\n",
    "tla2.js": "import { t1 } from './tla1.js';\nexport function t2() { return 't2'; }\n"
               "export const seenT1 = typeof t1;\n",
    "entry.js": PROJECT["entry.js"].replace("export const result = {\n",
                                            "import { t1 } from './tla1.js';\nexport const result = {\n  t1: t1(),\n"),
}

pytestmark = [pytest.mark.skipif(unavailable() is not None, reason=unavailable() or ""),
              pytest.mark.usefixtures("empty_code_cache")]


def imports(root: Path, runtimes: int, evaluator: str = "inprocess", between: Any = None,
            cache_dir: Path | bool = False) -> list[tuple[Any, list[dict[str, Any]], list[list[str]]]]:
    """For each of `runtimes` fresh runtimes of one environment: the entry's `result`, the modules its
    fetches were answered with, and the keys it asked code for. `between()` runs before each runtime."""

    async def main() -> list[tuple[Any, list[dict[str, Any]], list[list[str]]]]:
        found = []
        async with Server(root=root, cache_dir=cache_dir, environments={"ssr": {"evaluator": evaluator}}) as server:
            env = server.environments["ssr"]
            for _ in range(runtimes):
                if between is not None:
                    between()
                runner = await env.create_runner()
                answers: list[dict[str, Any]] = []
                asked: list[list[str]] = []
                fetch, code = runner.handlers["fetchModule"], runner.handlers["fetchCode"]

                async def recording_fetch(*args: Any, _fetch: Any = fetch, _answers: Any = answers) -> Any:
                    result = await _fetch(*args)
                    _answers.extend([result, *result.get("graph", [])])
                    return result

                async def recording_code(keys: list[str], _code: Any = code, _asked: Any = asked) -> Any:
                    _asked.append(keys)
                    return await _code(keys)

                runner.handlers = {**runner.handlers, "fetchModule": recording_fetch, "fetchCode": recording_code}
                try:
                    found.append(((await ModuleProxy.load(runner, "/entry.js")).result, answers, asked))
                finally:
                    await runner.close()
        return found

    return asyncio.run(main())


def compiled_result(root: Path) -> Any:
    CODE_CACHE.max_bytes = 0  # off: the runtime is sent code and compiles every wrapper
    [(result, answers, asked)] = imports(root, 1)
    assert all("code" in answer and "codeKey" not in answer for answer in answers) and asked == []
    CODE_CACHE.max_bytes = 64 * 1024 * 1024
    return result


@pytest.mark.parametrize("evaluator", ("inprocess", "wasm"))
def test_a_runtime_takes_keyed_wrappers_from_the_cache_and_fetches_no_code(tmp_path: Path, evaluator: str) -> None:
    root = write(tmp_path, KEYED_PROJECT)
    expected = compiled_result(root)
    assert expected["t1"] == "t1t2"
    runs = imports(root, 4, evaluator)
    es_modules = {f"/{name}" for name in KEYED_PROJECT if name.endswith(".js")}
    for index, (result, answers, asked) in enumerate(runs):
        assert result == expected
        # every ES module is sent a key, the CommonJS module none
        assert {answer["url"] for answer in answers if "codeKey" in answer} == es_modules
        # with its code while the cache holds no wrapper by key: the first runtime compiles each
        # wrapper itself, the second into the cache under its key; the others take them by key
        sent_code = {answer["url"] for answer in answers if "code" in answer}
        assert sent_code == (es_modules | {"/c.cjs"} if index < 2 else {"/c.cjs"})
        assert asked == []
    keyed = len(KEYED_PROJECT) - 1
    keys = [source for _, source in CODE_CACHE._entries if source.startswith("K")]
    assert len(keys) == keyed == sum(CODE_CACHE.keyed.values())
    # the module with top-level await in a cycle has a wrapper of its own kind, started early
    assert sum(key.split(":")[1] == "e" for key in keys) == 1


@pytest.mark.parametrize("evaluator", ("inprocess", "wasm"))
def test_a_key_the_cache_cannot_give_brings_the_code(tmp_path: Path, evaluator: str) -> None:
    root = write(tmp_path, KEYED_PROJECT)
    expected = compiled_result(root)
    imports(root, 3, evaluator)
    entries = dict(CODE_CACHE._entries)
    keyed = {key: value for key, value in entries.items() if key[1].startswith("K")}

    def damaged() -> None:  # this build's keyed entries damaged, and the same keys under another build
        CODE_CACHE.clear()
        for (build, source), (code, crc) in keyed.items():
            CODE_CACHE.put("quickjs-ng 0.0.0 another", source, b"\xff" * len(code))
            CODE_CACHE.put(build, source, code)
            CODE_CACHE._entries[(build, source)] = (code[:8] + b"\x00" * (len(code) - 8), crc)

    [(result, answers, asked)] = imports(root, 1, evaluator, between=damaged)
    assert result == expected
    assert len(keyed) == len(KEYED_PROJECT) - 1
    sent = sorted(answer["codeKey"] for answer in answers if "codeKey" in answer)
    assert len(asked) == 1 and sorted(asked[0]) == sent


def test_a_store_that_holds_wrappers_by_key_is_asked_by_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # the store's key
    root = write(tmp_path / "app", KEYED_PROJECT)
    expected = compiled_result(root)
    store = tmp_path / "cache"
    [(result, answers, asked)] = imports(root, 1, cache_dir=store)  # with a store: compiled once, kept by key
    assert result == expected and asked == [] and all("code" in answer for answer in answers)
    CODE_CACHE.clear()  # as a new process finds it: the rows on disk only
    [(result, answers, asked)] = imports(root, 1, cache_dir=store)
    assert result == expected and asked == []
    assert [answer["url"] for answer in answers if "code" in answer] == ["/c.cjs"]
    assert sum(CODE_CACHE.keyed.values()) == len(KEYED_PROJECT) - 1  # read from the store into the cache


@pytest.mark.parametrize(("first", "then"), (("inprocess", "wasm"), ("wasm", "inprocess")))
def test_wrappers_of_another_engine_build_are_no_reason_for_keys_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str, then: str) -> None:
    """A store (or a process's cache) holding only the other evaluator's keyed wrappers: its runtimes
    would ask by key in vain and then fetch every module's code, so they are sent code alongside keys."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    # a cold wasm sandbox whose host compiles its wrappers ahead is sent keys alone for that reason
    # (test_wasm_ahead.py): here its compiles are bounded, so it has none made ahead
    monkeypatch.setattr(RuntimeOptions, "compiles_unbounded", False)
    root = write(tmp_path / "app", KEYED_PROJECT)
    expected = compiled_result(root)
    for disk_only in (False, True):  # the other build's wrappers in this process's cache, then on disk only
        store = tmp_path / f"cache-{disk_only}"
        imports(root, 1, first, cache_dir=store)
        if disk_only:
            CODE_CACHE.clear()
        [(result, answers, asked)] = imports(root, 1, then, cache_dir=store)
        assert result == expected and asked == []
        assert all("code" in answer for answer in answers)
        CODE_CACHE.clear()


@pytest.mark.parametrize("evaluator", ("process", "wasm"))
def test_the_other_evaluators_give_the_results_of_compiling(tmp_path: Path, evaluator: str) -> None:
    root = write(tmp_path, KEYED_PROJECT)
    expected = compiled_result(root)
    runs = imports(root, 3, evaluator)
    assert [result for result, _, _ in runs] == [expected] * 3
    # keyed too: what a runtime files under a key is checked by its host (keyed_wrapper.py)
    assert any("codeKey" in answer for _, answers, _ in runs for answer in answers)


def test_a_key_names_the_code_and_what_shapes_its_wrapper() -> None:
    code = 'const a = "await x";\nawait __vite_ssr_import__("./a.js");\nawait __vite_ssr_import_meta__;\nf();\n'
    at = [code.index("await __vite_ssr_import__"), code.index("await __vite_ssr_import_meta__")]
    meta = {"imports": [["./a.js", "./a.js", [], 2, 0]], "awaits": at, "hasTLA": False}
    key = code_key({"code": code, "modrun": meta})  # type: ignore[typeddict-item]
    assert key is not None and key.endswith(f":s:{at[0]},{at[1]}")
    assert code_key({"code": code + " ", "modrun": meta}) != key  # type: ignore[typeddict-item]
    assert code_key({"code": code, "modrun": {**meta, "hasTLA": True}}) != key  # type: ignore[typeddict-item]
    # awaits the runner could not check without the code: sent with its code
    assert code_key({"code": code, "modrun": {**meta, "awaits": [at[0] + 1, at[1]]}}) is None  # type: ignore
    assert code_key({"code": code, "modrun": {**meta, "awaits": [at[0]]}}) is None  # type: ignore[typeddict-item]
    assert code_key({"code": "é" + code, "modrun": {**meta, "awaits": [a + 1 for a in at]}}) is None  # type: ignore
    assert code_key({"code": code, "modrun": {**meta, "format": "commonjs"}}) is None  # type: ignore
    # without imports the prologue has no awaits to place
    assert code_key({"code": "f();\n", "modrun": {"imports": [], "hasTLA": False}}) is not None  # type: ignore


def test_a_keys_shape_reads_back_as_it_was_written_and_nothing_else() -> None:
    code = "await __vite_ssr_import__(\"./a.js\");\nawait __vite_ssr_import_meta__;\n"
    at = [0, code.index("await __vite_ssr_import_meta__")]
    key = code_key({"code": code, "modrun": {"imports": [["./a.js", "./a.js", [], 1, 0]], "awaits": at,
                                             "hasTLA": True}})  # type: ignore[typeddict-item]
    assert key is not None
    _, tla, shape = key.split(":")
    assert key_shape(tla, shape) == (False, at)
    assert key_shape("s", "") == (True, [])
    for tla, shape in [("x", ""), ("s", "1,"), ("s", "+1"), ("s", " 1"), ("s", "-1"), ("s", "1_0"), ("s", "١")]:
        assert key_shape(tla, shape) is None, (tla, shape)


def test_a_request_is_a_source_a_key_or_both() -> None:
    assert split_request("(function () {})") == ("(function () {})", "(function () {})")
    assert split_request("Kabc:l:123") == ("Kabc:l:123", None)
    assert split_request("Kabc:l:123\n(function () {\n})") == ("Kabc:l:123", "(function () {\n})")
