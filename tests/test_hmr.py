"""HMR end to end: real files edited under a watched root, the watcher, each environment's
hot_update pass, Vite's payloads, and import.meta.hot applied inside the runtime — in every
evaluator. Waits are hang guards only (generous), never wall-clock assertions."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from runner import Server
from runner.hmr.hot_update import HotUpdateResult
from runner.hmr.report import HotReport

EVALUATORS = ("inprocess", "wasm", "process")
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "vite-fixtures" / "runtime"
GUARD = float(os.environ.get("MODRUN_TEST_GUARD", "60"))  # seconds: a hang guard, not a bound


class Project:
    def __init__(self, root: Path, server: Server) -> None:
        self.root = root
        self.server = server
        self.env = server.environments["ssr"]
        self.reports: asyncio.Queue[HotReport] = asyncio.Queue()
        self.results: asyncio.Queue[list[HotUpdateResult]] = asyncio.Queue()
        self.env.hot.subscribe(self.reports.put_nowait)
        server.on_hot_update(self.results.put_nowait)

    def write(self, name: str, text: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    async def edit(self, name: str, text: str) -> HotReport:
        self.write(name, text)
        return await self.report()

    async def report(self) -> HotReport:
        return await asyncio.wait_for(self.reports.get(), GUARD)

    async def changes(self, *names: str) -> dict[str, str]:
        """The change types the server saw for these files (other files' bursts are skipped)."""
        seen: dict[str, str] = {}
        while not set(names) <= set(seen):
            for result in await asyncio.wait_for(self.results.get(), GUARD):
                if os.path.basename(result.file) in names:
                    seen[os.path.basename(result.file)] = result.type
        return seen


@asynccontextmanager
async def project(tmp_path: Path, files: dict[str, str], evaluator: str = "inprocess",
                  plugins: tuple[Any, ...] = ()) -> AsyncIterator[Project]:
    root = tmp_path / "app"
    root.mkdir()
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    async with Server(root=root, hmr=True, cache_dir=False, plugins=plugins,
                      environments={"ssr": {"evaluator": evaluator}}) as server:
        await server.watch()
        yield Project(root, server)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_accepted_dependency_is_updated_in_place(tmp_path: Path, evaluator: str) -> None:
    async def main() -> None:
        async with project(tmp_path, {
            "dep.js": "export const value = 1;\n",
            "main.js": 'import { value } from "./dep.js";\nexport let current = value;\n'
                       'export const read = () => current;\nexport let runs = 0; runs++;\n'
                       'import.meta.hot.accept("./dep.js", (mod) => { current = mod.value; });\n',
        }, evaluator) as p:
            main = await p.env.import_module("/main.js")
            assert await main.read() == 1
            for value in (2, 3):
                report = await p.edit("dep.js", f"export const value = {value};\n")
                assert report.type == "update" and report.errors == []
                assert report.updated == ["/dep.js via /main.js"]
                assert await main.read() == value
            assert await main.get("runs") == 1  # the boundary itself was not run again
    run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_self_accepting_module_keeps_data_and_disposes(tmp_path: Path, evaluator: str) -> None:
    source = ('export const version = {v};\n'
              'const data = import.meta.hot.data;\n'
              'data.seen = (data.seen || []).concat([version]);\n'
              'export const seen = data.seen.slice();\n'
              'export const disposed = data.disposed || 0;\n'
              'import.meta.hot.dispose((d) => { d.disposed = (d.disposed || 0) + 1; });\n'
              'import.meta.hot.accept();\n')
    async def main() -> None:
        async with project(tmp_path, {"counter.js": source.replace("{v}", str(1))}, evaluator) as p:
            await p.env.import_module("/counter.js")
            report = await p.edit("counter.js", source.replace("{v}", str(2)))
            assert report.updated == ["/counter.js"] and report.errors == []
            fresh = await p.env.import_module("/counter.js")
            assert (fresh.version, fresh.seen, fresh.disposed) == (2, [1, 2], 1)
    run(main())


def test_full_reload_when_nothing_accepts(tmp_path: Path) -> None:
    async def main() -> None:
        async with project(tmp_path, {
            "dep.js": "export const value = 1;\n",
            "main.js": 'import { value } from "./dep.js";\nexport const read = () => value;\n'
                       'globalThis.log = (globalThis.log || []).concat(["main " + value]);\n'
                       'export const log = () => globalThis.log;\n',
        }) as p:
            main = await p.env.import_module("/main.js")
            report = await p.edit("dep.js", "export const value = 2;\n")
            assert report.type == "full-reload" and report.reloaded == ["/main.js"] and report.errors == []
            # The proxy's functions reach the new instance; its data attributes were a snapshot.
            assert await main.read() == 2
            assert await main.log() == ["main 1", "main 2"]
    run(main())


def test_a_full_reload_imports_again_only_the_entries_that_import_the_changed_file(tmp_path: Path) -> None:
    # The runtime finds them through its modules by file (evaluated_modules.js: made when first asked for).
    async def main() -> None:
        async with project(tmp_path, {
            "dep.js": "export const value = 1;\n",
            "main.js": 'import { value } from "./dep.js";\nexport const read = () => value;\n',
            "other.js": "export const other = 1;\n",
        }) as p:
            main = await p.env.import_module("/main.js")
            await p.env.import_module("/other.js")
            report = await p.edit("dep.js", "export const value = 2;\n")
            assert report.type == "full-reload" and report.reloaded == ["/main.js"] and report.errors == []
            assert await main.read() == 2
            report = await p.edit("dep.js", "export const value = 3;\n")  # the index kept up since
            assert report.reloaded == ["/main.js"] and await main.read() == 3
    run(main())


def test_accept_exports_is_a_boundary_for_importers_of_those_exports_only(tmp_path: Path) -> None:
    async def main() -> None:
        async with project(tmp_path, {
            "lib.js": 'export const a = 1;\nexport const b = 1;\nimport.meta.hot.acceptExports(["a"]);\n',
            "uses_a.js": 'import { a } from "./lib.js";\nexport const readA = () => a;\n',
            "main.js": 'import { readA } from "./uses_a.js";\nexport const read = () => readA();\n',
        }) as p:
            main = await p.env.import_module("/main.js")
            report = await p.edit("lib.js", 'export const a = 2;\nexport const b = 1;\n'
                                            'import.meta.hot.acceptExports(["a"]);\n')
            assert report.type == "update" and report.updated == ["/lib.js"]
            p.write("uses_a.js", 'import { a, b } from "./lib.js";\nexport const readA = () => a + b;\n')
            report = await p.report()
            assert report.type == "full-reload"  # nothing accepts uses_a.js
            report = await p.edit("lib.js", 'export const a = 5;\nexport const b = 1;\n'
                                            'import.meta.hot.acceptExports(["a"]);\n')
            assert report.type == "full-reload"  # uses_a.js now imports b, which is not accepted
            assert await main.read() == 6
    run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_invalidate_hands_the_update_to_the_importers(tmp_path: Path, evaluator: str) -> None:
    async def main() -> None:
        async with project(tmp_path, {
            "leaf.js": 'export const value = 1;\nimport.meta.hot.accept(() => import.meta.hot.invalidate("cannot"));\n',
            "main.js": 'import { value } from "./leaf.js";\nexport const read = () => value;\n'
                       'import.meta.hot.on("vite:invalidate", (d) => { globalThis.invalidated = d; });\n'
                       'export const invalidated = () => globalThis.invalidated;\n'
                       'import.meta.hot.accept();\n',
        }, evaluator) as p:
            main = await p.env.import_module("/main.js")
            first = await p.edit("leaf.js", 'export const value = 2;\n'
                                            'import.meta.hot.accept(() => import.meta.hot.invalidate("cannot"));\n')
            assert first.updated == ["/leaf.js"]
            second = await p.report()
            assert second.type == "update" and second.updated == ["/main.js"]
            assert second.payload["updates"][0]["firstInvalidatedBy"] == "/leaf.js"
            assert await main.read() == 2
            assert await main.invalidated() == {"path": "/leaf.js", "message": "cannot",
                                                "firstInvalidatedBy": "/leaf.js"}
    run(main())


class CustomEvents:
    """A plugin that handles changes to .txt files itself: a custom event instead of an update."""

    name = "custom-events"

    def hot_update(self, ctx: Any) -> Any:
        if ctx.file.endswith(".txt"):
            async def send() -> list[Any]:
                ctx.environment.hot.send("text:changed", {"file": os.path.basename(ctx.file), "text": await ctx.read()})
                return []
            return send()
        if ctx.file.endswith("ignored.js"):
            return []  # filtered: no update at all
        return None


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_an_update_that_fails_within_a_circular_import_reloads_in_full(tmp_path: Path, evaluator: str) -> None:
    # c and b import each other; the new c throws the first time it runs. Inside the cycle the
    # runner reloads in full (main runs again, the new c with it); outside (e.js) it does not.
    first_run_throws = 'if (!globalThis.thrown{0}) {{ globalThis.thrown{0} = true; throw new Error("first run"); }}\n'

    async def main() -> None:
        async with project(tmp_path, {
            "main.js": 'import { c } from "./c.js";\nimport { e } from "./e.js";\n'
                       "globalThis.runs = (globalThis.runs || 0) + 1;\n"
                       "export const read = () => [c, e, globalThis.runs];\n",
            "c.js": 'import { b } from "./b.js";\nexport const c = "c1";\nimport.meta.hot.accept();\n',
            "b.js": 'import { c } from "./c.js";\nexport const b = () => c;\n',
            "e.js": 'export const e = "e1";\nimport.meta.hot.accept();\n',
        }, evaluator) as p:
            main = await p.env.import_module("/main.js")
            assert await main.read() == ["c1", "e1", 1]
            report = await p.edit("c.js", 'import { b } from "./b.js";\n' + first_run_throws.format("C") +
                                  'export const c = "c2";\nimport.meta.hot.accept();\n')
            assert report.type == "update" and report.payload["updates"][0]["isWithinCircularImport"] is True
            [error] = report.errors
            assert "first run" in error["message"] and error["hmrFallback"].startswith("full-reload")
            assert report.reloaded == ["/main.js"]
            assert await main.read() == ["c2", "e1", 2]
            report = await p.edit("e.js", first_run_throws.format("E") +
                                  'export const e = "e2";\nimport.meta.hot.accept();\n')
            assert report.payload["updates"][0]["isWithinCircularImport"] is False
            assert report.reloaded == [] and "first run" in report.errors[0]["message"]
            assert "hmrFallback" not in report.errors[0]
            assert await main.read() == ["c2", "e1", 2]
    run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_hot_update_hook_filters_and_sends_custom_events(tmp_path: Path, evaluator: str) -> None:
    async def main() -> None:
        async with project(tmp_path, {
            "notes.txt": "one",
            "ignored.js": "export const x = 1;\n",
            "main.js": 'import { x } from "./ignored.js";\nexport const seen = [];\nexport const read = () => seen;\n'
                       'import.meta.hot.on("text:changed", (data) => { seen.push(data);'
                       ' import.meta.hot.send("text:seen", data.text); });\n'
                       'export const value = () => x;\n',
        }, evaluator, plugins=(CustomEvents(),)) as p:
            heard: list[Any] = []
            p.env.hot.on("text:seen", lambda data, client: heard.append(data))
            main = await p.env.import_module("/main.js")
            report = await p.edit("notes.txt", "two")
            assert report.type == "custom" and report.errors == []
            assert await main.read() == [{"file": "notes.txt", "text": "two"}]
            assert heard == ["two"]
            p.write("ignored.js", "export const x = 2;\n")
            assert await p.changes("ignored.js") == {"ignored.js": "update"}
            await p.env.hot.flush()
            assert p.reports.empty()
            assert await main.value() == 1
    run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_syntax_error_is_reported_and_the_fix_applies(tmp_path: Path, evaluator: str) -> None:
    async def main() -> None:
        async with project(tmp_path, {
            "dep.js": "export const value = 1;\n",
            "main.js": 'import { value } from "./dep.js";\nlet current = value;\nexport const read = () => current;\n'
                       'import.meta.hot.on("vite:error", (p) => { globalThis.lastError = p.err.message; });\n'
                       'export const lastError = () => globalThis.lastError;\n'
                       'import.meta.hot.accept("./dep.js", (mod) => { current = mod.value; });\n',
        }, evaluator) as p:
            main = await p.env.import_module("/main.js")
            report = await p.edit("dep.js", "export const value = ;\n")
            assert report.type == "error"
            [error] = report.errors
            assert error["kind"] == "load" and error["loc"]["line"] == 1 and "export const value = ;" in error["frame"]
            assert await main.read() == 1  # the runtime keeps what it had
            assert await main.lastError() == error["message"]
            report = await p.edit("dep.js", "export const value = 3;\n")
            assert report.type == "update" and report.errors == []
            assert await main.read() == 3
    run(main())



def test_a_second_event_of_a_save_that_fails_to_transform_is_skipped(tmp_path: Path) -> None:
    # A save can reach the watcher as two bursts (its truncation, then its write). When the new
    # code does not parse, the second burst must not send the same error again: `modrun dev
    # --json` would print it twice, and whoever reads one event per save would fall behind.
    from runner.hmr.hot_update import hot_update

    async def main() -> None:
        root = tmp_path / "app"
        root.mkdir()
        (root / "dep.js").write_text("export const value = 1;\n")
        (root / "main.js").write_text('import { value } from "./dep.js";\nexport const read = () => value;\n'
                                      'import.meta.hot.accept("./dep.js", () => {});\n')
        async with Server(root=root, hmr=True, cache_dir=False, environments={"ssr": {}}) as server:
            env = server.environments["ssr"]
            await env.import_module("/main.js")
            dep = str(root / "dep.js")
            (root / "dep.js").write_text("export const value = ;\n")
            first = await hot_update(env, dep, "update", 1)
            assert first.payload is not None and first.payload["type"] == "error"
            again = await hot_update(env, dep, "update", 2)
            assert again.payload is None  # the same file as the pass before took it
            (root / "dep.js").write_text("export const value = 2;\n")
            fixed = await hot_update(env, dep, "update", 3)
            assert fixed.payload is not None and fixed.payload["type"] == "update"
    run(main())

def test_delete_and_rename(tmp_path: Path) -> None:
    async def main() -> None:
        async with project(tmp_path, {
            "dep.js": "export const value = 1;\n",
            "other.js": "export const value = 7;\n",
            "main.js": 'import { value } from "./dep.js";\nlet current = value;\nexport const read = () => current;\n'
                       'import.meta.hot.accept("./dep.js", (mod) => { current = mod.value; });\n',
        }) as p:
            main = await p.env.import_module("/main.js")
            (p.root / "dep.js").unlink()
            assert await p.changes("dep.js") == {"dep.js": "delete"}
            report = await p.report()
            assert report.type == "update"
            [error] = report.errors
            assert "Cannot find module" in error["message"] and "dep.js" in error["message"]
            assert p.env.module_graph.get_module_by_url("/dep.js") is None
            assert await main.read() == 1
            os.rename(p.root / "other.js", p.root / "dep.js")  # a rename: other.js goes, dep.js comes
            assert await p.changes("dep.js", "other.js") == {"dep.js": "create", "other.js": "delete"}
            # dep.js is new to the graph: the importer that failed picks it up on the next edit.
            report = await p.edit("main.js", 'import { value } from "./dep.js";\nlet current = value;\n'
                                             'export const read = () => current;\n'
                                             'import.meta.hot.accept("./dep.js", (mod) => { current = mod.value; });\n'
                                             '// edited\n')
            assert report.type == "full-reload" and report.errors == []
            assert await main.read() == 7
    run(main())


def test_prune_runs_callbacks_and_forgets_the_module(tmp_path: Path) -> None:
    async def main() -> None:
        async with project(tmp_path, {
            "gone.js": 'import.meta.hot.prune(() => { globalThis.pruned = true; });\nexport const g = 1;\n',
            "main.js": 'import { g } from "./gone.js";\nexport const pruned = () => globalThis.pruned === true;\n'
                       'import.meta.hot.accept();\n',
        }) as p:
            main = await p.env.import_module("/main.js")
            report = await p.edit("main.js", 'export const pruned = () => globalThis.pruned === true;\n'
                                             'import.meta.hot.accept();\n')
            assert report.type == "update" and report.updated == ["/main.js"]
            prune = await p.report()
            assert prune.type == "prune" and prune.pruned == ["/gone.js"]
            assert await main.pruned() is True
    run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_payloads_apply_one_at_a_time(tmp_path: Path, evaluator: str) -> None:
    """Two updates sent back to back: the second starts only when the first has finished (its
    module's top-level await included)."""
    source = ('const v = globalThis.n = (globalThis.n || 0) + 1;\nglobalThis.log = (globalThis.log || []);\n'
              'globalThis.log.push("start " + v);\nawait Promise.resolve();\nawait Promise.resolve();\n'
              'globalThis.log.push("end " + v);\nimport.meta.hot.dispose(() => globalThis.log.push("dispose " + v));\n'
              'import.meta.hot.accept();\nexport const log = () => globalThis.log;\n')

    async def main() -> None:
        async with project(tmp_path, {"mod.js": source}, evaluator) as p:
            mod = await p.env.import_module("/mod.js")
            for timestamp in (1, 2):
                p.env.hot.send({"type": "update", "updates": [{
                    "type": "js-update", "timestamp": timestamp, "path": "/mod.js", "acceptedPath": "/mod.js",
                    "explicitImportRequired": False, "isWithinCircularImport": False}]})
            await p.env.hot.flush()
            assert await mod.log() == ["start 1", "end 1", "dispose 1", "start 2", "end 2", "dispose 2", "start 3",
                                       "end 3"]
    run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_vite_fixture_hmr_js(tmp_path: Path, evaluator: str) -> None:
    """Vite's server-hmr and server-no-hmr specs: import.meta.hot has accept with HMR on, and is
    undefined with it off."""
    root = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, root)

    async def main(hmr: bool) -> Any:
        async with Server(root=root, hmr=hmr, cache_dir=False, environments={"ssr": {"evaluator": evaluator}}) as s:
            probe = await s.environments["ssr"].import_module("/probe.js")
            return probe.kind
    (root / "probe.js").write_text('import { hmr } from "./hmr.js";\n'
                                   'export const kind = hmr === undefined ? "undefined" : typeof hmr.accept;\n')
    assert run(main(True)) == "function"
    assert run(main(False)) == "undefined"


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_vite_fixture_hmr_reexport_race(tmp_path: Path, evaluator: str) -> None:
    """hmr-reexport-race: core.js changes while both self-accepting entries import it through
    shared.js (which imports entry-a back); each entry ends with its own result, and both stay
    hot (a second change updates them again)."""
    root = tmp_path / "fixtures"
    shutil.copytree(FIXTURES / "hmr-reexport-race", root)

    async def main() -> None:
        async with Server(root=root, hmr=True, cache_dir=False, environments={"ssr": {"evaluator": evaluator}}) as s:
            p = Project(root, s)
            await s.watch()
            (root / "setup.js").write_text("globalThis.__vite_ssr_hmr_reexport_race__ = "
                                           "{ wait: () => Promise.resolve().then(() => {}) };\n")
            await p.env.run_script("/setup.js")
            a = await p.env.import_module("/entry-a.js")
            b = await p.env.import_module("/entry-b.js")
            assert (a.result, b.result) == ("a", "b")
            for n in range(2):
                core = (root / "core.js").read_text()
                (root / "core.js").write_text(core + f"\n// edit {n}\n")
                report = await p.report()
                assert report.type == "update" and report.errors == []
                assert sorted(report.updated) == ["/entry-a.js", "/entry-b.js"]
                assert (await a.get("result"), await b.get("result")) == ("a", "b")
    run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_vite_fixture_hmr_evaluated_import_race(tmp_path: Path, evaluator: str) -> None:
    """hmr-evaluated-import-race: evaluated.js (imported by shared.js, which waits on a top-level
    await) changes; nothing accepts it, so the runtime reloads shared.js in full, and the fresh
    evaluation completes ('ready') without taking the evaluated import for a live cycle."""
    root = tmp_path / "fixtures"
    shutil.copytree(FIXTURES / "hmr-evaluated-import-race", root)

    async def main() -> None:
        async with Server(root=root, hmr=True, cache_dir=False, environments={"ssr": {"evaluator": evaluator}}) as s:
            p = Project(root, s)
            await s.watch()
            (root / "setup.js").write_text("globalThis.__vite_ssr_hmr_evaluated_import_race__ = "
                                           "{ wait: () => Promise.resolve(), importShared: () => false };\n")
            await p.env.run_script("/setup.js")
            shared = await p.env.import_module("/shared.js")
            assert shared.value == "ready"
            evaluated = (root / "evaluated.js").read_text()
            (root / "evaluated.js").write_text(evaluated + "\n// edit\n")
            report = await p.report()
            assert report.type == "full-reload" and report.reloaded == ["/shared.js"] and report.errors == []
            assert await shared.get("value") == "ready"
    run(main())


