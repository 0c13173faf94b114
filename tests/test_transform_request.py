"""transform_request: one transform at a time per module, run in its first caller's task (no task of
its own); waiters get its result or its error, and take the work over when that caller is cancelled."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest

from runner import LoadError, Plugin, Server
from tests.project_files import write


class SlowLoad(Plugin):
    """Serves virtual:slow after `gate` opens, counting its loads; `fail` makes the load throw."""

    name = "slow-load"

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.loads = 0
        self.fail = False

    def resolve_id(self, source, importer, environment):
        return "\0slow" if source == "virtual:slow" else None

    async def load(self, id, environment):
        if id != "\0slow":
            return None
        self.loads += 1
        await self.gate.wait()
        if self.fail:
            raise ValueError("the load failed")
        return f"export default {self.loads};\n"


def _run(root, body):
    plugin = SlowLoad()

    async def main():
        async with Server(root=root, cache_dir=False, plugins=[plugin]) as server:
            env = server.environments["ssr"]
            await body(env, plugin)
    asyncio.run(main())


def test_concurrent_requests_share_one_transform(tmp_path):
    async def body(env, plugin):
        first = asyncio.ensure_future(env.transform_request("virtual:slow"))
        second = asyncio.ensure_future(env.transform_request("virtual:slow"))
        await asyncio.sleep(0.01)
        assert plugin.loads == 1 and not first.done() and not second.done()
        plugin.gate.set()
        a, b = await asyncio.gather(first, second)
        assert a is b and "1" in a.code
        assert plugin.loads == 1
        assert env._transforms_in_flight == {}
    _run(write(tmp_path, {"main.js": "export default 1;\n"}), body)


def test_a_waiter_takes_over_when_the_first_caller_is_cancelled(tmp_path):
    async def body(env, plugin):
        owner = asyncio.ensure_future(env.transform_request("virtual:slow"))
        await asyncio.sleep(0.01)
        waiter = asyncio.ensure_future(env.transform_request("virtual:slow"))
        await asyncio.sleep(0.01)
        owner.cancel()
        await asyncio.sleep(0.01)
        assert owner.cancelled() and not waiter.done()
        assert plugin.loads == 2  # the waiter runs the transform itself
        plugin.gate.set()
        module = await waiter
        assert "2" in module.code
        assert env._transforms_in_flight == {}
    _run(write(tmp_path, {"main.js": "export default 1;\n"}), body)


def test_a_cancelled_waiter_leaves_the_transform_running(tmp_path):
    async def body(env, plugin):
        owner = asyncio.ensure_future(env.transform_request("virtual:slow"))
        await asyncio.sleep(0.01)
        waiter = asyncio.ensure_future(env.transform_request("virtual:slow"))
        await asyncio.sleep(0.01)
        waiter.cancel()
        await asyncio.sleep(0.01)
        assert waiter.cancelled() and not owner.done()
        plugin.gate.set()
        assert "1" in (await owner).code and plugin.loads == 1
    _run(write(tmp_path, {"main.js": "export default 1;\n"}), body)


def test_a_failure_reaches_every_caller_and_is_not_left_unretrieved(tmp_path):
    async def body(env, plugin):
        plugin.fail = True
        first = asyncio.ensure_future(env.transform_request("virtual:slow"))
        second = asyncio.ensure_future(env.transform_request("virtual:slow"))
        await asyncio.sleep(0.01)
        plugin.gate.set()
        results = await asyncio.gather(first, second, return_exceptions=True)
        assert all(isinstance(r, LoadError) and "the load failed" in str(r) for r in results)
        assert plugin.loads == 1
        # Alone: no one waits, and the loop must not report a future exception never retrieved.
        with warnings.catch_warnings(record=True):
            reported = []
            asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context))
            with pytest.raises(LoadError):
                await env.transform_request("virtual:slow")
            gc.collect()
            await asyncio.sleep(0)
            assert reported == []
    _run(write(tmp_path, {"main.js": "export default 1;\n"}), body)


AMBIGUOUS_ES_MODULES = [
    # ES modules in a package without "type": they mention CommonJS's names, so runner_format parses
    # them to decide, and hands that tree to the transform.
    "import { a } from './a.js';\n// module.exports is not used here\nexport const b = a + 'require';\n",
    "const exports = {};\nexport default function module() { return import('./x.js'); }\n",
    "import json from './data.json' with { type: 'json' };\nexport\n{ json as module };\n",  # repaired
    "export const 𝒳 = 'module';\nexport { 𝒳 as require };\nawait 0;\n",
]


@pytest.mark.parametrize("code", AMBIGUOUS_ES_MODULES)
def test_an_ambiguous_es_module_parsed_once_transforms_as_before(code):
    from runner.transform.ssr_transform import ssr_transform
    from runner.transform_request import runner_format, runner_meta

    entry = runner_format(code, "/app/m.js", "auto")
    alone = ssr_transform(code, "/app/m.js")  # parsed by itself
    assert entry == {"code": alone.code, "map": alone.map, "meta": runner_meta(alone),
                     "dynamic_deps": list(alone.dynamic_deps)}


def test_an_ambiguous_es_module_with_a_syntax_error_reports_it_as_before():
    from runner.errors import ParseError
    from runner.transform.ssr_transform import ssr_transform
    from runner.transform_request import runner_format

    code = "import { a } from './a.js';\nconst module = 1;\nexport const b = (a +;\n"
    with pytest.raises(ParseError) as alone:
        ssr_transform(code, "/app/m.js")
    with pytest.raises(ParseError) as parsed_once:
        runner_format(code, "/app/m.js", "auto")
    assert (str(parsed_once.value), parsed_once.value.loc, parsed_once.value.frame) == \
        (str(alone.value), alone.value.loc, alone.value.frame)


@pytest.mark.parametrize("size", [0, 1, 65_535, 65_536, 65_537, 200_000])
def test_a_module_file_is_read_whole_as_text_mode_reads_it(tmp_path, size):
    from runner.transform_request import read_source

    unit = "a\r\nb\rc\né𝒳\n"
    path = tmp_path / "m.js"
    path.write_bytes((unit * (size // len(unit.encode()) + 1)).encode()[:size])
    try:
        expected = path.read_text(encoding="utf-8")  # text mode: universal newlines
    except UnicodeDecodeError:  # cut inside a character: the read fails as the decode does
        with pytest.raises(LoadError) as error:
            read_source(str(path))
        assert error.value.code == "ERR_LOAD" and "it is not UTF-8 text (byte 0x" in error.value.message
        return
    assert read_source(str(path)).code == expected


def test_a_module_that_cannot_be_read_fails_as_open_reports_it(tmp_path):
    from runner.transform_request import read_source

    directory = tmp_path / "d.js"
    directory.mkdir()
    with pytest.raises(LoadError) as error:
        read_source(str(directory))
    assert (error.value.code, error.value.message) == \
        ("ERR_LOAD", f"cannot read {directory}: [Errno 21] Is a directory: '{directory}'")
    with pytest.raises(LoadError) as error:
        read_source(str(tmp_path / "missing.js"))
    assert (error.value.code, error.value.message) == \
        ("ERR_MODULE_NOT_FOUND", f"Cannot find module '{tmp_path / 'missing.js'}'")


def test_runner_meta_deps_one_per_specifier_and_type_in_source_order():
    """A dependency per (specifier, module type), each once, in source order, the plain one first where
    a plain import, a re-export or an `export *` of it asks for the module's code; also in a barrel,
    whose imports and exports are counted once each (not once per dependency)."""
    from runner.transform_request import runner_format

    code = "\n".join([
        'import a from "./a.js";',
        'import t from "./a.js" with { type: "text" };',
        'export { x } from "./b.js";',
        'import j from "./b.js" with { type: "json" };',
        'import k from "./c.js" with { type: "json" };',
        'export * from "./d.js";',
        'import "./a.js";',
        'import l from "./c.js" with { type: "json" };',
        'import e from "./e.js" with { type: "text" };',
        'export * from "./e.js";',
        'import f from "./f.js" with { type: "text" };',
        'import g from "./f.js";',
    ]) + "\n"
    deps = runner_format(code, "/project/m.js", "module")["meta"]["deps"]
    assert deps == ["./a.js", "./a.js\0text", "./b.js", "./b.js\0json", "./c.js\0json", "./d.js", "./e.js",
                    "./e.js\0text", "./f.js", "./f.js\0text"]
    barrel = "".join(f'export {{ f{i} }} from "./f{i % 300}.js";\nexport * from "./s{i % 7}.js";\n'
                     for i in range(600))
    deps = runner_format(barrel, "/project/index.js", "module")["meta"]["deps"]
    assert deps == [dep for i in range(300) for dep in (f"./f{i}.js", *((f"./s{i}.js",) if i < 7 else ()))]
