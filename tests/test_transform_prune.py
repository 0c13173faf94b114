"""Pruning the transform cache (runner/transform_prune.py): rows of salts nobody uses any more go, at
most once an hour and only in a run that writes (one that only reads notes its salts at most once an
hour); a file's edits leave one stamped row; what
current keys reach stays, and processes sharing the cache while one prunes all get their answers."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner import Server, file_identity, transform_prune
from tests.project_files import write

FILES = {
    "main.js": 'import { n } from "./lib/n.js";\nexport const out = n;\n',
    "lib/n.js": "export const n = 7;\n",
}
FOREIGN = "f0f0f0f0" + "0" * 56  # a key of another salt


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> float:
    """A short window for racy stamps, so that files written by a test can be stamped after a pause."""
    monkeypatch.setattr(file_identity, "RACY_S", 0.1)
    return 0.2


async def imported(root: Path, cache: Path) -> tuple[Any, int, int]:
    async with Server(root=root, cache_dir=cache) as server:
        out = (await server.environments["ssr"].import_module("/main.js")).out
        return out, server.transform_cache.hits, server.transform_cache.misses


@contextlib.contextmanager
def connected(cache: Path) -> Iterator[sqlite3.Connection]:
    """The cache's database, committed and closed after (a checkpoint, when it is the last connection)."""
    with contextlib.closing(sqlite3.connect(cache / "transforms.sqlite")) as db, db:
        yield db


