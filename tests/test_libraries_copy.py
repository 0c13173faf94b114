"""The edge profile's libraries loaded from their marshal copy (runner/js/libraries.py): every boot
loads them, and the copy is read in place of the JSON file only while that file has the stamp the
copy was made from; an edit, a damaged copy or a file changed just now all give the JSON's contents."""

from __future__ import annotations

import json
import marshal
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner import file_identity
from runner.js import libraries


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    output = tmp_path / "libraries.json"
    monkeypatch.setattr(libraries, "OUTPUT", output)
    monkeypatch.setattr(libraries, "COPY", tmp_path / "__pycache__" / "libraries.marshal")
    monkeypatch.setattr(libraries, "is_current", lambda: True)
    monkeypatch.setattr(file_identity, "RACY_S", 0.05)
    libraries.load.cache_clear()
    yield output
    libraries.load.cache_clear()


def write(output: Path, source: str) -> None:
    output.write_text(json.dumps({"inputs": "x", "units": {"u": {"provides": ["U"], "source": source}}}))
    time.sleep(0.1)  # settled


def load() -> str:
    libraries.load.cache_clear()
    return str(libraries.load()["units"]["u"]["source"])


def test_the_copy_is_read_while_the_file_is_unchanged(built: Path) -> None:
    write(built, "one")
    assert load() == "one" and libraries.COPY.is_file()
    form, stamps, data = marshal.loads(libraries.COPY.read_bytes())
    assert stamps[0] == file_identity.stamp_of(built)
    data["units"]["u"]["source"] = "from the copy"
    libraries.COPY.write_bytes(marshal.dumps((form, stamps, data)))
    assert load() == "from the copy"


def test_stale_inputs_are_said_whatever_the_copy_holds(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(built, "one")
    assert load() == "one"
    monkeypatch.setattr(libraries, "is_current", lambda: False)
    assert load() == "one"  # nothing it was checked against changed
    licenses = built.parent / "LICENSES.txt"
    licenses.write_text("notices\n")
    monkeypatch.setattr(libraries, "LICENSES", licenses)  # another file, another stamp
    with pytest.raises(libraries.LibrariesMissing):
        load()


def test_an_edit_a_damaged_copy_or_a_file_changed_just_now_give_the_files_contents(
        built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(built, "one")
    assert load() == "one"
    before = built.stat()
    built.write_text(built.read_text().replace("one", "two"))  # the same size, the modification time put back
    os.utime(built, ns=(before.st_atime_ns, before.st_mtime_ns))
    time.sleep(0.1)
    assert load() == "two"
    assert load() == "two"  # and the copy made again from it
    libraries.COPY.write_bytes(b"\x00damaged")
    assert load() == "two"
    monkeypatch.setattr(file_identity, "RACY_S", 60.0)
    libraries.COPY.unlink()
    assert load() == "two" and not libraries.COPY.exists()  # changed within RACY_S: no copy
