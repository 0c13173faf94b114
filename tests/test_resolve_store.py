"""Resolutions remembered across processes (runner/plugins/resolve_store.py): a later Server on the
same cache directory, or a later `modrun run`, uses what an earlier one resolved, and never an answer
a file added, removed or edited since has changed: each case gives what a cold resolve gives."""

from __future__ import annotations

import asyncio
import json
import marshal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner import Server, file_identity

MAIN = """\
import { a } from "./a";
import { p } from "pkg";
import { q } from "#q";
export const out = { a, p, q };
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def layout(root: Path, main: str = MAIN) -> None:
    write(root / "package.json", json.dumps({"type": "module", "imports": {"#q": "./src/q1.js"}}))
    write(root / "src" / "main.js", main)
    write(root / "src" / "a" / "index.ts", 'export const a: string = "ts";\n')
    write(root / "src" / "q1.js", "export const q = 1;\n")
    write(root / "src" / "q2.js", "export const q = 2;\n")
    write(root / "src" / "node_modules" / "other" / "index.js", "export {};\n")  # src/node_modules exists
    for name in ("a", "b"):
        write(root / "node_modules" / "pkg" / f"{name}.js", f'export const p = "{name}";\n')
    write(root / "node_modules" / "pkg" / "package.json",
          json.dumps({"name": "pkg", "type": "module", "exports": {".": "./a.js"}}))


def shadow(root: Path) -> None:
    """A package of the same name nearer the importer."""
    write(root / "src" / "node_modules" / "pkg" / "near.js", 'export const p = "near";\n')
    write(root / "src" / "node_modules" / "pkg" / "package.json",
          json.dumps({"name": "pkg", "type": "module", "exports": "./near.js"}))


def new_index(root: Path) -> None:
    write(root / "src" / "a" / "index.js", 'export const a = "js";\n')  # .js comes before .ts


def edited_exports(root: Path) -> None:
    write(root / "node_modules" / "pkg" / "package.json",
          json.dumps({"name": "pkg", "type": "module", "exports": {".": "./b.js"}}))


def changed_imports(root: Path) -> None:
    write(root / "package.json", json.dumps({"type": "module", "imports": {"#q": "./src/q2.js"}}))


def removed_index(root: Path) -> None:
    new_index(root)
    time.sleep(0.2)  # the store must hold the answer `./a` -> index.js, made after this settles
    asyncio.run(imported(root, root.parent / "cache"))
    (root / "src" / "a" / "index.js").unlink()


async def imported(root: Path, cache: Path | bool, conditions: list[str] | None = None) -> tuple[Any, int]:
    """The entry's exports in a new Server, and how many remembered resolutions it used."""
    config: dict[str, Any] = {"evaluator": "inprocess", "conditions": conditions or []}
    async with Server(root=root, cache_dir=cache, environments={"ssr": config}) as server:
        environment = server.environments["ssr"]
        out = (await environment.import_module("/src/main.js")).out
        return out, environment.resolutions.hits


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> float:
    """A short window for racy stamps, so that files written by a test can be remembered after a pause."""
    monkeypatch.setattr(file_identity, "RACY_S", 0.1)
    return 0.2


