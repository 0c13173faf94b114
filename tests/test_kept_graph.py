"""A graph kept for fresh runners (runner/kept_graph.py): from the third fresh import of an unchanged
graph its modules are not fetched one by one, and any change that a fetch of each would see (a file
edited with its size and modification time kept, a resolution that now names another file, a package
scope's "type", a module invalidated, a plugin that loads modules) makes the next fresh runner get
the graph by fetching every module again, with what the files hold now."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from runner import Plugin, Server, file_identity
from runner.errors import LoadError
from runner.rpc.exports import ModuleProxy
from runner.rpc.graph_fetch import GraphFetch
from tests.project_files import write

FILES = {
    "entry.js": ('import { a, lib } from "./src/a.js";\nimport * as typed from "./typed/kind.js";\n'
                 'export default [a, lib, typed.default ?? "esm"].join(",");\n'),
    # (a module's resolutions are checked with its answer: this one's are not the root's)
    "src/a.js": 'import { b } from "./b.js";\nexport { lib } from "lib";\nexport const a = "a" + b;\n',
    "src/b.js": 'export const b = "b1";\n',
    "node_modules/lib/package.json": '{"name": "lib", "type": "module", "exports": "./one.js"}',
    "node_modules/lib/one.js": 'export const lib = "one";\n',
    "node_modules/lib/two.js": 'export const lib = "two";\n',
    # No module syntax: its package's "type" decides whether it is CommonJS (a default export) or not.
    "typed/kind.js": 'var kind = typeof module === "object" ? "cjs" : "esm";\n'
                     'if (typeof module === "object") module.exports = kind;\n',
    "typed/package.json": '{"type": "module"  }',
}


class Kept:
    """Whether each graph fetch of a fresh runner took the kept graph (GraphFetch._kept found it current)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.taken: list[bool] = []
        kept = GraphFetch._kept

        def recorded(fetch: GraphFetch, *args: Any) -> Any:
            graph = kept(fetch, *args)
            self.taken.append(graph is not None)
            return graph

        monkeypatch.setattr(GraphFetch, "_kept", recorded)

    def take(self) -> list[bool]:
        taken, self.taken = self.taken, []
        return taken


async def fresh_import(env: Any) -> str:
    runner = await env.create_runner()
    try:
        value: str = (await ModuleProxy.load(runner, "/entry.js"))["default"]
        return value
    finally:
        await runner.close()


def same_size_edit(path: Path, old: str, new: str) -> None:
    """Replace `old` by `new` (as long) in the file, its modification time put back: only its change time tells."""
    before = path.stat()
    text = path.read_text()
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_an_unchanged_graph_is_kept_and_every_change_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_identity, "RACY_S", 0.0)  # files are settled as soon as read
    write(tmp_path, FILES)
    kept = Kept(monkeypatch)

    async def test() -> None:
        async with Server(root=tmp_path, cache_dir=False) as server:
            env = server.environments["ssr"]

            async def changed(value: str) -> None:
                # Walked module by module (and kept again), then taken as kept.
                assert await fresh_import(env) == value
                assert await fresh_import(env) == value
                assert kept.take() == [False, True]

            for _ in range(3):  # walked twice (kept the second time), then taken as kept
                assert await fresh_import(env) == "ab1,one,esm"
            assert kept.take() == [False, False, True]
            # A dependency's text, its size and modification time kept.
            same_size_edit(tmp_path / "src/b.js", '"b1"', '"b2"')
            await changed("ab2,one,esm")
            # A resolution: the package's entry is another file now.
            same_size_edit(tmp_path / "node_modules/lib/package.json", "./one.js", "./two.js")
            await changed("ab2,two,esm")
            # A module invalidated (as HMR does), its file edited with size and times kept.
            same_size_edit(tmp_path / "src/a.js", '"a"', '"A"')
            node = env.module_graph.get_module_by_url("/src/a.js")
            assert node is not None
            env.module_graph.invalidate_module(node, 1)
            await changed("Ab2,two,esm")
            # A file gone, and back.
            (tmp_path / "src/b.js").unlink()
            with pytest.raises(LoadError):
                await fresh_import(env)
            assert kept.take() == [False]
            (tmp_path / "src/b.js").write_text('export const b = "b3";\n')
            await changed("Ab3,two,esm")
            # A package scope's "type": the module's format (CommonJS now, whose graphs are not kept).
            same_size_edit(tmp_path / "typed/package.json", '"module"  ', '"commonjs"')
            for _ in range(3):
                assert await fresh_import(env) == "Ab3,two,cjs"
            assert kept.take() == [False] * 3

    asyncio.run(test())


def test_a_file_read_while_it_may_still_change_is_never_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_identity, "RACY_S", 3600.0)  # every file changed less than RACY_S ago
    write(tmp_path, FILES)
    kept = Kept(monkeypatch)

    async def test() -> None:
        async with Server(root=tmp_path, cache_dir=False) as server:
            env = server.environments["ssr"]
            for value in ("b1", "b2", "b3", "b4"):
                (tmp_path / "src/b.js").write_text(f'export const b = "{value}";\n')
                assert await fresh_import(env) == f"a{value},one,esm"
            assert kept.take() == [False] * 4

    asyncio.run(test())


class Loading(Plugin):
    """Loads src/b.js itself, with a new value at each load."""

    name = "loading"

    def __init__(self) -> None:
        self.loads = 0

    def load(self, id: str, environment: Any) -> str | None:
        if not id.endswith("/src/b.js"):
            return None
        self.loads += 1
        return f'export const b = "L{self.loads}";\n'


def test_with_a_plugin_that_loads_modules_every_module_is_fetched(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_identity, "RACY_S", 0.0)
    write(tmp_path, FILES)
    plugin = Loading()
    kept = Kept(monkeypatch)

    async def test() -> None:
        async with Server(root=tmp_path, cache_dir=False, plugins=[plugin]) as server:
            env = server.environments["ssr"]
            for loads in (1, 2, 3, 4):
                assert await fresh_import(env) == f"aL{loads},one,esm"
            assert kept.take() == [False] * 4

    asyncio.run(test())
