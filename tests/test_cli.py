"""The command-line contract of DESIGN.md: flags, the --json envelope, exit codes 0-5, and bad
input as a new user would try it — each a clear message, never a traceback."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "cli"
EXAMPLE = Path(__file__).parents[1] / "examples" / "shop"


def modrun(*args: str, cwd: Path = FIXTURES, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def envelope(result: subprocess.CompletedProcess[str]) -> dict:
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"--json must print exactly one line, got: {result.stdout!r}"
    return json.loads(lines[0])


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_call_default_prints_one_json_line():
    result = modrun("run", "src/lib.js", "--call", "default", "--args", '["ada"]')
    assert result.returncode == 0, result.stderr
    assert result.stdout == '"hello ada"\n'


def test_json_envelope_with_sorted_exports():
    result = modrun("run", "src/lib.js", "--call", "add", "--args", "[2, 3]", "--json")
    assert result.returncode == 0
    assert envelope(result) == {
        "ok": True, "result": 5,
        "exports": ["add", "big", "cyclic", "data", "default", "fn", "later", "nothing", "yes"],
    }


def test_promise_result_is_awaited_and_undefined_prints_null():
    assert modrun("run", "src/lib.js", "--call", "later", "--args", "[21]").stdout == "42\n"
    assert modrun("run", "src/lib.js", "--call", "nothing").stdout == "null\n"


def test_without_call_or_json_only_console_output_is_printed():
    result = modrun("run", "src/logs.js")
    assert result.returncode == 0
    assert result.stdout == "to stdout\n"
    assert result.stderr == "to stderr\n"


def test_json_sends_console_output_to_stderr():
    result = modrun("run", "src/logs.js", "--json")
    assert envelope(result) == {"ok": True, "result": None, "exports": ["done"]}
    assert "to stdout" in result.stderr and "to stderr" in result.stderr


def test_bundled_example_matches_readme():
    result = modrun("run", "src/main.js", "--call", "default", "--args", '["/"]', "--json", cwd=EXAMPLE)
    outcome = envelope(result)
    assert outcome["ok"] and outcome["result"]["total"] == "66.98 EUR"
    assert "Cup &amp; saucer" in outcome["result"]["html"]


def test_root_defaults_to_entry_directory_outside_cwd(tmp_path):
    result = modrun("run", str(FIXTURES / "src" / "lib.js"), "--call", "add", "--args", "[1, 1]", cwd=tmp_path)
    assert result.stdout == "2\n"


@pytest.mark.parametrize("args, code, kind, needle", [
    (["src/nofile.js"], 3, "load", "Cannot find module"),
    (["src/syntax.js"], 3, "load", "Unexpected token"),
    (["src/badname.js"], 3, "load", "does not provide an export named 'nope'"),
    (["src/outside.js"], 3, "load", "outside the root"),
    (["src/missingdep.js"], 3, "load", "Cannot find module './missing.js' imported from"),
    (["src/builtin.js"], 3, "load", "Node.js built-in module"),
    (["src/throw42.js"], 1, "js", "42"),
    (["src/thrower.js", "--call", "fail"], 1, "js", "bad thing"),
    (["src/deep.js", "--call", "default"], 1, "js", "stack"),
    (["src/loop.js", "--call", "default", "--timeout", "0.5"], 4, "limit", "wall-time"),
    (["src/bomb.js", "--memory", "32"], 4, "limit", "memory"),
    # a heap too small for the runtime itself: QuickJS throws null, having no room for the error
    (["src/lib.js", "--memory", "1"], 4, "limit", "memory limit exceeded (1 MB)"),
    (["src/lib.js", "--memory", "1", "--evaluator", "process"], 4, "limit", "memory limit exceeded (1 MB)"),
    (["src/lib.js", "--memory", "1", "--evaluator", "wasm"], 4, "limit", "memory limit exceeded (1 MB)"),
    (["src/lib.js", "--call", "fn"], 1, "js", "is a function"),
    (["src/lib.js", "--call", "big"], 1, "js", "BigInt"),
    (["src/lib.js", "--call", "cyclic"], 1, "js", "cyclic"),
    (["src/lib.js", "--call", "nothere"], 2, "usage", "exports: add, big"),
    (["src/lib.js", "--call", "yes"], 2, "usage", "not a function"),
    (["src/lib.js", "--call", "add", "--args", "{"], 2, "usage", "--args"),
    (["src/lib.js", "--call", "add", "--args", '{"a": 1}'], 2, "usage", "JSON array"),
    (["src/lib.js", "--profile", "deno"], 2, "usage", "invalid choice: 'deno'"),
    (["src/lib.js", "--timeout", "-1"], 2, "usage", "--timeout"),
    (["src/lib.js", "--evaluator", "nosuch"], 2, "usage", "unknown evaluator 'nosuch' (available: inprocess"),
    (["src/lib.js", "--bogus"], 2, "usage", "unrecognized arguments"),
    (["src/dynamic.js", "--call", "uncaught"], 1, "js", "Cannot find module './missing-dynamic.js'"),
    (["src/hang.js"], 1, "js", "never settles"),
])
def test_bad_input_has_clear_error_and_exit_code(args, code, kind, needle):
    plain = modrun("run", *args)
    assert plain.returncode == code, plain.stderr
    assert needle in plain.stderr
    assert_clean(plain)
    as_json = modrun("run", *args, "--json")
    assert as_json.returncode == code
    error = envelope(as_json)
    assert error["ok"] is False
    assert error["error"]["kind"] == kind
    assert {"kind", "name", "message", "stack"} <= set(error["error"])
    assert needle in error["error"]["message"] + error["error"]["stack"]


@pytest.mark.parametrize("command", ["run", "check"])
def test_an_entry_that_is_no_file_is_a_load_error(tmp_path, command):
    (tmp_path / "dir.js").mkdir()
    (tmp_path / "a.js").symlink_to("b.js")
    (tmp_path / "b.js").symlink_to("a.js")  # a loop: resolving the entry must not fail inside modrun
    for entry, why in (("a.js", "(a symbolic link that loops or leads nowhere)"), ("dir.js", "(it is a directory)")):
        result = modrun(command, entry, "--json", cwd=tmp_path)
        assert result.returncode == 3, result.stdout + result.stderr
        error = envelope(result)["error"]
        assert error["kind"] == "load" and error["message"] == f"Cannot find module {tmp_path / entry} {why}"
        assert_clean(result)


def test_load_error_has_location_and_code_frame():
    error = envelope(modrun("run", "src/syntax.js", "--json"))["error"]
    assert error["name"] == "SyntaxError"
    assert error["loc"]["line"] == 2 and error["loc"]["file"].endswith("src/syntax.js")
    assert "> 2 | let x = ;" in error["frame"]


def test_link_error_has_location_code_frame_and_importer_chain(tmp_path):
    # A name the dependency does not export is found when the runner links the graph; the error is
    # shown as a resolution error is: where the import is, its code frame, the importers that led there.
    (tmp_path / "entry.js").write_text('import "./middle.js";\n')
    (tmp_path / "middle.js").write_text('// first\nimport { nope } from "./dep.js";\nexport default nope;\n')
    (tmp_path / "dep.js").write_text("export const there = 1;\n")
    for evaluator in ("inprocess", "wasm", "process"):
        result = modrun("run", "entry.js", "--json", "--evaluator", evaluator, cwd=tmp_path)
        assert result.returncode == 3, result.stderr
        error = envelope(result)["error"]
        assert error["code"] == "ERR_LINK" and error["kind"] == "load"
        assert error["loc"] == {"file": str(tmp_path / "middle.js"), "line": 2, "column": 22}
        assert error["frame"] == ('  1 | // first\n> 2 | import { nope } from "./dep.js";\n'
                                  "    |                      ^\n  3 | export default nope;")
        assert error["message"].endswith("\n  importer chain: /entry.js -> /middle.js")
        assert error["stack"].endswith(error["frame"])
    plain = modrun("run", "entry.js", cwd=tmp_path)
    assert plain.returncode == 3
    assert "importer chain: /entry.js -> /middle.js" in plain.stderr and '> 2 | import { nope }' in plain.stderr


def test_js_error_stack_is_source_mapped():
    error = envelope(modrun("run", "src/thrower.js", "--call", "fail", "--json"))["error"]
    assert error["name"] == "TypeError"
    assert "src/thrower.js:2:" in error["stack"]


def test_caught_dynamic_import_failure_is_not_an_error():
    result = modrun("run", "src/dynamic.js", "--call", "default")
    assert result.returncode == 0
    assert result.stdout == '"caught Error"\n'


def test_second_run_uses_the_transform_cache(tmp_path):
    project = tmp_path / "app"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.js").write_text('import { n } from "./n.js";\nexport default () => n;\n')
    (project / "src" / "n.js").write_text("export const n = 7;\n")
    assert modrun("run", "src/main.js", "--call", "default", cwd=project).stdout == "7\n"
    database = project / "node_modules" / ".modrun" / "transforms.sqlite"

    def entries() -> list[str]:
        with sqlite3.connect(database) as db:
            return sorted(row[0] for row in db.execute("SELECT key FROM transforms"))

    first = entries()
    assert len(first) == 2
    probe = project / "probe.py"
    probe.write_text(
        "import asyncio\nfrom runner import Server\n"
        "async def main():\n"
        "    async with Server(root='.') as server:\n"
        "        await server.environments['ssr'].import_module('/src/main.js')\n"
        "        print(server.transform_cache.hits, server.transform_cache.misses)\n"
        "asyncio.run(main())\n")
    counted = subprocess.run([sys.executable, str(probe)], cwd=project, capture_output=True, text=True, timeout=60)
    assert counted.stdout.split() == ["2", "0"], counted.stderr  # every transform came from the cache
    assert entries() == first


def test_a_plain_run_imports_only_what_it_uses(tmp_path):
    """Every run pays for its imports: `modrun run` of a module that uses neither fetch nor
    crypto.subtle loads no HTTP client, no cryptography, no file watcher and no terminal display
    (`modrun dev`'s), none of HMR's passes, no other evaluator (the process evaluator's pipes and
    pool), no pool of runtimes, no fetch dispatch, and once its transforms are cached, not the parser
    either. Nor what only an option, an error or the help needs: the fetch capability's types (until
    a runtime fetches), TLS (asyncio's, which the command never uses), shutil (the help formatter's
    terminal size), secrets (making the key of the code cache), the protocol's typed dicts (for type
    checking only), base64 (source maps inline in the code, which Vite's runner asks for and modrun's
    does not, and bytes modules). A warm run of the wasm evaluator does not
    load the WebAssembly binary format either (editing the reactor: only when its compiled module is
    built)."""
    (tmp_path / "main.js").write_text('import { n } from "./n.js";\nconsole.log(n);\n')
    (tmp_path / "n.js").write_text("export const n = 7;\n")
    heavy = ("cryptography", "urllib.request", "http.client", "watchfiles", "asyncinotify", "rich", "tree_sitter",
             "runner.hmr.hot_update", "runner.hmr.propagate", "runner.hmr.accepts", "evaluators.process",
             "runner.runtimes.pool", "runner.dispatch", "runner.capabilities.fetch", "ssl", "shutil", "secrets",
             "evaluators.wasm.binary", "runner.hmr.report", "runner.rpc.payloads", "base64")

    def loaded(evaluator: str = "inprocess") -> str:
        probe = ("import sys\nfrom runner.cli import run_command\n"
                 f"code = run_command(['run', 'main.js', '--evaluator', {evaluator!r}], held=[])\n"
                 f"print(code, sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)\n")
        done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.stdout == "7\n", done.stderr
        return done.stderr.strip()

    assert loaded() == "0 ['tree_sitter']"  # cold: the transform parses (not through the grammar package's init)
    assert loaded() == "0 []"
    loaded("wasm")  # its snapshot made, if no run made it before
    assert loaded("wasm") == "0 []"
    assert loaded("process") == "0 ['evaluators.process']"  # (its worker: test_process_evaluator.py)


def _warm_probe(root: Path, probe: str) -> str:
    """What `probe` (Python that runs `modrun run main.js` in its own process) printed to stderr in a
    warm run of a two-module graph, after a cold one."""
    (root / "main.js").write_text('import { n } from "./n.js";\nconsole.log(n);\n')
    (root / "n.js").write_text("export const n = 7;\n")
    for _ in range(2):  # cold, then warm
        done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=60)
        assert done.stdout == "7\n", done.stderr
    return done.stderr.strip()


@pytest.mark.parametrize("evaluator", ["inprocess", "wasm", "process"])
def test_a_warm_run_makes_no_dataclass(tmp_path, evaluator):
    """A class made with @dataclass costs every process that imports it a compile (about 0.5 ms each):
    the classes a warm `modrun run` makes (the module graph's nodes, package.json records, the wasm
    evaluator's snapshot and signatures) are plain classes or named tuples, and HMR's report loads with
    the first hot update."""
    probe = ("import dataclasses, sys\nfrom runner.cli import run_command\n"
             f"code = run_command(['run', 'main.js', '--evaluator', {evaluator!r}], held=[])\n"
             "made = sorted(f'{name}.{key}' for name, module in list(sys.modules.items())\n"
             "              if name.split('.')[0] in ('runner', 'evaluators')\n"
             "              for key, value in vars(module).items()\n"
             "              if isinstance(value, type) and value.__module__ == name\n"
             "              and dataclasses.is_dataclass(value))\n"
             "print(code, made, file=sys.stderr)\n")
    assert _warm_probe(tmp_path, probe) == "0 []"


def test_a_warm_run_lists_no_directory_by_a_pattern(tmp_path):
    """Path.glob compiles its pattern into a regular expression before it lists: what a run lists (the
    sources a cache is keyed by, the engine binding's dist-info) it lists with os.scandir or os.listdir."""
    probe = ("import pathlib, sys\nfrom runner.cli import run_command\n"
             "globbed = []\nglob = pathlib.Path.glob\n"
             "pathlib.Path.glob = lambda self, pattern: globbed.append(pattern) or glob(self, pattern)\n"
             "code = run_command(['run', 'main.js'], held=[])\n"
             "print(code, globbed, file=sys.stderr)\n")
    assert _warm_probe(tmp_path, probe) == "0 []"


def test_a_run_does_not_collect_garbage_while_it_loads(tmp_path):
    """The command's process collects cycles only every LOADING_COLLECT new objects while it loads (its
    imports, the runtime, the graph), which make tens of thousands of objects and free next to none in
    cycles: CPython's default, every 700, rescans them some 30 times in a small run. Once the entry is
    imported, what loading made is frozen out of later collections, which run as usual again."""
    probe = ("import gc, sys\nfrom runner.cli import run_command\n"
             "usual = gc.get_threshold()\ncollections = []\n"
             "gc.callbacks.append(lambda phase, info: collections.append(info) if phase == 'stop' else None)\n"
             "code = run_command(['run', 'main.js'], held=[])\n"
             "print(code, len(collections), gc.get_threshold() == usual, gc.get_freeze_count() > 10_000,\n"
             "      file=sys.stderr)\n")
    code, collected, restored, frozen = _warm_probe(tmp_path, probe).split()
    assert (code, restored, frozen) == ("0", "True", "True")
    assert int(collected) <= 5  # (the command's own modules load before the run starts; 30 or so without)


def test_the_console_script_collects_nothing_before_the_run_begins_loading(tmp_path):
    """`modrun run` raises the collector's threshold (cli/loading.py) before it imports the rest of modrun:
    what is imported before `main` runs (the `runner` and `runner.cli` packages) imports no typing, which
    alone took CPython's usual pace through six collections and a second-generation one."""
    probe = ("import gc, sys\ncollections = []\n"
             "gc.callbacks.append(lambda phase, info: collections.append(info) if phase == 'stop' else None)\n"
             "import runner.cli.loading as loading\nbegin = loading.begin\n"
             "def begun():\n"
             "    print(len(collections), 'typing' in sys.modules, file=sys.stderr)\n"
             "    begin()\n"
             "loading.begin = begun\n"
             "from runner.cli import main\nsys.argv = ['modrun', 'run', 'main.js']\nmain()\n")
    collected, typing = _warm_probe(tmp_path, probe).splitlines()[0].split()  # (run.py begins again: no change)
    assert typing == "False"
    assert int(collected) <= 2  # (an editable install's import finder makes some objects; 5 with typing)


def test_the_process_evaluator_starts_its_worker_before_the_host_loads_the_rest(tmp_path):
    """With --evaluator process the worker boots on another core while the host loads itself: it is
    spawned once the arguments are checked, before the host has loaded its JSON library (and with it
    dataclasses and inspect), the event loop, the server or the transform cache."""
    (tmp_path / "main.js").write_text("console.log(7);\n")
    later = ("orjson", "dataclasses", "inspect", "asyncio", "runner.server", "runner.transform_cache", "sqlite3",
             "hashlib", "runner.capabilities")
    probe = ("import subprocess, sys\nfrom runner.cli import run_command\n"
             "seen = []\nspawn = subprocess.Popen.__init__\n"
             "def record(self, *args, **kwargs):\n"
             f"    seen.append(sorted(m for m in {later!r} if m in sys.modules))\n"
             "    spawn(self, *args, **kwargs)\n"
             "subprocess.Popen.__init__ = record\n"
             "code = run_command(['run', 'main.js', '--evaluator', 'process'], held=[])\n"
             "print(code, seen[0] if seen else 'no worker', file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.stdout == "7\n", done.stderr
    assert done.stderr.strip() == "0 []"


@pytest.mark.parametrize("evaluator", ["inprocess", "wasm", "process"])
def test_the_process_ends_with_all_its_output_and_leaves_nothing_running(tmp_path, evaluator):
    """The command ends its process without tearing the runtime down: every line of output still
    gets out through the pipe, the exit code is the contract's, and no worker outlives it."""
    (tmp_path / "main.js").write_text(
        'for (let i = 0; i < 20000; i++) console.log(`line ${i}`);\n'
        'console.error("to stderr");\n'
        "export const fail = () => { throw new Error('late'); };\n")
    # Its own session: whatever it starts is in a process group of its own, found afterwards.
    proc = subprocess.Popen([sys.executable, "-m", "runner", "run", "main.js", "--evaluator", evaluator],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    lines = stdout.splitlines()
    assert len(lines) == 20000 and lines[-1] == "line 19999" and stderr == "to stderr\n"
    left = _live_members_of_group(proc.pid)
    assert not left, f"processes left running after the command ended: {left}"
    failed = modrun("run", "main.js", "--evaluator", evaluator, "--call", "fail", "--json", cwd=tmp_path)
    assert failed.returncode == 1 and envelope(failed)["error"]["message"] == "late"


def _live_members_of_group(pgid: int) -> list[str]:
    """Processes of the group that are not zombies, once they have had time to end (a worker ends
    when its channel closes; a loaded machine may take a while)."""
    import time

    deadline = time.monotonic() + 30
    while True:
        members = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/stat") as file:
                    stat = file.read()
            except (OSError, ValueError):
                continue
            name, _, rest = stat.rpartition(")")
            fields = rest.split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(f"{entry} {name.partition('(')[2]}")
        if not members or time.monotonic() > deadline:
            return members
        time.sleep(0.05)


EVALUATOR_PLUGIN = """
import sys

from evaluators import get_evaluator


class CountingEvaluator:
    \"\"\"An evaluator from another package: the in-process one, counting the runtimes it made.\"\"\"

    name = "counting"
    created = 0

    async def create_transport(self, options):
        CountingEvaluator.created += 1
        print(f"runtime {CountingEvaluator.created} made by the plugin", file=sys.stderr, flush=True)
        return await get_evaluator("inprocess").create_transport(options)
"""


def test_an_installed_evaluator_works_from_the_command_line(tmp_path):
    """An evaluator a package declares under the `modrun.evaluators` entry point is usable by name."""
    site = tmp_path / "site"
    (site / "counting_evaluator.py").parent.mkdir(parents=True)
    (site / "counting_evaluator.py").write_text(EVALUATOR_PLUGIN)
    info = site / "counting_evaluator-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: counting-evaluator\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[modrun.evaluators]\ncounting = counting_evaluator:CountingEvaluator\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run([sys.executable, "-m", "runner", "run", "src/lib.js", "--evaluator", "counting",
                             "--call", "add", "--args", "[2, 3]", "--json"],
                            cwd=FIXTURES, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert envelope(result)["result"] == 5
    assert "runtime 1 made by the plugin" in result.stderr
    listed = subprocess.run([sys.executable, "-m", "runner", "run", "src/lib.js", "--evaluator", "nosuch"],
                            cwd=FIXTURES, capture_output=True, text=True, timeout=60, env=env)
    assert listed.returncode == 2 and "counting" in listed.stderr


def test_a_registered_evaluator_works_from_the_command_line_and_the_config(tmp_path):
    from evaluators import get_evaluator, register_evaluator
    from runner import Server
    from runner.cli import run_command

    made = []

    class Recording:
        name = "recording"

        async def create_transport(self, options):
            made.append(options)
            return await get_evaluator("inprocess").create_transport(options)

    register_evaluator("recording", Recording())
    entry = tmp_path / "entry.js"
    entry.write_text("export const answer = () => 42;\n")
    assert run_command(["run", str(entry), "--evaluator", "recording", "--call", "answer"]) == 0
    assert len(made) == 1

    async def main():
        async with Server(root=tmp_path, cache_dir=False, environments={"e": {"evaluator": "recording"}}) as server:
            mod = await server.environments["e"].import_module("/entry.js")
            assert await mod.answer() == 42

    asyncio.run(main())
    assert len(made) == 2


@pytest.mark.parametrize("extra", [[], ["--memory", "48"]])
def test_the_command_starts_its_one_runtime_early_with_the_options_it_will_use(tmp_path, extra):
    """An evaluator offering start_early is told, before the run, the very options the runtime is
    then created with; the process evaluator's worker spawned then is the one the run uses, and
    no pool of spare workers is spawned beside it."""
    from evaluators import ProcessEvaluator, register_evaluator
    from runner.cli import run_command

    class Watched(ProcessEvaluator):
        def __init__(self) -> None:
            super().__init__(pool_size=2)
            self.early: list[object] = []
            self.spawned: list[int] = []
            self.used: list[int] = []

        def start_early(self, options):
            self.early.append(options)
            super().start_early(options)

        def spawn(self, options):
            worker = super().spawn(options)
            self.spawned.append(worker.pid)
            return worker

        async def create_transport(self, options):
            transport = await super().create_transport(options)
            self.used.append((options, transport.pid))
            return transport

    watched = Watched()
    register_evaluator(f"watched{len(extra)}", watched)
    entry = tmp_path / "entry.js"
    entry.write_text("export const answer = () => 42;\n")
    assert run_command(["run", str(entry), "--evaluator", f"watched{len(extra)}", "--call", "answer", *extra]) == 0
    [(options, pid)] = watched.used
    assert watched.early == [options] and watched.spawned == [pid]
    assert (options.limits.memory_mb == 48) == bool(extra)
    watched.shutdown()
