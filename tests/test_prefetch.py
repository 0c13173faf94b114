"""The entry's graph transformed while a process runtime boots (runner/prefetch.py), against real worker
processes: when it runs, that it leaves outcomes as they were (exports, errors with their location, frame
and importer, a user's plugin hooks called as often), and that an import it began ends with the import."""

from __future__ import annotations

import asyncio
import select
import sys
from pathlib import Path
from typing import Any

import pytest

from evaluators import register_evaluator
from evaluators.options import RuntimeOptions
from evaluators.process import ProcessEvaluator
from runner import CrashError, LoadError, Plugin, Server
from runner.limits import Limits
from runner.prefetch import boot_with_prefetch, may_prefetch
from tests.project_files import write

GRAPH = {
    "main.js": 'import { a } from "./a.js";\nimport { b } from "./b.js";\nexport const total = a + b;\n',
    "a.js": 'import { c } from "./deep/c.js";\nexport const a = c + 1;\n',
    "b.js": 'export { c as b } from "./deep/c.js";\n',
    "deep/c.js": "export const c = 20;\n",
}


def _register(name: str, **options: Any) -> str:
    register_evaluator(name, ProcessEvaluator(pool_size=0, **options))  # every runtime a fresh worker
    return name


def _server(root: Path, evaluator: str, plugins: list[Any] | None = None) -> Server:
    return Server(root=root, cache_dir=False, plugins=plugins or [],
                  environments={"cli": {"evaluator": evaluator}})


def test_a_pool_worker_is_booting_until_it_says_it_is_ready() -> None:
    evaluator = ProcessEvaluator(pool_size=1)
    options = RuntimeOptions(limits=Limits(memory_mb=48))
    try:
        assert evaluator.booting(options)  # no worker yet: one would be spawned
        evaluator.prewarm(options)
        worker = evaluator.pool.idle[options][0]
        assert select.select([worker.sock], [], [], 30)[0]  # its READY frame
        assert not evaluator.booting(options)
    finally:
        evaluator.shutdown()


def test_the_graph_is_transformed_while_the_runtime_boots(tmp_path: Path) -> None:
    root = write(tmp_path, GRAPH)
    evaluator = _register("process-prefetch-boot")

    async def main() -> None:
        async with _server(root, evaluator) as server:
            environment = server.environments["cli"]
            assert may_prefetch(environment)
            await boot_with_prefetch(environment, "/main.js", None)
            nodes = [environment.module_graph.get_module_by_url(f"/{name}") for name in GRAPH]
            assert all(node is not None and node.transform_result is not None for node in nodes)
            assert environment.runtime.alive and environment.import_begun
            module = await environment.import_module("/main.js")
            assert module.total == 41
            assert not environment.import_begun
    asyncio.run(main())


def _error(root: Path, evaluator: str) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        async with _server(root, evaluator) as server:
            with pytest.raises(LoadError) as caught:
                await server.environments["cli"].import_module("/main.js")
            return caught.value.to_payload()
    return asyncio.run(main())


@pytest.mark.parametrize("broken", [
    {"deep/c.js": "export const c = ;\n"},  # a syntax error two levels down
    {"a.js": 'import { c } from "./deep/gone.js";\nexport const a = c;\n'},  # an import that does not resolve
    {"b.js": 'export { nope as b } from "./deep/c.js";\n'},  # a link error
])
def test_errors_are_reported_as_without_a_prefetch(tmp_path: Path, broken: dict[str, str]) -> None:
    root = write(tmp_path, {**GRAPH, **broken})
    with_prefetch = _error(root, _register("process-prefetch-errors"))
    assert with_prefetch == _error(root, "inprocess")  # file, line, column, frame and importer alike
    assert with_prefetch.get("loc") or with_prefetch.get("importer")


def test_no_prefetch_for_a_warm_import(tmp_path: Path) -> None:
    root = write(tmp_path / "app", GRAPH)
    evaluator = _register("process-prefetch-warm")

    async def imported(cache: Path) -> tuple[bool, bool]:
        async with Server(root=root, cache_dir=cache, environments={"cli": {"evaluator": evaluator}}) as server:
            environment = server.environments["cli"]
            cold = may_prefetch(environment)
            assert (await environment.import_module("/main.js")).total == 41
            return cold, may_prefetch(environment)  # after it: the graph is transformed in this process

    assert asyncio.run(imported(tmp_path / "cache")) == (True, False)
    assert asyncio.run(imported(tmp_path / "cache")) == (False, False)  # the transform cache holds the graph


def test_no_prefetch_where_a_users_plugin_would_hear_it(tmp_path: Path) -> None:
    root = write(tmp_path, GRAPH)
    loads: list[str] = []

    class Counting(Plugin):
        name = "counting"

        async def load(self, id: str, environment: Any) -> None:
            loads.append(id)

    async def main() -> None:
        async with _server(root, _register("process-prefetch-plugin"), [Counting()]) as server:
            environment = server.environments["cli"]
            assert not may_prefetch(environment)
            assert (await environment.import_module("/main.js")).total == 41
    asyncio.run(main())
    assert sorted(loads) == sorted(str(root / name) for name in GRAPH)  # once each


def test_an_import_whose_runtime_fails_to_boot_ends_what_the_prefetch_began(tmp_path: Path) -> None:
    root = write(tmp_path, GRAPH)
    evaluator = _register("process-prefetch-dead", command=[sys.executable, "-c", "import sys; sys.exit(3)"])

    async def main() -> None:
        async with _server(root, evaluator) as server:
            environment = server.environments["cli"]
            with pytest.raises(CrashError):
                await environment.import_module("/main.js")
            assert not environment.import_begun  # the next import begins its own, and checks files again
    asyncio.run(main())
