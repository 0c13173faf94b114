"""Compiled code on disk (evaluators/code_store.py, code_key.py): a warm `modrun run` reads the
wrappers' bytecode from node_modules/.modrun/code.sqlite instead of compiling them, and prints what a
cold run prints; a row whose MAC does not verify (altered, copied, made under another key or for
another build) is never read, and the run still succeeds; a key that cannot be trusted turns the
store off with the reason said — in every evaluator."""

from __future__ import annotations

import functools
import json
import os
import secrets
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from evaluators.code_key import KeyRefused, load_key
from evaluators.code_store import CodeStore
from evaluators.quickjs_bytecode import unavailable

EVALUATORS = ("inprocess", "wasm", "process")

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=unavailable() or "")

FILES = {
    "package.json": '{"type": "module"}',
    "main.js": "import { where, value } from './a.js';\nimport { twice } from './b.js';\n"
               "let thrown;\ntry { twice(null); } catch (error) { thrown = error.stack; }\n"
               "console.log('OUT ' + JSON.stringify({ value, where: where(), thrown }));\n",
    "a.js": "export const value = 1;\nexport function where() {\n  return new Error('here').stack;\n}\n",
    "b.js": "export function twice(x) {\n  return x.y * 2;\n}\n",
}


def project(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    for name, text in FILES.items():
        (root / name).write_text(text)
    return root


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The user's cache (and so the key) in tmp_path; the wasm evaluator's compiled engine where it is."""
    env = dict(os.environ)
    real = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    env.setdefault("MODRUN_WASM_CACHE", str(real / "modrun" / "wasm"))
    env["XDG_CACHE_HOME"] = str(tmp_path / "user-cache")
    env.pop("MODRUN_CODE_CACHE_MB", None)
    env.update(extra)
    return env


def run(root: Path, evaluator: str, env: dict[str, str]) -> tuple[dict[str, object], str]:
    """What main.js printed, and stderr."""
    done = subprocess.run([sys.executable, "-m", "runner", "run", "main.js", "--evaluator", evaluator, "--json"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("OUT ")]
    assert len(lines) == 1, done.stderr
    return json.loads(lines[0][4:]), done.stderr


def rows(root: Path) -> list[tuple[int, bytes, bytes, bytes]]:
    path = root / "node_modules" / ".modrun" / "code.sqlite"
    with sqlite3.connect(path) as db:
        return [(rowid, bytes(k), bytes(m), bytes(c))
                for rowid, k, m, c in db.execute("SELECT rowid, key, mac, code FROM code ORDER BY key")]


def execute(root: Path, sql: str, *args: object) -> None:
    db = sqlite3.connect(root / "node_modules" / ".modrun" / "code.sqlite")
    with db:
        db.execute(sql, args)
    db.close()


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_warm_run_reads_compiled_code_from_disk_and_prints_the_same(tmp_path: Path, evaluator: str) -> None:
    root = project(tmp_path)
    env = environment(tmp_path)
    cold, _ = run(root, evaluator, env)
    stored = rows(root)
    assert len(stored) >= 3  # the three modules' wrappers, compiled the first time they were seen
    assert "a.js:3:" in str(cold["where"]) and "b.js:2:" in str(cold["thrown"])  # source positions

    warm, _ = run(root, evaluator, env)
    assert warm == cold  # the same values and the same stack traces
    # Nothing compiled again: a wrapper the store did not answer would have been written anew.
    assert rows(root) == stored
    # ... and what compiling prints, with compiled code off altogether.
    assert run(root, evaluator, environment(tmp_path, MODRUN_CODE_CACHE_MB="0"))[0] == cold


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


def test_each_engine_build_reads_only_its_own_rows(tmp_path: Path) -> None:
    root = project(tmp_path)
    env = environment(tmp_path)
    printed, _ = run(root, "wasm", env)
    wasm_rows = rows(root)
    # The in-process engine is another build: it reads none of the wasm reactor's rows, and adds its own,
    # with one more for the runner bundle it boots from (wasm boots from a snapshot).
    assert run(root, "inprocess", env)[0] == printed
    both = rows(root)
    assert len(both) == 2 * len(wasm_rows) + 1 and set(wasm_rows) <= set(both)
    # The process worker runs the in-process engine's build: it reads those, and compiles nothing.
    assert run(root, "process", env)[0] == printed
    assert rows(root) == both


def tamper_bytecode(root: Path, victim: bytes) -> None:
    code = next(row[3] for row in rows(root) if row[1] == victim)
    execute(root, "UPDATE code SET code = ? WHERE key = ?", flipped(code, len(code) // 2), victim)


def tamper_mac(root: Path, victim: bytes) -> None:
    mac = next(row[2] for row in rows(root) if row[1] == victim)
    execute(root, "UPDATE code SET mac = ? WHERE key = ?", flipped(mac, 0), victim)


def copy_other(root: Path, victim: bytes) -> None:
    other = next(row for row in rows(root) if row[1] != victim)
    execute(root, "UPDATE code SET mac = ?, code = ? WHERE key = ?", other[2], other[3], victim)


@pytest.mark.parametrize("tamper", [tamper_bytecode, tamper_mac, copy_other], ids=lambda f: f.__name__)
@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_row_that_does_not_verify_is_never_read(tmp_path: Path, evaluator: str, tamper: object) -> None:
    root = project(tmp_path)
    env = environment(tmp_path)
    cold, _ = run(root, evaluator, env)
    stored = rows(root)
    for victim in [row[1] for row in stored]:
        assert callable(tamper)
        tamper(root, victim)
    assert rows(root) != stored
    assert run(root, evaluator, env)[0] == cold
    # Each altered row was refused, compiled again and written back as this process's own.
    assert [row[1:] for row in rows(root)] == [row[1:] for row in stored]


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_cache_made_under_another_key_is_never_read(tmp_path: Path, evaluator: str) -> None:
    root = project(tmp_path)
    env = environment(tmp_path)
    cold, _ = run(root, evaluator, env)
    stored = rows(root)
    # Another user's or another machine's cache: the same rows, a different key.
    key = tmp_path / "user-cache" / "modrun" / "code.key"
    key.write_bytes(secrets.token_bytes(32))
    assert run(root, evaluator, env)[0] == cold
    again = rows(root)
    assert [row[1] for row in again] == [row[1] for row in stored]
    assert all(new[2] != old[2] for new, old in zip(again, stored, strict=True))  # every row re-signed


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_an_edit_never_runs_stale_code(tmp_path: Path, evaluator: str) -> None:
    root = project(tmp_path)
    env = environment(tmp_path)
    assert run(root, evaluator, env)[0]["value"] == 1
    # The same size and modification time: only the content tells.
    a = root / "a.js"
    before = a.stat()
    a.write_text(FILES["a.js"].replace("value = 1", "value = 7"))
    os.utime(a, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert run(root, evaluator, env)[0]["value"] == 7


def key_file(tmp_path: Path) -> Path:
    return tmp_path / "user-cache" / "modrun" / "code.key"


def bad_mode(tmp_path: Path) -> str:
    key_file(tmp_path).chmod(0o644)
    return "has mode 644, not 600"


def other_owner(tmp_path: Path) -> str:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    os.chown(key_file(tmp_path), 4242, -1)
    return "belongs to another user (uid 4242)"


def symlink(tmp_path: Path) -> str:
    key = key_file(tmp_path)
    target = tmp_path / "elsewhere.key"
    key.rename(target)
    key.symlink_to(target)
    return "cannot be read or made"


def open_directory(tmp_path: Path) -> str:
    key_file(tmp_path).parent.chmod(0o777)
    return "is writable by others"


@pytest.mark.parametrize("spoil", [bad_mode, other_owner, symlink, open_directory], ids=lambda f: f.__name__)
@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_key_that_cannot_be_trusted_turns_the_store_off(tmp_path: Path, evaluator: str, spoil: object) -> None:
    load_key(key_file(tmp_path))  # made as a run would
    assert callable(spoil)
    reason = spoil(tmp_path)
    root = project(tmp_path)
    env = environment(tmp_path)
    printed, stderr = run(root, evaluator, env)
    assert printed["value"] == 1
    assert "modrun: warning: compiled code is not cached on disk" in stderr and reason in stderr
    assert ".py:" not in stderr  # said as a user reads it, not where in modrun's sources
    assert not (root / "node_modules" / ".modrun" / "code.sqlite").exists()


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_the_switches_turn_the_store_off(tmp_path: Path, evaluator: str) -> None:
    root = project(tmp_path)
    printed, _ = run(root, evaluator, environment(tmp_path, MODRUN_CODE_CACHE_MB="0"))
    assert printed["value"] == 1
    assert not (root / "node_modules" / ".modrun" / "code.sqlite").exists()
    assert not key_file(tmp_path).exists()


def test_a_new_key_is_private_and_made_once(tmp_path: Path) -> None:
    path = tmp_path / "modrun" / "code.key"
    key = load_key(path)
    assert len(key) == 32 and load_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.write_bytes(b"short")
    with pytest.raises(KeyRefused, match="holds 5 bytes"):
        load_key(path)


def test_another_build_never_reads_a_row(tmp_path: Path) -> None:
    store = CodeStore(tmp_path / "code.sqlite", b"k" * 32, 1 << 20)
    store.add("engine 1", "source", b"bytecode")
    store.flush()
    assert store.get_many("engine 2", ["source"]) == {}
    assert store.get_many("engine 1", ["source", "other"]) == {"source": b"bytecode"}
    assert (store.hits, store.misses, store.rejected) == (1, 2, 0)
    # The same row read under another key: refused, then deleted at the next write.
    other = CodeStore(tmp_path / "code.sqlite", b"j" * 32, 1 << 20)
    assert other.get_many("engine 1", ["source"]) == {} and other.rejected == 1
    other.flush()
    assert store.get_many("engine 1", ["source"]) == {}


def test_a_remembered_build_is_authenticated(tmp_path: Path) -> None:
    store = CodeStore(tmp_path / "code.sqlite", b"k" * 32, 1 << 20)
    assert store.build_of("binary:1", lambda: "engine 1") == "engine 1"
    assert store.build_of("binary:1", lambda: "never asked") == "engine 1"
    # A build planted for the binary (to make another engine's rows readable) is not believed.
    with sqlite3.connect(tmp_path / "code.sqlite") as db:
        db.execute("UPDATE builds SET build = 'engine 2'")
    assert store.build_of("binary:1", lambda: "engine 1") == "engine 1"


def test_the_store_keeps_to_its_bound_oldest_out_first(tmp_path: Path) -> None:
    store = CodeStore(tmp_path / "code.sqlite", b"k" * 32, 3000)
    for index in range(5):
        store.add("engine", f"source {index}", bytes(900))
        store.flush()
    kept = store.get_many("engine", [f"source {index}" for index in range(5)])
    assert sorted(kept) == ["source 2", "source 3", "source 4"]


def test_an_empty_store_is_asked_only_for_its_own_rows_until_another_writes(tmp_path: Path) -> None:
    store = CodeStore(tmp_path / "code.sqlite", b"k" * 32, 1 << 20)
    assert store.get_many("engine", ["mine", "theirs"]) == {}
    store.add("engine", "mine", b"1")  # with the digests kept from the lookup
    store.flush()
    other = CodeStore(tmp_path / "code.sqlite", b"k" * 32, 1 << 20)  # another process
    assert other.get_many("engine", ["mine"]) == {"mine": b"1"}
    other.add("engine", "theirs", b"2")
    other.flush()
    assert store.get_many("engine", ["mine", "theirs"]) == {"mine": b"1"}  # theirs not asked for yet
    store.add("engine", "more", b"3")
    store.flush()  # sees the other's write
    assert store.get_many("engine", ["mine", "theirs", "more"]) == {"mine": b"1", "theirs": b"2", "more": b"3"}
    assert store.rejected == 0


def test_a_store_empty_of_one_build_is_asked_only_for_its_own_rows_of_it(tmp_path: Path) -> None:
    first = CodeStore(tmp_path / "code.sqlite", b"k" * 32, 1 << 20)
    first.add("engine 1", "old", b"1")
    first.flush()
    store = CodeStore(tmp_path / "code.sqlite", b"k" * 32, 1 << 20)  # holds rows, none of engine 2's
    assert store.get_many("engine 2", ["theirs"]) == {}
    other = CodeStore(tmp_path / "code.sqlite", b"k" * 32, 1 << 20)  # another process
    other.add("engine 2", "theirs", b"2")
    other.flush()
    # engine 1's rows did not turn the shortcut off for engine 2: its rows are asked for once written here
    assert store.get_many("engine 2", ["theirs"]) == {}
    assert store.get_many("engine 1", ["old"]) == {"old": b"1"}
    store.add("engine 2", "mine", b"3")
    store.flush()  # sees the other's write
    assert store.get_many("engine 2", ["theirs", "mine"]) == {"theirs": b"2", "mine": b"3"}


def test_a_process_that_waits_for_it_writes_in_a_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runner import exit_waits

    store = CodeStore(tmp_path / "code.sqlite", b"k" * 32, 1 << 20)
    store.add("engine", "now", b"1")
    store.flush()  # no one promised to wait: written before flush returns
    assert store._writer is None
    assert CodeStore(tmp_path / "code.sqlite", b"k" * 32, 1 << 20).get_many("engine", ["now"]) == {"now": b"1"}
    monkeypatch.setattr(exit_waits, "_left", None)
    exit_waits.promise()
    for index in range(3):
        store.add("engine", f"later {index}", bytes([index]) * 100_000)
        store.flush()
    assert store._writer is not None
    exit_waits.finish()
    later = [f"later {index}" for index in range(3)]
    assert CodeStore(tmp_path / "code.sqlite", b"k" * 32, 1 << 20).get_many("engine", later) == \
        {f"later {index}": bytes([index]) * 100_000 for index in range(3)}
    assert store.get_many("engine", later) == {f"later {index}": bytes([index]) * 100_000 for index in range(3)}


CUT_SHORT = """
import os, sys
from runner import exit_waits
from evaluators.code_store import CodeStore
exit_waits.promise()
store = CodeStore(__import__("pathlib").Path(sys.argv[1]), b"k" * 32, 1 << 30)
for batch in range(int(sys.argv[2])):
    for index in range(20):
        store.add("engine", f"source {batch} {index}", bytes([index]) * 200_000)
    store.flush()
os._exit(0)  # the writes cut short wherever they are, as by a crash
"""


@pytest.mark.parametrize("batches", (1, 4))
def test_a_write_cut_short_leaves_no_row_that_verifies_but_is_wrong(tmp_path: Path, batches: int) -> None:
    path = tmp_path / "code.sqlite"
    subprocess.run([sys.executable, "-c", CUT_SHORT, str(path), str(batches)], check=True, timeout=60,
                   cwd=Path(__file__).parent.parent)
    store = CodeStore(path, b"k" * 32, 1 << 30)
    sources = [f"source {batch} {index}" for batch in range(batches) for index in range(20)]
    found = store.get_many("engine", sources)
    assert all(code == bytes([int(source.split()[2])]) * 200_000 for source, code in found.items())
    assert store.rejected == 0


def test_a_run_that_ends_has_its_compiled_code_on_disk(tmp_path: Path) -> None:
    root, env = project(tmp_path), environment(tmp_path)
    for evaluator in EVALUATORS:
        run(root, evaluator, env)
    written = len(rows(root))
    assert written >= 3 * 2  # each module's wrapper, of two builds at least (in-process and wasm)
    for evaluator in EVALUATORS:  # the next runs find them all: nothing more to write
        run(root, evaluator, env)
    assert len(rows(root)) == written


LEFT_WRITING = """
import sys, threading, time
from runner import exit_waits
from runner.cli import main
exit_waits.promise()
def write():
    time.sleep(0.5)
    open(sys.argv[1], "w").write("written")
exit_waits.leave(threading.Thread(target=write))
main(sys.argv[2:])
"""


@pytest.mark.parametrize("command", (["run", "main.js"], ["run", "missing.js"], ["check", "main.js"]))
def test_the_command_line_ends_once_the_writes_left_to_threads_are_done(tmp_path: Path, command: list[str]) -> None:
    root = project(tmp_path)
    marker = tmp_path / "marker"
    subprocess.run([sys.executable, "-c", LEFT_WRITING, str(marker), *command], cwd=root, timeout=60,
                   env={**environment(tmp_path), "PYTHONPATH": str(Path(__file__).parent.parent)}, capture_output=True)
    assert marker.read_text() == "written"


def test_the_build_is_remembered_for_the_user_across_projects(tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir(mode=0o700)
    first = CodeStore(tmp_path / "one" / "code.sqlite", b"k" * 32, 1 << 20, user)
    assert first.build_of("binary:1", lambda: "engine 1") == "engine 1"
    # Another project, a cold one (no cache directory yet): the binary is not hashed again.
    second = CodeStore(tmp_path / "two" / "code.sqlite", b"k" * 32, 1 << 20, user)
    assert second.build_of("binary:1", lambda: "never asked") == "engine 1"
    # A file not made under the user's key (planted, or another key's) is not believed.
    (remembered,) = (user / "builds").iterdir()
    assert stat.S_IMODE(remembered.stat().st_mode) == 0o600
    remembered.write_text("engine 2\n" + "00" * 32)
    third = CodeStore(tmp_path / "three" / "code.sqlite", b"k" * 32, 1 << 20, user)
    assert third.build_of("binary:1", lambda: "engine 1") == "engine 1"
    other_key = CodeStore(tmp_path / "four" / "code.sqlite", b"j" * 32, 1 << 20, user)
    assert other_key.build_of("binary:1", lambda: "computed") == "computed"


def test_the_users_remembered_builds_keep_to_their_bound_newest_kept(tmp_path: Path, monkeypatch) -> None:
    from evaluators import code_store

    monkeypatch.setattr(code_store, "KEPT_BUILDS", KEPT_BUILDS := 4)  # the mechanism, with a small bound
    user = tmp_path / "user"
    user.mkdir(mode=0o700)
    binaries = [f"binary:{index}" for index in range(KEPT_BUILDS + 3)]
    for index, binary in enumerate(binaries):  # one binary after another (new installs), each remembered
        store = CodeStore(tmp_path / f"project{index}" / "code.sqlite", b"k" * 32, 1 << 20, user)
        engine = f"engine of {binary}"
        assert store.build_of(binary, functools.partial(str, engine)) == engine
        for written in (user / "builds").iterdir():  # older than the next one, whatever the clock's tick
            info = written.stat()
            os.utime(written, ns=(info.st_atime_ns, info.st_mtime_ns - 1_000_000_000))
    assert len(list((user / "builds").iterdir())) == KEPT_BUILDS
    # cold runs (no project store yet), newest binary first: an evicted one is hashed again, and remembered
    for index, binary in reversed(list(enumerate(binaries))):
        store = CodeStore(tmp_path / f"cold{index}" / "code.sqlite", b"k" * 32, 1 << 20, user)
        found = store.build_of(binary, lambda: "hashed again")
        assert found == ("hashed again" if index < 3 else f"engine of {binary}")


def test_code_the_same_in_every_project_is_found_in_the_users_store(tmp_path: Path, monkeypatch) -> None:
    from evaluators import code_store
    from evaluators.compiled_code import CodeCache, CompiledCode

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.setattr(code_store, "_stores", {})
    build = lambda: "engine"  # noqa: E731
    first = CompiledCode(CodeCache(1 << 20), str(tmp_path / "one"))
    assert first.find_shared(build, "bundle") is None
    first.keep("engine", "bundle", b"compiled")  # the caller compiled it
    first.flush()
    # Another project's first run, in another process (a fresh in-memory cache): nothing to compile.
    second = CompiledCode(CodeCache(1 << 20), str(tmp_path / "two"))
    assert second.find_shared(build, "bundle") == b"compiled"
    second.flush()
    assert CodeStore(tmp_path / "two" / "code.sqlite", load_key(), 1 << 20).get_many("engine", ["bundle"]) == \
        {"bundle": b"compiled"}  # and the project's own store holds it from then on
    # Wrappers (find) stay the project's own.
    second.keep("engine", "wrapper", b"w")
    second.flush()
    assert code_store.user_store().get_many("engine", ["wrapper"]) == {}  # type: ignore[union-attr]
