"""A module's transform held in the environment is served again only while its file is as it was
read: a later import in a fresh runtime sees an edit that keeps the file's size and puts its
modification time back (with and without a watcher), a file read while it may still change is read
again, a user's `load` hook runs at every fetch as before, and a package.json "type" change changes a
module's format."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from runner import Plugin, Server, file_identity
from runner.rpc.exports import ModuleProxy
from tests.project_files import write

ENTRY = 'import { v } from "./dep.js";\nexport default v;\n'


async def fresh_import(env: Any, url: str = "/entry.js") -> Any:
    """The module's default export, imported into a new runtime (every module fetched again)."""
    runner = await env.create_runner()
    try:
        return (await ModuleProxy.load(runner, url))["default"]
    finally:
        await runner.close()


def edit_keeping_stamp(path: Path, text: str) -> None:
    """Rewrite `path` with text of the same size, its modification time put back (only the change
    time, which no program can set, tells)."""
    before = path.stat()
    assert len(text.encode()) == before.st_size
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)


@pytest.mark.parametrize("racy_s", [0.0, 3600.0], ids=["settled", "racy"])
def test_a_same_size_edit_is_seen_without_a_watcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    racy_s: float) -> None:
    # settled: the file's stamp alone vouches for what was read; racy: the file is read again each fetch.
    monkeypatch.setattr(file_identity, "RACY_S", racy_s)
    write(tmp_path, {"entry.js": ENTRY, "dep.js": "export const v = 1;\n"})

    async def test() -> None:
        async with Server(root=tmp_path, cache_dir=False) as server:
            env = server.environments["ssr"]
            assert await fresh_import(env) == 1
            node = env.module_graph.get_module_by_url("/dep.js")
            assert node is not None and node.transform_result.settled is (racy_s == 0)
            assert await fresh_import(env) == 1
            edit_keeping_stamp(tmp_path / "dep.js", "export const v = 2;\n")
            assert await fresh_import(env) == 2
            edit_keeping_stamp(tmp_path / "dep.js", "export const v = 3;\n")
            assert await fresh_import(env) == 3

    asyncio.run(test())


def test_a_same_size_edit_is_seen_with_a_watcher(tmp_path: Path) -> None:
    write(tmp_path, {"entry.js": ENTRY, "dep.js": "export const v = 1;\n"})

    async def test() -> None:
        async with Server(root=tmp_path, cache_dir=False) as server:
            env = server.environments["ssr"]
            updates: asyncio.Queue[list[Any]] = asyncio.Queue()
            server.on_hot_update(updates.put_nowait)
            await server.watch()
            assert await fresh_import(env) == 1
            for value in (2, 3):
                edit_keeping_stamp(tmp_path / "dep.js", f"export const v = {value};\n")
                while not any(result.file.endswith("dep.js") for result in await asyncio.wait_for(updates.get(), 30)):
                    pass
                assert await fresh_import(env) == value

    asyncio.run(test())


class Changing(Plugin):
    """Loads dep.js itself, with a new value at each load."""

    name = "changing"

    def __init__(self) -> None:
        self.loads = 0

    def load(self, id: str, environment: Any) -> str | None:
        if not id.endswith("/dep.js"):
            return None
        self.loads += 1
        return f"export const v = {self.loads};\n"


def test_a_user_load_hook_runs_at_every_fetch_and_its_answer_is_used(tmp_path: Path) -> None:
    write(tmp_path, {"entry.js": ENTRY, "dep.js": "export const v = 0;\n"})
    plugin = Changing()

    async def test() -> None:
        async with Server(root=tmp_path, cache_dir=False, plugins=[plugin]) as server:
            env = server.environments["ssr"]
            for value in (1, 2, 3):
                assert await fresh_import(env) == value
                assert plugin.loads == value

    asyncio.run(test())


LIB = ('var kind = typeof module === "object" ? "commonjs" : "module";\n'
       'if (typeof module === "object") module.exports = kind;\n')


@pytest.mark.parametrize("keep_stamp", [False, True], ids=["edited", "edited-stamp-kept"])
def test_a_package_type_change_changes_the_module_format(tmp_path: Path, keep_stamp: bool) -> None:
    # lib.js has no module syntax: its package's "type" decides whether it is CommonJS (its default
    # export is module.exports) or an ES module (no default export).
    write(tmp_path, {"entry.js": 'import * as lib from "./lib.js";\nexport default lib.default ?? "module";\n',
                     "lib.js": LIB, "package.json": '{"type":"commonjs"}'})
    package = tmp_path / "package.json"

    async def test() -> None:
        async with Server(root=tmp_path, cache_dir=False) as server:
            env = server.environments["ssr"]
            assert await fresh_import(env) == "commonjs"
            for text, kind in (('{"type":"module"  }', "module"), ('{"type":"commonjs"}', "commonjs")):
                if keep_stamp:
                    edit_keeping_stamp(package, text)
                else:
                    package.write_text(text)
                assert await fresh_import(env) == kind

    asyncio.run(test())
