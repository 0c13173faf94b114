"""Wrappers compiled ahead for the wasm evaluator (evaluators/wasm/wrappers.py `WasmCompiler.ahead`): the
helper thread compiles the host's own transforms, in its compiler guest, once a cold sandbox is handed its
graph, and the sandbox, sent keys instead of code, reads them by key; a module started early, or a request
with another text, is compiled as before, errors are reported as before, and a warm run or a runtime with
limits of its own has none made ahead."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from evaluators import ahead_queue
from evaluators.ahead_queue import AheadQueue
from evaluators.compiled_code import CODE_CACHE, CompiledCode
from evaluators.keyed_wrapper import wrapper_source
from evaluators.options import RuntimeOptions
from evaluators.quickjs_bytecode import unavailable
from evaluators.wasm import wrappers
from evaluators.wasm.evaluator import WasmTransport
from evaluators.wasm.wrappers import WasmCompiler
from runner.errors import ModrunError
from runner.limits import Limits
from runner.rpc.code_keys import code_key
from tests.project_files import write
from tests.test_code_keys import KEYED_PROJECT, compiled_result, imports
from tests.test_compile_ahead import PROJECT
from tests.test_process_ahead import import_entry

pytestmark = [pytest.mark.skipif(unavailable() is not None, reason=unavailable() or ""),
              pytest.mark.usefixtures("empty_code_cache", "user_cache")]


@pytest.fixture
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # the store's key


class Spy:
    """The modules handed to the compiler ahead, and what each compile request got from them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.handed: list[str] = []
        self.taken: list[tuple[str, bool]] = []  # (wrapper key, found)
        ahead, take_made = WasmCompiler.ahead, WasmCompiler._take_made

        def spy_ahead(compiler: WasmCompiler, sandbox: Any, modules: Any) -> None:
            self.handed += modules
            ahead(compiler, sandbox, modules)

        def spy_take_made(compiler: WasmCompiler, key: str, source: str) -> bytes | None:
            made = take_made(compiler, key, source)
            self.taken.append((key, made is not None))
            return made

        monkeypatch.setattr(WasmCompiler, "ahead", spy_ahead)
        monkeypatch.setattr(WasmCompiler, "_take_made", spy_take_made)
        monkeypatch.setattr(wrappers, "_compilers", {})  # a compiler of its own: nothing made by another test


def test_the_sandbox_reads_the_wrappers_made_ahead_but_one_started_early(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "app", PROJECT)
    expected = compiled_result(root)
    spy = Spy(monkeypatch)
    # made ahead on a busy machine too: the compile service takes a second core whatever the load
    monkeypatch.setattr(ahead_queue, "quiet", lambda before, after: False)
    assert import_entry(root, tmp_path / "cache", "wasm") == expected
    es_modules = [name for name in PROJECT if name.endswith(".js")]
    # every ES module's code was handed over with the graph, the CommonJS module's not
    assert len(spy.handed) == len(set(spy.handed)) == len(es_modules)
    # each asked for by key, all found made ahead but the module started early, whose code the runner then
    # fetched and asked with (compiled as before)
    assert len(spy.taken) == len(es_modules) + 1
    assert [key.split(":")[1] for key, found in spy.taken if not found] == ["e", "e"]
    # and a new process takes them all from the store by key, as after a compile of its own: none made ahead
    CODE_CACHE.clear()
    spy.taken.clear()
    spy.handed.clear()
    assert import_entry(root, tmp_path / "cache", "wasm") == expected
    assert not spy.taken and not spy.handed


def test_a_cold_sandbox_is_sent_keys_alone_and_fetches_only_the_code_of_a_module_started_early(
        tmp_path: Path) -> None:
    root = write(tmp_path / "app", KEYED_PROJECT)
    expected = compiled_result(root)
    [(result, answers, asked)] = imports(root, 1, "wasm", cache_dir=tmp_path / "cache")
    assert result == expected
    # code only for the CommonJS module, which has no key
    assert [answer["url"] for answer in answers if "code" in answer] == ["/c.cjs"]
    # and the module started early (top-level await in a cycle), whose wrapper is not the one made ahead
    [[key]] = asked
    assert key.split(":")[1] == "t"  # (its top-level await)


