"""fetchModule's graph batches (runner/rpc/graph_fetch.py): an import asks once and gets its whole static
graph, transformed where it was not; what a batch carries is exactly what per-module fetches give, never a
stale module, and errors read the same as without batches — in every evaluator. The runs without
batches strip the runner's `graph` option on the host, so that the runner fetches module by module
as Vite's does."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from runner import Server
from runner.errors import LoadError
from runner.rpc.client import RunnerClient
from runner.rpc.exports import ModuleProxy
from runner.rpc.payloads import FetchOptions
from tests.project_files import fetched

EVALUATORS = ("inprocess", "wasm", "process")
GUARD = float(os.environ.get("MODRUN_TEST_GUARD", "60"))  # seconds: a hang guard, not a bound

# An entry over a diamond, a chain three deep, a re-export, a JSON import, a CommonJS module that
# requires another, and a dynamic import (not part of the static graph): each module logs as it runs.
FILES = {
    "entry.js": ('import { left } from "./left.js";\nimport { right } from "./right.js";\n'
                 'import { deep } from "./chain/a.js";\nimport data from "./data.json" with { type: "json" };\n'
                 'import cjs from "./lib.cjs";\nconsole.log("entry");\n'
                 'export const value = [left, right, deep, data.n, cjs.total].join(",");\n'
                 'export const later = () => import("./late.js").then((m) => m.late);\n'),
    "left.js": 'import { shared } from "./shared.js";\nconsole.log("left");\nexport const left = "L" + shared;\n',
    "right.js": 'export { shared as right } from "./shared.js";\nconsole.log("right");\n',
    "shared.js": 'console.log("shared");\nexport const shared = 1;\n',
    "chain/a.js": 'export * from "./b.js";\nconsole.log("a");\n',
    "chain/b.js": 'import { c } from "./c.js";\nconsole.log("b");\nexport const deep = "D" + c;\n',
    "chain/c.js": 'console.log("c");\nexport const c = 3;\n',
    "data.json": '{"n": 7}',
    "lib.cjs": 'const part = require("./part.cjs");\nconsole.log("lib");\nmodule.exports = { total: part + 1 };\n',
    "part.cjs": 'console.log("part");\nmodule.exports = 41;\n',
    "late.js": 'export const late = "late";\n',
}
STATIC_MODULES = len(FILES) - 1  # all but late.js


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


class Runtime:
    """A fresh runtime of the environment whose fetchModule requests are counted; `batches=False`
    strips the runner's `graph` option, so that it fetches module by module."""

    def __init__(self, client: RunnerClient, batches: bool) -> None:
        self.client = client
        self.requests: list[str] = []
        self.console: list[str] = []
        fetch = client.handlers["fetchModule"]

        def counted(url: str, importer: str | None = None, options: dict[str, Any] | None = None) -> Awaitable[Any]:
            self.requests.append(url)
            if not batches and options is not None:
                options = {key: value for key, value in options.items() if key != "graph"}
            return fetch(url, importer, options)

        client.handlers["fetchModule"] = counted  # type: ignore[index]

    async def load(self, url: str = "/entry.js") -> ModuleProxy:
        return await asyncio.wait_for(ModuleProxy.load(self.client, url), GUARD)


async def fresh(server: Server, batches: bool = True) -> Runtime:
    env = server.environments["ssr"]
    holder: list[Runtime] = []
    client = await env.create_runner(on_console=lambda level, text: holder[0].console.append(text))
    holder.append(Runtime(client, batches))
    return holder[0]


