"""Wrappers compiled ahead of the runtime (evaluators/compile_ahead.py): the text the host makes from a
module's code and key is the runtime's own request, every kind of it; a request the host did not guess
(a module started early) or whose text differs is compiled as before; errors are reported as before."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from evaluators import ahead_queue
from evaluators.compile_ahead import CompileAhead
from evaluators.compiled_code import CODE_CACHE
from evaluators.keyed_wrapper import wrapper_source
from evaluators.options import RuntimeOptions
from evaluators.quickjs_bytecode import _shapes, unavailable
from evaluators.quickjs_engine import QuickJSEngine
from runner import Server
from runner.errors import ModrunError
from runner.limits import Limits
from runner.rpc.code_keys import code_key
from runner.rpc.exports import ModuleProxy
from tests.project_files import write
from tests.test_code_keys import KEYED_PROJECT, compiled_result

# Every kind of wrapper: a generator (no top-level await, with imports or without), an async function
# (top-level await, with imports, its gate blanked, or without), an async generator (top-level await
# in a cycle: started early, which the host does not guess), and a CommonJS module (no key).
PROJECT = {
    **KEYED_PROJECT,
    "tla3.js": "import { seen } from './b.js';\nawait 1;\nexport const tla3 = seen + 1;\n",
    "plain.js": "export const plain = 'plain';\n",
    "entry.js": KEYED_PROJECT["entry.js"].replace(
        "export const result = {\n",
        "import { tla3 } from './tla3.js';\nimport { plain } from './plain.js';\n"
        "export const result = {\n  tla3, plain,\n"),
}

pytestmark = [pytest.mark.skipif(unavailable() is not None, reason=unavailable() or ""),
              pytest.mark.usefixtures("empty_code_cache")]


class Spy:
    """What the hook was told, and what each compile request got from the wrappers made ahead."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, idle: bool = True) -> None:
        self.submitted: list[str] = []
        self.taken: list[tuple[str, bool]] = []  # (wrapper key, found)
        submit, take, start = CompileAhead.submit, CompileAhead.take, CompileAhead.start

        def spy_submit(ahead: CompileAhead, key: str, code: str) -> None:
            self.submitted.append(key)
            submit(ahead, key, code)

        def spy_take(ahead: CompileAhead, key: str, source: str) -> bytes | None:
            code = take(ahead, key, source)
            self.taken.append((key, code is not None))
            return code

        def finished_start(ahead: CompileAhead) -> None:
            start(ahead)
            finish(ahead)

        monkeypatch.setattr(CompileAhead, "submit", spy_submit)
        monkeypatch.setattr(CompileAhead, "start", finished_start)
        monkeypatch.setattr(CompileAhead, "take", spy_take)
        # whether the machine is quiet is its own to say: here it is told
        monkeypatch.setattr(ahead_queue, "quiet", lambda before, after: idle)


def finish(ahead: CompileAhead) -> None:
    """Wait for the thread to have compiled what it was given: what the runtime then asks for is
    found made ahead (a request for one not yet begun has the runtime's thread compile it instead)."""
    deadline = time.monotonic() + 30
    with ahead._lock:
        while (ahead._todo or ahead._busy is not None) and time.monotonic() < deadline:
            ahead._lock.wait(0.05)


def import_entry(root: Path, store: Path) -> Any:
    async def main() -> Any:
        async with Server(root=root, cache_dir=store, environments={"ssr": {"evaluator": "inprocess"}}) as server:
            env = server.environments["ssr"]
            runner = await env.create_runner()
            try:
                return (await ModuleProxy.load(runner, "/entry.js")).result
            finally:
                await runner.close()

    return asyncio.run(main())


@pytest.fixture
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # the store's key


@pytest.mark.usefixtures("user_cache")
def test_the_runtime_reads_the_wrappers_made_ahead_but_one_started_early(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "app", PROJECT)
    expected = compiled_result(root)
    assert expected["tla3"] == 2 and expected["plain"] == "plain"
    spy = Spy(monkeypatch)
    assert import_entry(root, tmp_path / "cache") == expected
    es_modules = [name for name in PROJECT if name.endswith(".js")]
    # every ES module's code was told, the CommonJS module's not
    assert len(spy.submitted) == len(set(spy.submitted)) == len(es_modules)
    # each asked for once, with its source: all found made ahead but the module started early
    assert len(spy.taken) == len(es_modules)
    missed = [key for key, found in spy.taken if not found]
    assert [key.split(":")[1] for key in missed] == ["e"]
    # and a new process takes them all from the store by key, as after a compile of its own
    CODE_CACHE.clear()
    assert import_entry(root, tmp_path / "cache") == expected