def test_a_second_server_uses_what_the_first_resolved(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    layout(root)
    time.sleep(settled)
    first, hits = asyncio.run(imported(root, cache))
    assert (first, hits) == ({"a": "ts", "p": "a", "q": 1}, 0)
    second, hits = asyncio.run(imported(root, cache))
    assert second == first and hits >= 3


CHANGES: dict[str, tuple[Callable[[Path], None], dict[str, Any]]] = {
    "a new index.js": (new_index, {"a": "js"}),
    "a removed index.js": (removed_index, {"a": "ts"}),
    "an edited exports": (edited_exports, {"p": "b"}),
    "a changed imports map": (changed_imports, {"q": 2}),
    "a nearer package of the same name": (shadow, {"p": "near"}),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_since_the_last_process_gives_what_a_cold_resolve_gives(tmp_path: Path, settled: float,
                                                                         change: str) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    layout(root)
    time.sleep(settled)
    before, _ = asyncio.run(imported(root, cache))
    assert asyncio.run(imported(root, cache))[1] >= 3  # remembered, and used
    edit, changed = CHANGES[change]
    edit(root)
    after, _ = asyncio.run(imported(root, cache))
    assert after == {**before, **changed}
    assert asyncio.run(imported(root, False))[0] == after  # a cold resolve, with no cache at all
    # The new answers are remembered in turn, once made from files that changed long enough before.
    time.sleep(settled)
    assert asyncio.run(imported(root, cache))[0] == after
    again, hits = asyncio.run(imported(root, cache))
    assert again == after and hits >= 3


def test_answers_from_files_changed_just_before_are_not_kept(tmp_path: Path) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    layout(root)  # just now: within file_identity.RACY_S of the resolutions
    asyncio.run(imported(root, cache))
    assert asyncio.run(imported(root, cache))[1] == 0


def test_other_conditions_never_read_the_answers_of_others(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    layout(root)
    write(root / "node_modules" / "pkg" / "package.json",
          json.dumps({"name": "pkg", "type": "module", "exports": {"custom": "./b.js", "default": "./a.js"}}))
    time.sleep(settled)
    assert asyncio.run(imported(root, cache))[0]["p"] == "a"
    assert asyncio.run(imported(root, cache, ["custom"]))[0]["p"] == "b"
    assert asyncio.run(imported(root, cache))[0]["p"] == "a"


def test_a_modrun_run_sees_what_changed_since_the_last(tmp_path: Path) -> None:
    root = tmp_path / "app"
    layout(root, MAIN.replace("export const out = { a, p, q };", "console.log(JSON.stringify({ a, p, q }));"))
    time.sleep(file_identity.RACY_S + 0.2)

    def run() -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-m", "runner", "run", "src/main.js", "--evaluator", "inprocess",
                               "--json"], cwd=root, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stderr.strip().splitlines()[-1])  # --json sends console output to stderr

    assert run() == {"a": "ts", "p": "a", "q": 1}
    time.sleep(file_identity.RACY_S + 0.2)  # the first run made the cache directory in node_modules
    assert run() == {"a": "ts", "p": "a", "q": 1}
    [store] = (root / "node_modules" / ".modrun").glob("resolutions-*")
    _, entries = marshal.loads(store.read_bytes())
    assert {(str(root / "src"), "pkg", "import"), (str(root / "src"), "./a", "import")} <= set(entries)
    new_index(root)
    shadow(root)
    assert run() == {"a": "js", "p": "near", "q": 1}


def test_a_watching_server_drops_what_it_loaded_when_files_change(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    layout(root)
    time.sleep(settled)
    asyncio.run(imported(root, cache))
    store = Server(root=root, cache_dir=cache, environments={"ssr": {"evaluator": "inprocess"}}) \
        .environments["ssr"].resolutions
    key = (str(root / "src"), "pkg", "import")
    entry = store.get(key)
    assert entry is not None and entry[0] == str(root / "node_modules" / "pkg" / "a.js")
    store.forget()  # what the resolver does on the watcher's events: its stamps were taken before them
    assert store.get(key) is None


def test_saves_keep_what_other_processes_wrote_in_between(tmp_path: Path, settled: float) -> None:
    """Each save adds to the file: what another process (here another store on the same file) wrote
    since this one read it is read again and kept; a second save with nothing in between keeps the
    first's entries."""
    root, cache = tmp_path / "app", tmp_path / "cache"
    layout(root)
    time.sleep(settled)

    def store() -> Any:
        return Server(root=root, cache_dir=cache, environments={"ssr": {"evaluator": "inprocess"}}) \
            .environments["ssr"].resolutions

    def entry(name: str) -> tuple[str, tuple[()]]:
        return (str(root / f"{name}.js"), ())

    began = time.time_ns()
    one, two = store(), store()
    assert one.get(("x", "a", "import")) is None and two.get(("x", "b", "import")) is None  # both read the file
    one.put(("x", "a", "import"), entry("a"), began)
    one.save()
    two.put(("x", "b", "import"), entry("b"), began)
    two.save()  # the file changed since `two` read it: `one`'s entry is kept
    one.put(("x", "c", "import"), entry("c"), began)
    one.save()  # and since `one` wrote it
    two.put(("x", "d", "import"), entry("d"), began)
    two.save()  # and since `two` wrote it
    two.put(("x", "e", "import"), entry("e"), began)
    two.save()  # unchanged since `two` wrote it
    [path] = cache.glob("resolutions-*")
    _, entries = marshal.loads(path.read_bytes())
    assert {key[1] for key in entries} >= {"a", "b", "c", "d", "e"}
    assert store().get(("x", "c", "import")) == entry("c")
    # A store looks up what the file held when it last read or wrote it: one dictionary, not a copy
    # left from the first read.
    assert two.get(("x", "a", "import")) == entry("a") and one.get(("x", "d", "import")) is None