def rows(cache: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with connected(cache) as db:
        return db.execute(sql, args).fetchall()


def plant(cache: Path, tag_used: float | None, prune_at: float) -> None:
    """A transforms row and a stamped row of another salt (noted as used at `tag_used`, or never),
    and the last prune at `prune_at`."""
    with connected(cache) as db:
        db.execute("INSERT INTO transforms VALUES (?, ?)", (FOREIGN, b"{}"))
        db.execute("INSERT INTO stamped VALUES (?, ?)", (FOREIGN, (FOREIGN + "0" * 40 + "x").encode()))
        if tag_used is not None:
            db.execute("INSERT INTO salts VALUES (?, ?)", (FOREIGN[:transform_prune.TAG], tag_used))
        db.execute("UPDATE salts SET used = ? WHERE tag = ''", (prune_at,))


def foreign_rows(cache: Path) -> int:
    return len(rows(cache, "SELECT key FROM transforms WHERE key = ? UNION ALL "
                           "SELECT key FROM stamped WHERE key = ?", FOREIGN, FOREIGN))


def test_an_edited_file_keeps_one_stamped_row(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    write(root, FILES)
    time.sleep(settled)
    asyncio.run(imported(root, cache))
    for value in (8, 9):
        (root / "lib" / "n.js").write_text(f"export const n = {value};\n")
        time.sleep(settled)
        assert asyncio.run(imported(root, cache))[0] == value
    assert len(rows(cache, "SELECT key FROM stamped")) == 2  # main.js and lib/n.js, whatever their edits
    assert asyncio.run(imported(root, cache)) == (9, 2, 0)


def test_a_run_that_writes_prunes_old_salts_once_an_hour(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    write(root, FILES)
    time.sleep(settled)
    asyncio.run(imported(root, cache))
    now = time.time()
    plant(cache, now - transform_prune.KEEP_S - 60, now - 60)  # pruned a minute ago: not yet again
    (root / "main.js").write_text('import { n } from "./lib/n.js";\nexport const out = n + 1;\n')
    assert asyncio.run(imported(root, cache))[0] == 8
    assert foreign_rows(cache) == 2
    rows(cache, "UPDATE salts SET used = ? WHERE tag = ''", now - transform_prune.PRUNE_EVERY_S - 1)
    (root / "main.js").write_text('import { n } from "./lib/n.js";\nexport const out = n + 2;\n')
    assert asyncio.run(imported(root, cache))[0] == 9
    assert foreign_rows(cache) == 0
    assert rows(cache, "SELECT count(*) FROM salts WHERE tag = ?", FOREIGN[:transform_prune.TAG]) == [(0,)]
    time.sleep(settled)
    assert asyncio.run(imported(root, cache)) == (9, 2, 0)  # what current keys reach is all there


def test_rows_of_a_salt_written_under_lately_or_never_noted_are_told_apart(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    write(root, FILES)
    asyncio.run(imported(root, cache))
    now = time.time()
    plant(cache, now - 60, 0.0)  # another version's salt, written under a minute ago: kept
    (root / "lib" / "n.js").write_text("export const n = 1;\n")
    asyncio.run(imported(root, cache))
    assert foreign_rows(cache) == 2
    rows(cache, "DELETE FROM salts WHERE tag = ?", FOREIGN[:transform_prune.TAG])  # as from before pruning
    rows(cache, "UPDATE salts SET used = 0 WHERE tag = ''")
    (root / "lib" / "n.js").write_text("export const n = 2;\n")
    assert asyncio.run(imported(root, cache))[0] == 2
    assert foreign_rows(cache) == 0


def test_a_warm_run_writes_nothing_and_never_prunes(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    write(root, FILES)
    time.sleep(settled)
    asyncio.run(imported(root, cache))
    plant(cache, None, 0.0)
    before = rows(cache, "SELECT * FROM salts ORDER BY tag")
    assert asyncio.run(imported(root, cache)) == (7, 2, 0)
    assert foreign_rows(cache) == 2 and rows(cache, "SELECT * FROM salts ORDER BY tag") == before


def test_a_warm_run_notes_the_salts_it_reads_at_most_once_an_hour(tmp_path: Path, settled: float) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    write(root, FILES)
    time.sleep(settled)
    asyncio.run(imported(root, cache))
    ours = "SELECT tag, used FROM salts WHERE tag NOT IN ('', ?) ORDER BY tag"
    # read, not written, for over a day since; never a prune, and another salt's rows never noted
    rows(cache, "UPDATE salts SET used = ? WHERE tag != ''", time.time() - transform_prune.KEEP_S - 60)
    plant(cache, None, 0.0)
    assert asyncio.run(imported(root, cache)) == (7, 2, 0)
    noted = rows(cache, ours, FOREIGN[:transform_prune.TAG])
    assert noted and all(used > time.time() - 60 for _, used in noted)
    assert foreign_rows(cache) == 2  # a run that only reads never prunes
    before = rows(cache, "SELECT * FROM salts ORDER BY tag")
    assert asyncio.run(imported(root, cache)) == (7, 2, 0)
    assert rows(cache, "SELECT * FROM salts ORDER BY tag") == before  # within the hour: no write
    with connected(cache) as db:  # another version writes, and it is time to prune
        assert transform_prune.note_salts(db, [FOREIGN])
    assert asyncio.run(imported(root, cache)) == (7, 2, 0)  # what the warm runs read is kept


def test_a_prune_shrinks_a_file_that_is_mostly_old_rows(tmp_path: Path) -> None:
    root, cache = tmp_path / "app", tmp_path / "cache"
    write(root, FILES)
    asyncio.run(imported(root, cache))
    with connected(cache) as db:
        db.executemany("INSERT INTO transforms VALUES (?, ?)",
                       [(f"{i:08x}" + "0" * 56, b"x" * 4000) for i in range(500)])
        db.execute("UPDATE salts SET used = 0 WHERE tag = ''")
    big = (cache / "transforms.sqlite").stat().st_size
    (root / "lib" / "n.js").write_text("export const n = 3;\n")
    assert asyncio.run(imported(root, cache))[0] == 3
    assert rows(cache, "SELECT count(*) FROM transforms") == [(3,)]  # n.js before and after its edit, main.js
    assert (cache / "transforms.sqlite").stat().st_size < big / 4


PROBE = """
import asyncio, sys
from runner import Server
async def main():
    async with Server(root=sys.argv[1], cache_dir=sys.argv[2]) as server:
        print((await server.environments["ssr"].import_module("/main.js")).out)
asyncio.run(main())
"""


def test_processes_sharing_the_cache_while_one_prunes(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    roots = []
    for i in range(4):
        root = tmp_path / f"app{i}"
        write(root, {"main.js": "".join(f'import {{ n{j} }} from "./m{j}.js";\n' for j in range(40))
                                + f"export const out = {i};\n",
                     **{f"m{j}.js": f"export const n{j} = {i * 100 + j};\n" for j in range(40)}})
        roots.append(root)
    asyncio.run(imported(roots[0], cache))
    plant(cache, None, 0.0)  # the next run that writes prunes
    runs = [subprocess.Popen([sys.executable, "-c", PROBE, str(root), str(cache)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for root in roots]
    outs = [run.communicate(timeout=120) for run in runs]
    answers = [(run.returncode, out.strip()) for run, (out, _) in zip(runs, outs, strict=True)]
    assert answers == [(0, str(i)) for i in range(4)], outs
    assert foreign_rows(cache) == 0
    for i, root in enumerate(roots):
        assert asyncio.run(imported(root, cache)) == (i, 41, 0)