@pytest.mark.usefixtures("user_cache")
def test_nothing_is_compiled_ahead_on_a_busy_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "app", PROJECT)
    expected = compiled_result(root)
    spy = Spy(monkeypatch, idle=False)  # the machine found busy
    assert import_entry(root, tmp_path / "cache") == expected
    assert spy.submitted and spy.taken and not any(found for _, found in spy.taken)


def test_a_wrapper_made_ahead_is_the_runtimes_own_text_and_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ahead_queue, "quiet", lambda before, after: True)
    monkeypatch.setattr(ahead_queue, "MIN_MODULES", 1)  # one module: a graph of one, made ahead all the same
    shapes = _shapes()
    ahead = CompileAhead(shapes)
    code = "const __vite_ssr_import_0__ = await __vite_ssr_import__(\"/a.js\");\nawait __vite_ssr_import_meta__;\n" \
           "__vite_ssr_exportName__(\"x\", () => x);\nlet x = 1;\n"
    gate = code.index("await __vite_ssr_import_meta__")
    module = {"code": code, "modrun": {"imports": ["/a.js"], "awaits": [code.index("await"), gate], "hasTLA": False}}
    key = code_key(module)  # type: ignore[arg-type]
    assert key is not None
    source = wrapper_source(shapes, key, code)
    assert source is not None
    # the runner's shape: a generator whose prologue's awaits are blanked and whose gate yields
    assert source.startswith("0,function*") and "     __vite_ssr_import__" in source
    assert "yield __vite_ssr_import_meta__;" in source and "await" not in source
    assert shapes.names("Kformat:l:" + key, source)  # what the host's key check takes as the key's wrapper
    for other in ("Kformat:e:" + key, "Kformat:l:" + key):
        ahead.submit(key, code)
        ahead.start()
        finish(ahead)
        # started otherwise (an "e" key), or another text: not this wrapper
        assert ahead.take(other, source.replace("x = 1", "x = 2")) is None
    ahead.submit(key, code)
    ahead.start()
    finish(ahead)
    made = ahead.take("Kformat:l:" + key, source)
    assert made is not None and b"__vite_ssr_exportName__" in made
    assert ahead.take("Kformat:l:" + key, source) is None  # handed out once


@pytest.mark.usefixtures("user_cache")
def test_a_syntax_error_is_reported_as_without_wrappers_made_ahead(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # an early error the transform does not see (a regular expression's flags): the thread's compile of it
    # fails, and the runtime's own compile reports it
    project = {"bad.js": "import './ok.js';\nconst twice = 1;\nexport const flags = /a/gg;\nexport default twice;\n",
               "ok.js": "export const ok = 1;\n",
               "entry.js": "import bad from './bad.js';\nexport const result = bad;\n"}

    def error(idle: bool, name: str) -> tuple[str, list[tuple[str, bool]]]:
        CODE_CACHE.clear()  # no wrapper of the run before is held: each run's are compiled
        root = write(tmp_path / name, project)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ahead_queue, "MIN_MODULES", 1)  # a graph of three, made ahead all the same
            spy = Spy(patch, idle=idle)
            with pytest.raises(ModrunError) as raised:
                import_entry(root, tmp_path / name / "cache")
        assert len(spy.submitted) == 3
        return str(raised.value).replace(str(root), "ROOT"), spy.taken

    made_ahead, taken = error(True, "ahead")
    # the engine's own message (the host places it where a user imports: test_compile_errors.py)
    assert made_ahead == "invalid regular expression flags"
    # the other two wrappers are read as the thread made them; bad.js's compile failed there and the
    # runtime's own compile reported it
    assert sorted(found for _, found in taken) == [False, True, True]
    assert error(False, "not")[0] == made_ahead


@pytest.mark.usefixtures("user_cache")
@pytest.mark.parametrize("limits", ({"cpu_ms": 60_000}, {"memory_mb": 512}, {"stack_kb": 2048}))
def test_a_runtime_with_limits_of_its_own_has_no_wrappers_made_ahead(tmp_path: Path, limits: dict[str, Any]) -> None:
    # its compiles stay on its thread, bounded by its limits, as before; and an engine whose host does
    # not transform its modules (the process evaluator's worker) has none either
    def ahead(host: bool = True, **given: Any) -> bool:
        options = RuntimeOptions(limits=Limits(**given), code_cache=str(tmp_path / "cache"))
        engine = QuickJSEngine(options, ahead=host)
        try:
            return engine.ahead is not None
        finally:
            engine.close()

    assert ahead() and not ahead(**limits) and not ahead(host=False)