def serve(tmp_path: Path, evaluator: str, files: dict[str, str] = FILES) -> Server:
    write(tmp_path, files)
    return Server(root=tmp_path, cache_dir=False, on_console=lambda level, text: None,
                  environments={"ssr": {"evaluator": evaluator}})


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def test_a_batch_carries_exactly_the_per_module_answers(tmp_path: Path) -> None:
    async def test() -> None:
        async with serve(tmp_path, "inprocess") as server:
            env = server.environments["ssr"]
            await env.import_module("/entry.js")  # every module transformed
            options: FetchOptions = {"cached": False, "startOffset": 3, "inlineSourceMap": False}
            fetch = env.invoke_handlers()["fetchModule"]
            answer = await fetch("/entry.js", None, {**options, "graph": {"forget": []}})
            graph = answer.pop("graph")
            assert answer == await env.fetch_module("/entry.js", None, options)
            # The static graph through any chain (re-exports, JSON, requires of CommonJS), not import().
            urls = sorted(module["url"] for module in graph)
            assert urls == sorted({"/left.js", "/right.js", "/shared.js", "/chain/a.js", "/chain/b.js",
                                   "/chain/c.js", "/data.json", "/lib.cjs", "/part.cjs"})
            for module in graph:
                assert module == await env.fetch_module(module["url"], None, options)
            # Sent once to a runner; again once it says it forgot it, and all again after a clear.
            again = await fetch("/left.js", None, {**options, "graph": {"forget": []}})
            assert "graph" not in again
            shared_id = next(m["id"] for m in graph if m["url"] == "/shared.js")
            again = await fetch("/left.js", None, {**options, "graph": {"forget": [shared_id]}})
            assert [m["url"] for m in again["graph"]] == ["/shared.js"]
            again = await fetch("/entry.js", None, {**options, "graph": {"forget": [], "clear": True}})
            assert sorted(m["url"] for m in again["graph"]) == urls
            # Vite's runner does not ask: Vite's answer.
            assert "graph" not in await env.invoke_handlers()["fetchModule"]("/entry.js", None, options)

    run(test)


