"""Transforms found by their file's stamp (runner/transform_stamps.py): a later Server on the same
cache directory takes an unchanged module's transform without reading the file, and never where
the file, the environment's define or the plugins that transform code differ; errors that need the
source (code frames) still show it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from runner import LoadError, Plugin, Server, file_identity
from tests.project_files import write

FILES = {
    "main.js": 'import { n } from "./lib/n.js";\nexport const out = n + process.env.NODE_ENV;\n',
    "lib/n.js": "export const n = 7;\n",
}



@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> float:
    """A short window for racy stamps, so that files written by a test can be stamped after a pause."""
    monkeypatch.setattr(file_identity, "RACY_S", 0.1)
    return 0.2


async def imported(root: Path, cache: Path, url: str = "/main.js", **options: Any) -> tuple[Any, list[str]]:
    """The entry's `out`, and the ids of the modules found by their stamp (not read)."""
    async with Server(root=root, cache_dir=cache, **options) as server:
        environment = server.environments["ssr"]
        out = (await environment.import_module(url)).out
        unread = [node.id for node in environment.module_graph.id_to_module.values()
                  if node.transform_result is not None and node.transform_result.source is None]
        return out, sorted(unread)


def stamped_rows(cache: Path) -> int:
    with sqlite3.connect(cache / "transforms.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM stamped").fetchone()[0])


def test_a_later_server_takes_unchanged_modules_by_their_stamp(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    write(root, FILES)
    time.sleep(settled)
    assert asyncio.run(imported(root, cache)) == ("7production", [])
    assert stamped_rows(cache) == 1  # main.js: define rewrote it
    out, unread = asyncio.run(imported(root, cache))
    # main.js: define rewrote process.env.NODE_ENV, so it is read and transformed as before
    assert (out, unread) == ("7production", [str(root / "lib" / "n.js")])


def test_an_edit_that_keeps_size_and_modification_time_is_seen(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    write(root, FILES)
    time.sleep(settled)
    asyncio.run(imported(root, cache))
    n = root / "lib" / "n.js"
    before = n.stat()
    n.write_text("export const n = 8;\n")  # the same size
    os.utime(n, ns=(before.st_atime_ns, before.st_mtime_ns))  # and modification time: the change time moves
    out, unread = asyncio.run(imported(root, cache))
    assert out == "8production" and unread == []


def test_files_changed_just_before_get_no_stamp(tmp_path: Path) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    write(root, FILES)  # just now: within file_identity.RACY_S of the reads
    asyncio.run(imported(root, cache))
    assert stamped_rows(cache) == 0
    assert asyncio.run(imported(root, cache))[1] == []


def test_another_define_never_takes_the_stamps_of_others(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    write(root, {"main.js": 'export { out } from "./lib/n.js";\n',
                 "lib/n.js": "export const out = typeof FLAG === 'undefined' ? 'none' : FLAG;\n"})
    time.sleep(settled)
    assert asyncio.run(imported(root, cache))[0] == "none"
    assert asyncio.run(imported(root, cache))[1] != []  # stamped without define
    assert asyncio.run(imported(root, cache, define={"FLAG": '"on"'})) == ("on", [])


class Counting(Plugin):
    """A user's transform: it must see every module's code, in every process."""

    name = "counting"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def transform(self, code: str, id: str, environment: Any) -> None:
        self.seen.append(os.path.basename(id))


def test_a_plugin_that_transforms_sees_every_module_in_every_server(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    write(root, FILES)
    time.sleep(settled)
    asyncio.run(imported(root, cache))
    asyncio.run(imported(root, cache))  # stamped for a server without plugins
    plugin = Counting()
    out, unread = asyncio.run(imported(root, cache, plugins=[plugin]))
    assert out == "7production" and unread == [] and sorted(plugin.seen) == ["main.js", "n.js"]


def test_a_failed_import_in_a_stamped_module_shows_its_code_frame(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    write(root, {"main.js": 'import "./lib/a.js";\nexport const out = 1;\n',
                 "lib/a.js": 'export const a = 1;\n\nimport { gone } from "./gone.js";\n'})
    time.sleep(settled)
    errors = []
    for _ in range(2):  # the second import finds lib/a.js by its stamp
        with pytest.raises(LoadError) as caught:
            asyncio.run(imported(root, cache))
        errors.append(caught.value)
    assert stamped_rows(cache) >= 1
    first, second = errors
    assert second.loc is not None and second.loc.line == 3
    assert (second.message, second.loc, second.frame) == (first.message, first.loc, first.frame)
    assert second.frame is not None and "./gone.js" in second.frame
