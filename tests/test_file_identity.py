"""Keys made from our own files' stamps instead of their contents (runner/file_identity.py): the runner
bundle's compiled code (runner/js/bundle.py, evaluators/quickjs_bytecode.py) and the transform cache's
salt (runner/transform_cache.py). A start need not read and hash those files, and an edited file is
never served what was made from the old one: not with the same size, not with its modification time
put back, not within the seconds after it changed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evaluators.quickjs_bytecode import unavailable
from runner import file_identity, transform_cache
from runner.file_identity import stamps
from runner.js import bundle
from runner.plugins import fs_stamps

TICK_S = 0.1  # longer than the filesystem clock's tick: two writes this far apart get different change times


def same_size_edit(path: Path, old: str, new: str) -> None:
    """Replace `old` by `new` (as long), and put the modification time back."""
    assert len(old) == len(new)
    info = path.stat()
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert path.stat().st_size == info.st_size and path.stat().st_mtime_ns == info.st_mtime_ns


def test_every_stamp_has_one_shape_and_one_rule_for_when_it_is_too_recent(tmp_path, monkeypatch):
    path = tmp_path / "a.js"
    path.write_text("x\n")
    stamp = fs_stamps.stamp_of(path)
    assert stamp is not None and stamp == file_identity.stamp_of(path) == fs_stamps.FileStamps().of(str(path))
    info = path.stat()
    assert stamp == (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)
    changed = max(info.st_mtime_ns, info.st_ctime_ns)
    racy_ns = int(file_identity.RACY_S * 1e9)
    assert file_identity.racy(stamp, changed + racy_ns - 1)  # read within RACY_S of the change
    assert not file_identity.racy(stamp, changed + racy_ns)
    assert file_identity.racy(stamp, changed - 1)  # a time to come
    assert not file_identity.racy(None, changed)  # nothing there: an answer may rest on that
    assert stamps([path]) is None  # racy now
    settled = tmp_path / "settled.js"
    settled.write_text("y\n")
    past = time.time_ns() - 2 * racy_ns
    os.utime(settled, ns=(past, past))
    assert file_identity.racy(file_identity.stamp_of(settled), time.time_ns())  # its change time is now
    assert stamps([tmp_path / "missing.js"]) is None
    monkeypatch.setattr(file_identity, "RACY_S", 0.0)
    assert stamps([path]) == [(str(path), stamp)]


def test_files_changed_in_the_last_seconds_have_no_identity(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    assert stamps([path]) is None  # it may change again within this tick of the clock
    old = time.time_ns() - 10 * 10**9
    os.utime(path, ns=(old, old))
    assert stamps([path]) is None  # an old modification time, but it changed (ctime) just now
    assert stamps([tmp_path / "missing.py"]) is None


def test_an_edit_of_the_same_size_with_its_modification_time_put_back_changes_the_identity(tmp_path, monkeypatch):
    monkeypatch.setattr(file_identity, "RACY_S", 0.0)
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    time.sleep(TICK_S)
    before = stamps([path])
    assert before is not None and stamps([path]) == before
    same_size_edit(path, "1", "2")
    assert stamps([path]) != before


def test_the_transform_salt_follows_the_transform_s_files(tmp_path, monkeypatch):
    monkeypatch.setattr(file_identity, "RACY_S", 0.0)
    here = tmp_path / "runner"
    shutil.copytree(Path(transform_cache.__file__).parent / "transform", here / "transform",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (here / "transform_request.py").write_text("STORED = 1\n")
    time.sleep(TICK_S)
    first = transform_cache.salt_of(here)
    assert first == transform_cache.salt_of(here)  # from stamps: the files are not read
    same_size_edit(here / "transform" / "walker.py", "def ", "def ")  # touched only: a new salt, never stale
    time.sleep(TICK_S)
    second = transform_cache.salt_of(here)
    assert second != first
    same_size_edit(here / "transform_request.py", "1", "2")
    time.sleep(TICK_S)
    assert transform_cache.salt_of(here) not in (first, second)
    monkeypatch.setattr(file_identity, "RACY_S", 3600.0)  # every file recent: salted by their contents
    by_contents = transform_cache.salt_of(here)
    assert by_contents not in (first, second) and by_contents == transform_cache.salt_of(here)


BOOT = """
import sys
from pathlib import Path
from runner import file_identity
from runner.js import bundle
file_identity.RACY_S = 0.0
bundle.JS_DIR = Path(sys.argv[1])
reads = []
read = bundle.read
bundle.read = lambda directory, names: reads.append(len(names)) or read(directory, names)
from evaluators import RuntimeOptions
from evaluators.quickjs_engine import QuickJSEngine
engine = QuickJSEngine(RuntimeOptions(profile="bare", code_cache=sys.argv[2]))
print(engine.context.eval("String(globalThis.__modrunEdited)"), len(reads))
"""


@pytest.mark.skipif(unavailable() is not None, reason=unavailable() or "")
def test_a_warm_boot_does_not_read_the_bundle_and_an_edited_bundle_never_runs_old_bytecode(tmp_path):
    copy = tmp_path / "js"
    shutil.copytree(bundle.JS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    runtime_js = copy / "runtime.js"
    marker = "// " + "-" * 40
    runtime_js.write_text(runtime_js.read_text() + f"\n{marker}\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "user-cache")}
    env.pop("MODRUN_CODE_CACHE_MB", None)

    def boot() -> str:
        done = subprocess.run([sys.executable, "-c", BOOT, str(copy), str(tmp_path / "cache")], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    time.sleep(TICK_S)
    assert boot() == "undefined 1"  # compiled from the files, kept under their stamps
    assert boot() == "undefined 0"  # from the store: the files are not read
    edited = "globalThis.__modrunEdited = 1;"
    same_size_edit(runtime_js, marker, edited + " " * (len(marker) - len(edited)))
    time.sleep(TICK_S)
    assert boot() == "1 1"  # the edit runs: the old bytecode is not taken
    assert boot() == "1 0"
