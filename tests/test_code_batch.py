"""A graph's wrappers kept as one batch (evaluators/compiled_code.py batch_key, quickjs_bytecode.py):
once a fresh runtime's wrappers all have bytecode, the next runtime asking for exactly those
wrapper keys reads them as one object, and gives what compiling gives; any other request (a changed
module), a damaged entry or a batch that does not hold what was asked is never used."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from evaluators import quickjs_bytecode
from evaluators.compiled_code import CODE_CACHE, MIN_BATCH
from evaluators.quickjs_bytecode import unavailable
from runner import Server
from runner.rpc.exports import ModuleProxy
from tests.project_files import write

MODULES = MIN_BATCH + 4


def files(modules: int = MODULES, value: int = 1) -> dict[str, str]:
    """`modules` modules the entry imports (one in a cycle with it, one with top-level await), each
    with a stack trace and a function's text to show."""
    project = {
        f"m{i:02}.js": f"export const value = {value if i == 0 else i};\n"
                       f"export function where() {{\n  return new Error('m{i:02}').stack;\n}}\n"
        for i in range(modules)
    }
    project["cycle.js"] = "import { seen } from './entry.js';\nexport const late = () => typeof seen;\n"
    project["tla.js"] = "await 0;\nexport const waited = 'waited';\n"
    imports = "".join(f"import * as m{i:02} from './m{i:02}.js';\n" for i in range(modules))
    listed = ", ".join(f"m{i:02}" for i in range(modules))
    project["entry.js"] = (
        imports + "import { late } from './cycle.js';\nimport { waited } from './tla.js';\n"
        "export const seen = 1;\n"
        f"const all = [{listed}];\n"
        "export const result = { values: all.map((m) => m.value), stacks: all.map((m) => m.where()),\n"
        "  text: String(m01.where), late: late(), waited };\n"
    )
    return project


pytestmark = [pytest.mark.skipif(unavailable() is not None, reason=unavailable() or ""),
              pytest.mark.usefixtures("empty_code_cache")]


def fresh_imports(root: Path, runtimes: int, cache_dir: Path | bool = False) -> list[tuple[Any, int]]:
    """The entry's `result` imported into `runtimes` fresh runtimes of one environment, each with the
    cache hits its import made."""

    async def main() -> list[tuple[Any, int]]:
        results = []
        async with Server(root=root, cache_dir=cache_dir, environments={"ssr": {"evaluator": "inprocess"}}) as server:
            env = server.environments["ssr"]
            for _ in range(runtimes):
                hits = CODE_CACHE.hits
                runner = await env.create_runner()
                try:
                    results.append(((await ModuleProxy.load(runner, "/entry.js")).result, CODE_CACHE.hits - hits))
                finally:
                    await runner.close()
        return results

    return asyncio.run(main())


def compiled(root: Path) -> Any:
    """What the entry gives with compiled code off: every wrapper compiled by the runtime."""
    size = CODE_CACHE.max_bytes
    CODE_CACHE.max_bytes = 0
    try:
        return fresh_imports(root, 1)[0][0]
    finally:
        CODE_CACHE.max_bytes = size


def batches() -> list[str]:
    return [source for _, source in CODE_CACHE._entries if source.startswith("B")]


def test_a_graphs_wrappers_are_read_as_one_batch_and_give_the_same_results(tmp_path: Path) -> None:
    root = write(tmp_path, files())
    expected = compiled(root)
    assert expected["values"] == [1, *range(1, MODULES)] and expected["late"] == "number"
    assert f"{root}/m03.js:3:" in expected["stacks"][3]
    assert expected["text"] == "function where() {\n  return new Error('m01').stack;\n}"
    runs = fresh_imports(root, 5)
    assert [result for result, _ in runs] == [expected] * 5
    # Seen, then compiled (and kept as one batch too), then read as that batch: one hit, and one for
    # the runner bundle each runtime boots.
    assert [hits for _, hits in runs][2:] == [2, 2, 2]
    assert len(batches()) == 1


def test_a_changed_module_never_reads_the_old_batch(tmp_path: Path) -> None:
    root = write(tmp_path, files())
    fresh_imports(root, 2)
    assert len(batches()) == 1
    (root / "m00.js").write_text(files(value=41)["m00.js"])
    runs = fresh_imports(root, 4)
    assert [result["values"][0] for result, _ in runs] == [41] * 4
    assert [result for result, _ in runs] == [compiled(root)] * 4
    # The others and the bundle read one by one while the changed module's wrapper is seen, then compiled
    # (asked for by key alone first, then with its code: the others are read again to keep the new list
    # as a batch of its own); then that batch is read.
    assert [hits for _, hits in runs] == [MODULES + 2 + 1, 2 * (MODULES + 2) + 1, 2, 2]
    assert len(batches()) == 2


def test_a_damaged_batch_is_never_read(tmp_path: Path) -> None:
    root = write(tmp_path, files())
    expected = compiled(root)
    fresh_imports(root, 2)
    [batch] = [key for key in CODE_CACHE._entries if key[1].startswith("B")]
    code, crc = CODE_CACHE._entries[batch]
    CODE_CACHE._entries[batch] = (code[:8] + b"\x00" * (len(code) - 8), crc)
    CODE_CACHE._checked.pop(batch, None)
    runs = fresh_imports(root, 1)
    assert runs == [(expected, MODULES + 3 + 1)]  # every wrapper read one by one, and kept again as a batch
    assert CODE_CACHE._entries[batch][0] != code[:8] + b"\x00" * (len(code) - 8)


def test_a_batch_that_does_not_hold_what_was_asked_is_not_used(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Every request list under one key: a batch of fewer wrappers is found where more were asked for.
    monkeypatch.setattr(quickjs_bytecode, "batch_key", lambda keys: "Bone" if len(keys) >= MIN_BATCH else None)
    root = write(tmp_path, files())
    fresh_imports(root, 2)
    assert batches() == ["Bone"]
    (root / "more.js").write_text("export const more = 'more';\n")
    (root / "entry.js").write_text("import { more } from './more.js';\n" + files()["entry.js"]
                                   + "result.more = more;\n")
    expected = compiled(root)
    assert expected["more"] == "more"
    runs = fresh_imports(root, 4)
    assert [result for result, _ in runs] == [expected] * 4
    # the batch is found (a hit) but holds one wrapper less than asked for: the wrappers are read one by
    # one while the two changed ones are seen, then compiled (the others read again to keep the batch
    # anew); then the new batch is read whole
    assert [hits for _, hits in runs] == [1 + MODULES + 2 + 1, 1 + 2 * (MODULES + 2) + 1, 2, 2]


def test_a_process_with_a_disk_store_keeps_no_batch(tmp_path: Path) -> None:
    """A command-line run has a disk store: writing a batch there costs its run more than the next one gains."""
    root = write(tmp_path, files())
    expected = compiled(root)
    cache = tmp_path / "cache"
    for _ in range(3):  # a process each: compiled into the store, then read from it one by one
        CODE_CACHE.clear()
        assert fresh_imports(root, 2, cache)[0][0] == expected
        assert batches() == []