def test_modrun_dev_applies_changes_and_stops_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "dep.js").write_text("export const value = 1;\n")
    (root / "main.js").write_text('import { value } from "./dep.js";\nexport const read = () => value * 10;\n')
    modrun = Path(sys.executable).with_name("modrun")
    process = subprocess.Popen([str(modrun), "dev", "main.js", "--call", "read"], cwd=root, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    pool = concurrent.futures.ThreadPoolExecutor(1)

    def line() -> str:
        assert process.stdout is not None
        return pool.submit(process.stdout.readline).result(timeout=GUARD)

    try:
        assert line() == "10\n"
        (root / "dep.js").write_text("export const value = ;\n")  # an error: shown, the session goes on
        (root / "dep.js").write_text("export const value = 4;\n")
        assert line() == "40\n"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=GUARD)
    finally:
        if process.poll() is None:
            process.kill()
        pool.shutdown(wait=False)
    assert process.returncode == 0
    assert "ready /main.js" in err and "reload /main.js" in err and "stopped" in err


class VirtualFromFile:
    """A virtual module built from a data file: its hot_update maps the file to the virtual module."""

    name = "virtual-from-file"

    def __init__(self, root: Path) -> None:
        self.data = root / "app" / "data.json"

    def resolve_id(self, source: str, importer: Any, environment: Any) -> Any:
        return "\0virtual:data" if source == "virtual:data" else None

    def load(self, id: str, environment: Any) -> Any:
        return f"export default {self.data.read_text()};\n" if id == "\0virtual:data" else None

    def hot_update(self, ctx: Any) -> Any:
        if ctx.file == str(self.data):
            node = ctx.environment.module_graph.get_module_by_id("\0virtual:data")
            return [node] if node is not None else []
        return None


