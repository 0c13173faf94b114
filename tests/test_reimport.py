"""Importing again a module a runtime has evaluated (runner/js/host_api.js: answered at once, with the
export names kept from the first listing): the same names, the values as they are now, and a module
whose evaluation failed fails again with the same error."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from runner import Server
from runner.errors import CrashError
from runner.rpc.exports import ModuleProxy
from tests.project_files import write

PROJECT = {
    "lib.js": "export let count = 0;\nexport function bump() { count++; }\n",
    "entry.js": "export * from './lib.js';\nexport const label = 'entry';\n",
    "broken.js": "import './lib.js';\nthrow new Error('broken at load');\n",
    "late1.js": "import './late2.js';\nexport const one = 1;\n",
    "late2.js": "import { one } from './late1.js';\nawait 0;\nthrow new Error('late ' + one);\n",
}


def run(root: Path, steps: Any) -> Any:
    async def main() -> Any:
        async with Server(root=root, cache_dir=False) as server:
            runner = await server.environments["ssr"].create_runner()
            try:
                return await steps(runner)
            finally:
                await runner.close()

    return asyncio.run(main())


def test_an_evaluated_module_imported_again_lists_the_same_names_and_its_values_now(tmp_path: Path) -> None:
    root = write(tmp_path, PROJECT)

    async def steps(runner: Any) -> Any:
        first = await ModuleProxy.load(runner, "/entry.js")
        await runner.call("/entry.js", ["bump"], [])
        again = await ModuleProxy.load(runner, "/entry.js")
        return first, again

    first, again = run(root, steps)
    assert first.exports == again.exports == ["bump", "count", "label"]  # the star export's names too
    assert (first.count, again.count, again.label) == (0, 1, "entry")


@pytest.mark.parametrize(("entry", "message"), [
    ("/broken.js", "broken at load"),
    ("/late1.js", "one is not initialized"),  # late2.js, started early in the cycle, reads it
    ("/late2.js", "late 1"),  # late1.js ran first
])
def test_a_module_whose_evaluation_failed_fails_again_with_the_same_error(tmp_path: Path, entry: str,
                                                                        message: str) -> None:
    root = write(tmp_path, PROJECT)

    async def steps(runner: Any) -> list[str]:
        errors = []
        for url in (entry, entry, "/late2.js" if entry == "/late1.js" else entry):
            with pytest.raises(Exception) as failed:
                await ModuleProxy.load(runner, url)
            errors.append(str(failed.value))
        return errors

    errors = run(root, steps)
    assert len(set(errors)) == 1, errors
    assert message in errors[0]


def test_closing_an_in_process_runtime_frees_its_engine_then_and_a_closed_one_says_so(tmp_path: Path) -> None:
    """The engine is let go by close(), not whenever the last reference to the runner goes (a fresh
    runtime's import would pay for freeing the one before it): nothing of it holds the context after."""
    root = write(tmp_path, PROJECT)

    async def main() -> tuple[int, int, str]:
        async with Server(root=root, cache_dir=False) as server:
            runner = await server.environments["ssr"].create_runner()
            await ModuleProxy.load(runner, "/entry.js")
            context = runner.transport.quickjs.context  # type: ignore[attr-defined]
            before = sys.getrefcount(context)
            await runner.close()
            after = sys.getrefcount(context)
            with pytest.raises(CrashError) as closed:
                await runner.call("/entry.js", ["bump"], [])
            return before, after, str(closed.value)

    before, after, message = asyncio.run(main())
    assert after == 2 < before  # this test's own name and getrefcount's argument: freed once they go
    assert "no longer available" in message