def test_keyed_answers_are_made_once_per_answer_and_never_outlive_it(tmp_path: Path) -> None:
    # What runners are sent with code keys is kept with the environment's answer (environment.py:
    # kept_keyed): every runner gets the same, with its code under the key, until the module changes.
    async def test() -> None:
        async with serve(tmp_path, "inprocess") as server:
            env = server.environments["ssr"]
            await env.import_module("/entry.js")
            options: FetchOptions = {"cached": False, "startOffset": 3, "inlineSourceMap": False,
                                     "codeKeys": "instead"}

            async def graph_of_a_new_runner() -> tuple[dict[str, Any], Any]:
                handlers = env.invoke_handlers()
                answer = await handlers["fetchModule"]("/entry.js", None, {**options, "graph": {"forget": []}})
                return {module["url"]: module for module in answer["graph"]}, handlers["fetchCode"]

            first, _ = await graph_of_a_new_runner()
            second, code_of = await graph_of_a_new_runner()
            c = second["/chain/c.js"]
            assert c is first["/chain/c.js"] and "code" not in c
            c_code = fetched(await env.fetch_module("/chain/c.js", None, options))["code"]
            assert await code_of([c["codeKey"]]) == [c_code]
            (tmp_path / "chain/c.js").write_text('console.log("c");\nexport const c = 33333;\n')
            third, code_of = await graph_of_a_new_runner()
            changed = third["/chain/c.js"]
            assert changed["codeKey"] != c["codeKey"] and third["/left.js"] is first["/left.js"]
            new_code, old_code = await code_of([changed["codeKey"], c["codeKey"]])
            assert "33333" in new_code and old_code is None
            # Sent as invalidated (a runner whose copy is older than a hot update): a new answer, not kept.
            answer = fetched(await env.fetch_module("/chain/c.js", None, options))
            assert env.kept_keyed(answer) is not None and env.kept_keyed({**answer, "invalidate": True}) is None

    run(test)


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_an_import_is_one_request_and_runs_as_module_by_module(tmp_path: Path, evaluator: str) -> None:
    async def test() -> None:
        async with serve(tmp_path, evaluator) as server:
            cold = await fresh(server)
            await cold.load()  # cold too: the host transforms the static graph for the first answer
            assert cold.requests == ["/entry.js"]
            results = {}
            for batches in (True, False):
                runtime = await fresh(server, batches)
                proxy = await runtime.load()
                results[batches] = (proxy.value, await proxy.later(), runtime.console)
                assert len(runtime.requests) == (2 if batches else STATIC_MODULES + 1)  # + the import()
                await runtime.client.close()
            assert results[True] == results[False]
            assert results[True][0] == "L1,1,D3,7,42"
            assert results[True][2] == ["shared", "left", "right", "c", "b", "a", "part", "lib", "entry"]

    run(test)


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_changed_or_invalidated_module_is_never_sent_stale(tmp_path: Path, evaluator: str) -> None:
    async def test() -> None:
        async with serve(tmp_path, evaluator) as server:
            env = server.environments["ssr"]
            await env.import_module("/entry.js")
            # Changed on disk: the batch carries the new code (each module's file is checked as a
            # fetch of it would).
            (tmp_path / "chain/c.js").write_text('console.log("c");\nexport const c = 33333;\n')
            runtime = await fresh(server)
            assert (await runtime.load()).value == "L1,1,D33333,7,42"
            assert len(runtime.requests) == 1
            # Invalidated (as HMR does), with a file whose time and size did not change: the batch
            # carries what the file holds now.
            shared = tmp_path / "shared.js"
            stat = shared.stat()
            shared.write_text(FILES["shared.js"].replace("= 1", "= 2"))
            os.utime(shared, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            node = env.module_graph.get_module_by_url("/shared.js")
            assert node is not None
            env.module_graph.invalidate_module(node, 1)
            runtime = await fresh(server)
            assert (await runtime.load()).value == "L2,2,D33333,7,42"
            assert len(runtime.requests) == 1
            # A module the environment never transformed is transformed for the batch.
            (tmp_path / "chain/d.js").write_text("export const d = 4;\n")
            (tmp_path / "chain/c.js").write_text('import { d } from "./d.js";\nexport const c = d;\n')
            runtime = await fresh(server)
            assert (await runtime.load()).value == "L2,2,D4,7,42"
            assert runtime.requests == ["/entry.js"]

    run(test)


async def load_error(server: Server, batches: bool) -> tuple[str, dict[str, Any], list[str]]:
    runtime = await fresh(server, batches)
    with pytest.raises(LoadError) as caught:
        await runtime.load()
    await runtime.client.close()
    error = caught.value
    fields = {key: getattr(error, key, None) for key in ("code", "loc", "frame", "importer")}
    return str(error), fields, runtime.requests


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_errors_in_batched_dependencies_read_as_without_batches(tmp_path: Path, evaluator: str) -> None:
    async def test() -> None:
        async with serve(tmp_path, evaluator) as server:
            env = server.environments["ssr"]
            await env.import_module("/entry.js")
            # A syntax error deep in the chain: left out of the batch, fetched on its own, reported
            # with its importer chain.
            (tmp_path / "chain/c.js").write_text('console.log("c");\nexport const c = ;\n')
            batched = await load_error(server, True)
            assert batched[:2] == (await load_error(server, False))[:2]
            assert "c.js" in batched[0] and "/chain/c.js" in batched[2]
            assert len(batched[2]) == 2  # the entry's batch, then c.js on its own
            # A name the re-exported module no longer exports: a link error, the same either way.
            (tmp_path / "chain/c.js").write_text('console.log("c");\nexport const c = 3;\n')
            (tmp_path / "chain/b.js").write_text('import { c } from "./c.js";\nexport const other = c;\n')
            batched = await load_error(server, True)
            assert batched[:2] == (await load_error(server, False))[:2]
            assert "deep" in batched[0] and len(batched[2]) == 1

    run(test)


# Two broken modules at the same depth, under two siblings: the first in import order is reported.
BROKEN = {"entry.js": 'import "./b.js";\nimport "./d.js";\n', "b.js": 'import "./c.js";\n',
          "d.js": 'import "./a.js";\n', "c.js": "export const c = ;\n", "a.js": "export const a = ;\n"}


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_of_several_failures_the_one_without_batches_is_reported(tmp_path: Path, evaluator: str) -> None:
    async def test() -> None:
        reports = {}
        for batches in (True, False):
            async with serve(tmp_path, evaluator, BROKEN) as server:
                reports[batches] = await load_error(server, batches)
        assert reports[True][:2] == reports[False][:2]
        assert "c.js" in reports[True][0]
        # The batch carried the modules that loaded; the runner asked for the two that failed, in order.
        assert reports[True][2] == ["/entry.js", "/c.js", "/a.js"]

    run(test)


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_modules_a_runner_forgot_are_sent_again(tmp_path: Path, evaluator: str) -> None:
    async def test() -> None:
        write(tmp_path, FILES)
        (tmp_path / "more.js").write_text('import { left } from "./left.js";\nimport { shared } from "./shared.js";\n'
                                          'export const more = left + shared;\n')
        async with Server(root=tmp_path, cache_dir=False, hmr=True, on_console=lambda level, text: None,
                          environments={"ssr": {"evaluator": evaluator}}) as server:
            env = server.environments["ssr"]
            await env.import_module("/entry.js")
            await env.import_module("/more.js")
            runtime = await fresh(server)
            await runtime.load()
            # The runner forgets one module (as HMR's prune does): an import that reaches it gets it
            # in its batch again, not what the runner still holds.
            await runtime.client.invoke("hmr", [{"type": "prune", "paths": ["/shared.js"]}])
            runtime.requests.clear()
            runtime.console.clear()
            assert (await runtime.load("/more.js")).more == "L11"
            assert runtime.requests == ["/more.js"] and runtime.console == ["shared"]
            # It forgets all (a cleared cache, as a full reload does): the next import is one request again.
            await runtime.client.invoke("clearCache", [])
            runtime.requests.clear()
            assert (await runtime.load()).value == "L1,1,D3,7,42"
            assert runtime.requests == ["/entry.js"]

    run(test)


def test_a_fetch_that_suspends_is_resumed_by_a_task_and_can_be_cancelled() -> None:
    # graph_fetch steps each fetch of a level by hand (and transform_request its transform); one that
    # suspends is handed to a task (runner/resumed.py), which must give its result, and pass cancellation in.
    from runner.resumed import resumed

    async def test() -> None:
        gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        seen: list[str] = []

        async def work() -> int:
            try:
                value = await gate
                await asyncio.sleep(0)
                return value + 1
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise

        coroutine = work()
        task = asyncio.ensure_future(resumed(coroutine, coroutine.send(None)))
        gate.set_result(41)
        assert await task == 42
        gate = asyncio.get_running_loop().create_future()
        coroutine = work()
        task = asyncio.ensure_future(resumed(coroutine, coroutine.send(None)))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert seen == ["cancelled"]

    run(test)


def test_a_fetch_whose_wait_is_over_goes_on_before_the_next_one_starts() -> None:
    # The transform worker's answers are read as the host hands it later modules (transform_worker.py): a
    # fetch of the level waiting on one goes on, and its answer is built, before the level's next fetch
    # starts, not after its last. One that waits again, or on what is not done yet, goes on in a task.
    # The answers (and what a fetch raised) stay in the level's order.
    from runner.rpc.graph_fetch import GraphFetch

    async def test() -> None:
        loop = asyncio.get_running_loop()
        log: list[str] = []
        gates: dict[str, asyncio.Future[str]] = {name: loop.create_future() for name in ("a", "a again", "d")}

        class Environment:
            server = Server(root=Path.cwd(), cache_dir=None)  # its transform worker is never forked here

            def kept_answer(self, node: Any, shape: Any) -> None:
                return None

            async def fetch_module(self, url: str, importer: str, options: FetchOptions) -> dict[str, str]:
                log.append(f"start {url}")
                if url == "/b":
                    gates["a"].set_result("A")  # the worker's answer for /a, read as /b is handed to it
                if url == "/c":
                    raise LoadError("no /c")
                value = url
                if url == "/a":
                    value = await gates["a"]
                    log.append("a answered")
                    value += await gates["a again"]
                elif url == "/d":
                    value = await gates["d"]
                log.append(f"end {url}")
                return {"code": value}

        wanted = [(url, "/importer.js", url) for url in ("/a", "/b", "/c", "/d")]
        fetch = GraphFetch(Environment())  # type: ignore[arg-type]
        level = asyncio.ensure_future(fetch._fetch_level(wanted, {}, lambda url: None))
        while "start /d" not in log:
            await asyncio.sleep(0)
        assert log == ["start /a", "start /b", "end /b", "a answered", "start /c", "start /d"]
        gates["d"].set_result("D")
        gates["a again"].set_result("2")
        results = await level
        assert sorted(log[6:]) == ["end /a", "end /d"]
        assert results[:2] == [{"code": "A2"}, {"code": "/b"}] and results[3] == {"code": "D"}
        assert isinstance(results[2], LoadError) and results[2].message == "no /c"

    run(test)