def test_a_wrapper_made_ahead_answers_its_own_text_and_no_other(tmp_path: Path) -> None:
    from evaluators.wasm.engine import shared_engine

    store = str(tmp_path / "cache")  # (with a store every wrapper is compiled the first time it is seen)
    options = RuntimeOptions(code_cache=store)
    engine = shared_engine()
    compiler = WasmCompiler(engine, engine.snapshot(WasmTransport.runtime_config(options)))
    code = "__vite_ssr_exportName__(\"x\", () => x);\nlet x = 1;\n"
    module = {"code": code, "modrun": {"imports": [], "awaits": [], "hasTLA": False}}
    key = code_key(module)  # type: ignore[arg-type]
    assert key is not None
    source = wrapper_source(compiler._shapes(), key, code)
    assert source is not None
    compiled: list[list[str]] = []
    compile_all = compiler._compile_all

    def spy_compile_all(sources: list[str]) -> Any:
        compiled.append(sources)
        return compile_all(sources)

    compiler._compile_all = spy_compile_all  # type: ignore[method-assign]
    sandbox, other_sandbox = object(), object()  # (the sandboxes the batches are for: only compared)
    for other in (f"Kformat:e:{key}\n{source}", f"Kformat:l:{key}\n{source.replace('x = 1', 'x = 2')}"):
        compiler.ahead(sandbox, {key: code})  # type: ignore[arg-type]
        CODE_CACHE.clear()
        [found], _ = compiler.bytecode([other], CompiledCode(CODE_CACHE, store))
        # started otherwise (an "e" key): compiled on request; another text is not the key's wrapper at all
        assert compiled.pop() == ([source] if ":e:" in other else []) and (found is not None) == (":e:" in other)
    for request in (f"Kformat:l:{key}\n{source}", f"Kformat:l:{key}"):  # with its source, or by key alone
        compiler.ahead(sandbox, {key: code})  # type: ignore[arg-type]
        CODE_CACHE.clear()
        [found], _ = compiler.bytecode([request], CompiledCode(CODE_CACHE, store))
        assert compiled.pop() == [] and found is not None and b"__vite_ssr_exportName__" in found
        assert compiler._take_made(f"Kformat:l:{key}", source) is None  # handed out once
    compiler.ahead(sandbox, {key: code})  # type: ignore[arg-type]
    [found], _ = compiler.bytecode([f"Kformat:e:{key}"], CompiledCode(CODE_CACHE, None))
    assert found is None  # started otherwise, by key alone: undefined (the runner fetches the code)
    # another sandbox's requests do not finish (nor compile) a batch made ahead for one
    module["code"] = code = code.replace("x = 1", "x = 3")
    request = f"Kformat:l:{code_key(module)}"  # type: ignore[arg-type]
    compiler.ahead(sandbox, {request.partition(":l:")[2]: code})  # type: ignore[arg-type]
    [found], _ = compiler.bytecode([request], CompiledCode(CODE_CACHE, None), other_sandbox)  # type: ignore[arg-type]
    assert found is None and compiler._ahead is not None
    [found], _ = compiler.bytecode([request], CompiledCode(CODE_CACHE, None), sandbox)  # type: ignore[arg-type]
    assert found is not None and compiler._ahead is None


def test_a_syntax_error_is_reported_as_without_wrappers_made_ahead(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # an early error the transform does not see (a regular expression's flags): the helper's compile of it
    # fails, and the sandbox's own compile reports it
    project = {"bad.js": "import './ok.js';\nconst twice = 1;\nexport const flags = /a/gg;\nexport default twice;\n",
               "ok.js": "export const ok = 1;\n",
               "entry.js": "import bad from './bad.js';\nexport const result = bad;\n"}

    def error(ahead: bool, name: str) -> tuple[str, list[tuple[str, bool]]]:
        CODE_CACHE.clear()  # no wrapper of the run before is held: each run's are compiled
        root = write(tmp_path / name, project)
        with pytest.MonkeyPatch.context() as patch:
            spy = Spy(patch)
            if not ahead:  # none made: every key answered undefined, and every wrapper compiled as before
                patch.setattr(WasmCompiler, "ahead", lambda compiler, sandbox, modules: None)
            with pytest.raises(ModrunError) as raised:
                import_entry(root, tmp_path / name / "cache", "wasm")
        assert len(spy.handed) == (3 if ahead else 0)
        return str(raised.value).replace(str(root), "ROOT"), spy.taken

    made_ahead, taken = error(True, "ahead")
    assert made_ahead == "invalid regular expression flags"
    # the other two wrappers are read as the helper made them; bad.js's failed there, so its key was answered
    # undefined and the runner asked with its code, compiled again and reported as without
    assert sorted(found for _, found in taken) == [False, True, True]
    assert error(False, "not")[0] == made_ahead


@pytest.mark.parametrize("limits", ({"cpu_ms": 60_000}, {"memory_mb": 512}, {"stack_kb": 2048}))
def test_a_sandbox_with_limits_of_its_own_or_no_store_has_no_wrappers_made_ahead(tmp_path: Path,
                                                                                 limits: dict[str, Any]) -> None:
    # its compiles stay charged to it, bounded by its limits, as before
    def ahead(cache: bool = True, **given: Any) -> bool:
        options = RuntimeOptions(limits=Limits(**given), code_cache=str(tmp_path / "cache") if cache else None)
        transport = WasmTransport(options)
        try:
            return transport.on_code is not None
        finally:
            asyncio.run(transport.close())

    assert ahead() and not ahead(**limits) and not ahead(cache=False)


@pytest.mark.parametrize("modules", (ahead_queue.MIN_MODULES, 1))
def test_an_ungated_queue_hands_over_every_graph_on_a_busy_machine(monkeypatch: pytest.MonkeyPatch,
                                                                   modules: int) -> None:
    monkeypatch.setattr(ahead_queue, "quiet", lambda before, after: False)
    queued = {f"key{n}": f"code{n}" for n in range(modules)}
    for gated, handed in ((True, {}), (False, queued)):
        queue = AheadQueue(gated)
        for key, code in queued.items():
            queue.submit(key, code)
        assert queue.take() == handed
