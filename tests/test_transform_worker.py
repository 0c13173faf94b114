"""The transform worker (runner/transform_worker.py): forked only for a graph big enough, its entries
byte for byte those the host makes, the same errors, and a worker that dies leaves the host to do
the work."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from collections import deque
from pathlib import Path

import pytest

from runner import LoadError, Server, transform_worker
from runner.cores import MIN_TICKS
from tests.project_files import write

MODULES = 40


@pytest.fixture(autouse=True)
def spare_core(monkeypatch):
    """Fork whatever else the machine is doing (tests run beside other work)."""
    monkeypatch.setattr(transform_worker, "MIN_SPARE", 0.0)


def _graph(root: Path, tag: str = "m") -> Path:
    """An entry importing MODULES modules, each with a class, a live binding and a re-export."""
    names = [f"{tag}{i}" for i in range(MODULES)]
    files = {f"{tag}.js": "".join(f'import {{ value as {n} }} from "./src/{n}.js";\n' for n in names)
             + f"export const total = {' + '.join(names)};\n"}
    for i, name in enumerate(names):
        files[f"src/{name}.js"] = (f"export let value = {i};\n"
                                   f"class C{i} {{ #x = {i}; get x() {{ return this.#x; }} }}\n"
                                   f"value += new C{i}().x - {i};\n"
                                   + f'export * from "./{names[0]}.js";\n' * (i > 0))
    return write(root, files)


def _entries(directory: Path) -> list[bytes]:
    with sqlite3.connect(directory / "transforms.sqlite") as db:
        return sorted(row[0] for row in db.execute("SELECT value FROM transforms"))


async def _import(root: Path, cache: Path | bool, entry: str = "/m.js") -> tuple[object, int | None]:
    async with Server(root=root, cache_dir=cache) as server:
        module = await server.environments["ssr"].import_module(entry)
        return module.total, server.transform_worker._pid


def test_the_worker_makes_the_entries_the_host_makes(tmp_path, monkeypatch):
    root = _graph(tmp_path / "app")
    total, pid = asyncio.run(_import(root, tmp_path / "with"))
    assert total == sum(range(MODULES)) and pid is not None
    monkeypatch.setattr(transform_worker, "START_AFTER", 10 ** 6)
    total, pid = asyncio.run(_import(root, tmp_path / "without"))
    assert total == sum(range(MODULES)) and pid is None
    with_worker = _entries(tmp_path / "with")
    assert len(with_worker) == MODULES + 1 and with_worker == _entries(tmp_path / "without")


def test_a_busy_machine_forks_no_worker(tmp_path, monkeypatch):
    monkeypatch.setattr(transform_worker, "MIN_SPARE", 10 ** 6)
    assert asyncio.run(_import(_graph(tmp_path), False)) == (sum(range(MODULES)), None)


def test_spare_cores_are_the_idle_share_of_the_machine():
    cores = len(os.sched_getaffinity(0))
    count = os.cpu_count() or 1
    # half the machine's ticks idle: half its cores, at most those besides this process's own
    assert transform_worker.spare_cores((100, 1000, 1), (150, 1100, 1)) == min(count / 2, cores - 1)
    assert transform_worker.spare_cores((100, 1000, 1), (100, 1100, 1)) == 0.0
    assert transform_worker.spare_cores(None, (100, 1000, 1)) == cores - 1  # unknown: assumed free
    idle, total, running = transform_worker.cpu_times() or (0, 0, 0)
    assert 0 <= idle <= total and running >= 1  # this process runs


def test_a_short_window_counts_the_tasks_running_now():
    """Fewer ticks than MIN_TICKS say nothing: the cores less the tasks running (this one too) decide."""
    cores = len(os.sched_getaffinity(0))
    count = os.cpu_count() or 1
    short = MIN_TICKS - 1
    assert transform_worker.spare_cores((100, 1000, 1), (100, 1000 + short, 1)) == min(count - 1, cores - 1)
    assert transform_worker.spare_cores((100, 1000, 1), (100 + short, 1000 + short, count)) == 0.0
    assert transform_worker.spare_cores((100, 1000, 1), (100, 1000, count + 5)) == 0.0


def test_a_busy_machine_is_looked_at_again(tmp_path, monkeypatch):
    """A machine found busy is not written off for the run: after RECHECK more transforms of the host's
    own it is looked at again, and a core found spare then gets a worker."""
    looks: list[int] = []

    def spare(before, after):
        looks.append(0)
        return 0.0 if len(looks) == 1 else 1.0

    monkeypatch.setattr(transform_worker, "spare_cores", spare)
    monkeypatch.setattr(transform_worker, "RECHECK", 4)
    monkeypatch.setattr(transform_worker, "MIN_SPARE", 0.5)
    total, pid = asyncio.run(_import(_graph(tmp_path), False))
    assert total == sum(range(MODULES)) and pid is not None and len(looks) == 2


def test_a_small_graph_forks_no_worker(tmp_path):
    root = write(tmp_path, {"m.js": 'import { a } from "./a.js";\nexport const total = a;\n',
                            "a.js": "export const a = 1;\n"})
    assert asyncio.run(_import(root, False)) == (1, None)


def test_the_worker_is_reaped_when_the_server_closes(tmp_path):
    _total, pid = asyncio.run(_import(_graph(tmp_path), False))
    assert pid is not None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # not our child any more: reaped by close


def test_a_syntax_error_is_reported_as_without_a_worker(tmp_path, monkeypatch):
    # The entry is the first module transformed: with START_AFTER 0 the worker gets it.
    root = write(tmp_path, {"m.js": "export const total = 1;\nclass A { #x; }\nlet = = 1;\n"})
    errors = []
    for start_after in (0, 10 ** 6):
        monkeypatch.setattr(transform_worker, "START_AFTER", start_after)
        with pytest.raises(LoadError) as caught:
            asyncio.run(_import(root, False))
        error = caught.value
        errors.append((error.name, error.message, error.code, error.loc, error.frame, error.id))
    assert errors[0] == errors[1]
    name, _message, _code, loc, frame, _id = errors[0]
    assert name == "SyntaxError" and loc is not None and loc.line == 3 and "let = = 1;" in (frame or "")


def test_a_worker_that_dies_leaves_the_work_to_the_host(tmp_path, monkeypatch):
    monkeypatch.setattr(transform_worker, "START_AFTER", 0)
    _graph(tmp_path, "a")
    _graph(tmp_path, "b")

    async def main() -> tuple[object, object]:
        async with Server(root=tmp_path, cache_dir=False) as server:
            env = server.environments["ssr"]
            first = (await env.import_module("/a.js")).total
            worker = server.transform_worker
            assert worker._pid is not None
            os.kill(worker._pid, signal.SIGKILL)  # type: ignore[arg-type]
            second = (await env.import_module("/b.js")).total
            assert worker._pid is None
            return first, second

    assert asyncio.run(main()) == (sum(range(MODULES)), sum(range(MODULES)))


def _hang(payload: bytes) -> bytes | None:
    time.sleep(3600)
    return None


def test_a_hung_worker_is_killed_and_its_modules_done_by_the_host(tmp_path, monkeypatch):
    monkeypatch.setattr(transform_worker, "START_AFTER", 0)
    monkeypatch.setattr(transform_worker, "STALL", 0.5)
    monkeypatch.setattr(transform_worker, "_transform", _hang)  # the forked child inherits it
    _graph(tmp_path)

    async def main() -> tuple[object, int | None, int | None]:
        async with Server(root=tmp_path, cache_dir=False) as server:
            started = time.monotonic()
            total = (await server.environments["ssr"].import_module("/m.js")).total
            assert time.monotonic() - started < 30
            worker = server.transform_worker
            return total, worker._next, worker._pid  # killed before the server closes

    total, sent, pid = asyncio.run(main())
    assert total == sum(range(MODULES)) and sent > 0 and pid is None


def _slow(payload: bytes) -> bytes | None:
    time.sleep(0.3)
    return _real_transform(payload)


_real_transform = transform_worker._transform


def test_a_slow_worker_that_keeps_answering_is_not_taken_as_hung(tmp_path, monkeypatch):
    monkeypatch.setattr(transform_worker, "START_AFTER", 0)
    monkeypatch.setattr(transform_worker, "STALL", 0.5)  # longer than one answer takes, shorter than all
    monkeypatch.setattr(transform_worker, "_transform", _slow)
    monkeypatch.setattr(transform_worker, "BACKLOG", 4)  # the last four: answered over 1.2 s
    # waited for, not taken back by the host (which would leave the worker one at a time)
    monkeypatch.setattr(transform_worker.TransformWorker, "take_back", lambda self: False)
    _graph(tmp_path)

    async def main() -> tuple[object, int, int | None]:
        async with Server(root=tmp_path, cache_dir=False) as server:
            total = (await server.environments["ssr"].import_module("/m.js")).total
            worker = server.transform_worker
            return total, worker._answered, worker._pid

    total, answered, pid = asyncio.run(main())
    assert total == sum(range(MODULES)) and answered >= 4 and pid is not None  # alive while it answered


def test_the_worker_skips_what_the_host_took_back():
    # The worker reads all that was sent before it begins the next module: a module taken back by then
    # is not transformed (transform_worker._receive).
    requests, sent = os.pipe()
    os.set_blocking(requests, False)
    try:
        for id in (1, 2, 3):
            payload = f"module {id}".encode()
            os.write(sent, transform_worker._FRAME.pack(id, transform_worker._MODULE, len(payload)) + payload)
        os.write(sent, transform_worker._FRAME.pack(2, transform_worker._TAKEN_BACK, 0))
        os.write(sent, transform_worker._FRAME.pack(7, transform_worker._TAKEN_BACK, 0))  # one answered already
        pending: deque[tuple[int, bytes]] = deque()
        received = bytearray()
        assert transform_worker._receive(requests, received, pending, wait=True)
        assert list(pending) == [(1, b"module 1"), (3, b"module 3")] and not received
    finally:
        os.close(requests)
        os.close(sent)


def test_a_host_left_waiting_takes_modules_back(tmp_path, monkeypatch):
    # At the end of a level the host, with nothing else to do, transforms itself what the slow worker
    # holds beyond the module it is at, one at a time; the worker skips those, and the answers are the same.
    monkeypatch.setattr(transform_worker, "START_AFTER", 0)
    monkeypatch.setattr(transform_worker, "_transform", _slow)
    monkeypatch.setattr(transform_worker, "BACKLOG", 4)
    taken: list[bool] = []
    take_back = transform_worker.TransformWorker.take_back
    monkeypatch.setattr(transform_worker.TransformWorker, "take_back",
                        lambda self: taken.append(take_back(self)) or taken[-1])
    _graph(tmp_path)

    async def main() -> tuple[object, int, int]:
        async with Server(root=tmp_path, cache_dir=False) as server:
            total = (await server.environments["ssr"].import_module("/m.js")).total
            worker = server.transform_worker
            return total, worker._next, worker._answered

    total, sent, answered = asyncio.run(main())
    assert total == sum(range(MODULES))
    assert taken.count(True) >= 3  # of the level's four held at its end, all but the one begun
    assert answered + taken.count(True) <= sent + 1  # taken back before it was begun, all but a race's one
