"""One long-lived Server sees every change of the files between two imports: an edit, a new file that
now wins a resolution (`./a` once `a.js` appears beside `a/index.js`), a package.json whose `exports`,
`imports` or `type` changed, a deleted file. Without a watcher, each import looks at the files again
(resolutions are checked against the stamps of what they read: runner/plugins/fs_stamps.py); with one
(`modrun dev`, HMR), the watcher's events make the server forget what it remembered. Each import runs
in a fresh runtime of the same server, as a pool's runtimes or a replaced runtime do."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from runner import LoadError, Server
from runner.rpc.exports import ModuleProxy
from tests.test_hmr import GUARD, project, run

MAIN = """\
import { v } from "./dep.js";
import { a } from "./a";
import { p } from "pkg";
import { q } from "#q";
import "./c.js";
export const out = { v, a, p, q, c: globalThis.seen };
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def layout(root: Path) -> None:
    write(root / "package.json", json.dumps({"imports": {"#q": "./q1.js"}}))
    write(root / "main.js", MAIN)
    write(root / "dep.js", "export const v = 1;\n")
    write(root / "a" / "index.js", 'export const a = "index";\n')
    write(root / "q1.js", "export const q = 1;\n")
    write(root / "q2.js", "export const q = 2;\n")
    # No module syntax: CommonJS unless the package says "type": "module" (then `module` is not defined).
    write(root / "c.js", "globalThis.seen = typeof module;\n")
    write(root / "node_modules" / "pkg" / "a.js", 'export const p = "a";\n')
    write(root / "node_modules" / "pkg" / "b.js", 'export const p = "b";\n')
    exports(root, "./a.js")


def exports(root: Path, target: str) -> None:
    write(root / "node_modules" / "pkg" / "package.json",
          json.dumps({"name": "pkg", "type": "module", "exports": {".": target}}))


async def fresh_import(server: Server) -> Any:
    """The entry's exports, imported in a new runtime of the server's environment."""
    runner = await server.environments["ssr"].create_runner()
    try:
        return (await ModuleProxy.load(runner, "/main.js")).out
    finally:
        await runner.close()


@pytest.mark.parametrize("evaluator", ["inprocess", "wasm"])
def test_a_server_without_a_watcher_sees_each_change_on_the_next_import(tmp_path: Path, evaluator: str) -> None:
    root = tmp_path / "app"
    layout(root)

    async def main() -> None:
        async with Server(root=root, cache_dir=tmp_path / "cache",
                          environments={"ssr": {"evaluator": evaluator}}) as server:
            seen = {"v": 1, "a": "index", "p": "a", "q": 1, "c": "object"}
            assert await fresh_import(server) == seen
            assert await fresh_import(server) == seen  # nothing changed: the same answers

            write(root / "dep.js", "export const v = 22;\n")
            assert await fresh_import(server) == {**seen, "v": 22}

            write(root / "a.js", 'export const a = "file";\n')  # a.js comes before a/index.js
            assert await fresh_import(server) == {**seen, "v": 22, "a": "file"}

            exports(root, "./b.js")
            write(root / "package.json", json.dumps({"imports": {"#q": "./q2.js"}}))
            assert await fresh_import(server) == {**seen, "v": 22, "a": "file", "p": "b", "q": 2}

            write(root / "package.json", json.dumps({"imports": {"#q": "./q2.js"}, "type": "module"}))
            assert await fresh_import(server) == {**seen, "v": 22, "a": "file", "p": "b", "q": 2, "c": "undefined"}

            (root / "a.js").unlink()
            assert await fresh_import(server) == {**seen, "v": 22, "p": "b", "q": 2, "c": "undefined"}

            (root / "dep.js").unlink()
            with pytest.raises(LoadError) as failed:
                await fresh_import(server)
            assert "./dep.js" in str(failed.value)
    run(main())


def test_a_watching_server_forgets_resolutions_on_the_watchers_events(tmp_path: Path) -> None:
    files = {"main.js": 'import { a } from "./a";\nimport { q } from "#q";\nexport const out = { a, q };\n',
             "a/index.js": 'export const a = "index";\n', "q1.js": "export const q = 1;\n",
             "q2.js": "export const q = 2;\n", "package.json": json.dumps({"imports": {"#q": "./q1.js"}})}

    async def main() -> None:
        async with project(tmp_path, files) as p:
            assert await fresh_import(p.server) == {"a": "index", "q": 1}
            p.write("a.js", 'export const a = "file";\n')
            assert await p.changes("a.js") == {"a.js": "create"}
            assert await fresh_import(p.server) == {"a": "file", "q": 1}
            p.write("package.json", json.dumps({"imports": {"#q": "./q2.js"}}))
            assert await p.changes("package.json") == {"package.json": "update"}
            assert await fresh_import(p.server) == {"a": "file", "q": 2}
            (p.root / "a.js").unlink()
            assert await p.changes("a.js") == {"a.js": "delete"}
            assert await asyncio.wait_for(fresh_import(p.server), GUARD) == {"a": "index", "q": 2}
    run(main())
