"""The transform cache (runner/transform_cache.py): a database empty when opened is asked only for what
this process put, until another process writes; writes in a thread are on disk once `flush` returns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from runner.transform_cache import TAG, TransformCache


def K(name: str) -> str:
    """A key as the cache makes them: under this salt."""
    return TransformCache.key(name, "")


def _stored(directory: Path) -> dict[str, bytes]:
    with sqlite3.connect(directory / "transforms.sqlite") as db:
        return dict(db.execute("SELECT key, value FROM transforms"))


def test_an_empty_cache_finds_what_this_process_put(tmp_path):
    cache = TransformCache(tmp_path)
    assert cache.get(K("a")) is None and cache._fresh.empty
    cache.put(K("a"), {"code": "1"})
    cache.flush()
    assert cache.get(K("a")) == {"code": "1"} and cache.get(K("b")) is None
    assert (cache.hits, cache.misses) == (1, 2)
    cache.close()


def test_another_process_writing_ends_the_shortcut(tmp_path):
    cache = TransformCache(tmp_path)
    assert cache.get(K("theirs")) is None and cache._fresh.empty
    other = TransformCache(tmp_path)  # another process: its own connection
    other.put(K("theirs"), {"code": "2"})
    other.close()
    assert cache.get(K("theirs")) is None  # not asked for: the database was empty when opened
    cache.put(K("mine"), {"code": "1"})
    cache.flush()  # finds the other's write
    assert not cache._fresh.empty and cache.get(K("theirs")) == {"code": "2"}
    cache.close()


def test_a_cache_with_entries_is_always_asked(tmp_path):
    first = TransformCache(tmp_path)
    first.put(K("a"), {"code": "1"})
    first.close()
    cache = TransformCache(tmp_path)
    assert cache.get(K("a")) == {"code": "1"} and not cache._fresh.empty
    cache.close()


def test_a_write_in_a_thread_is_on_disk_once_flush_returns(tmp_path):
    cache = TransformCache(tmp_path)
    cache.get(K("x"))
    for i in range(300):  # past a batch: the first 256 are written in a thread as they come
        cache.put_encoded(K(f"k{i}"), b'{"code": "%d"}' % i)
    assert cache._writer is not None
    cache.flush_soon()  # one write at a time: the rest waits for the next flush
    assert cache.get(K("k3")) == {"code": "3"}  # waits for the write under way
    cache.flush()
    assert len(_stored(tmp_path)) == 300
    cache.put_encoded(K("last"), b"{}")
    cache.flush_soon()
    cache.close()
    assert _stored(tmp_path)[K("last")] == b"{}"


def test_rows_of_another_salt_neither_answer_nor_end_the_shortcut(tmp_path):
    # What another modrun version left: rows under its salt's tag, one of them for the very module asked for.
    tag = K("a")[:TAG]
    other = "0" * TAG if tag != "0" * TAG else "1" * TAG
    old = TransformCache(tmp_path)
    old.put(other + K("a")[TAG:], {"code": "stale"})
    old.put(other + K("b")[TAG:], {"code": "stale"})
    old.close()
    cache = TransformCache(tmp_path)
    db = cache._connect()
    assert db is not None
    asked: list[str] = []
    db.set_trace_callback(asked.append)
    assert cache.get(K("a")) is None and cache._fresh.empty  # the cold run's lookups cost nothing
    assert not [query for query in asked if "FROM transforms" in query]
    cache.put(K("a"), {"code": "fresh"})
    cache.flush()
    assert cache.get(K("a")) == {"code": "fresh"} and cache.get(K("b")) is None
    cache.close()