def test_virtual_module_updates_through_its_plugin_and_events_fire(tmp_path: Path) -> None:
    async def main() -> None:
        async with project(tmp_path, {
            "data.json": '{"n": 1}',
            "main.js": 'import data from "virtual:data";\nlet current = data.n;\nexport const read = () => current;\n'
                       'const events = [];\nexport const events_ = () => events;\n'
                       'const off = (d) => events.push("off-listener ran");\n'
                       'import.meta.hot.on("vite:beforeUpdate", () => events.push("before"));\n'
                       'import.meta.hot.on("vite:afterUpdate", () => events.push("after"));\n'
                       'import.meta.hot.on("vite:beforeUpdate", off);\nimport.meta.hot.off("vite:beforeUpdate", off);\n'
                       'import.meta.hot.accept(["virtual:data"], ([mod]) => {\n'
                       '  events.push("accept");\n  current = mod.default.n;\n});\n',
        }, plugins=(VirtualFromFile(tmp_path),)) as p:
            main = await p.env.import_module("/main.js")
            report = await p.edit("data.json", '{"n": 2}')
            assert report.type == "update" and report.errors == []
            assert report.updated == ["/@id/__x00__virtual:data via /main.js"]
            assert await main.read() == 2
            assert await main.events_() == ["before", "accept", "after"]
    run(main())
