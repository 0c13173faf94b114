"""The Python API: Server, environments, plugins, module graph, fetch_module, exports proxy,
limits, and the synchronous facade — against real QuickJS-ng."""

from __future__ import annotations

import asyncio
import json

import pytest

from runner import JSError, JSFunction, LimitError, LoadError, Plugin, Server, SyncServer, UsageError
from tests.project_files import write


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def project(tmp_path):
    return write(tmp_path / "app", {
        "src/main.js": (
            'import { counter, bump } from "./state.js";\n'
            'import config from "./config.json";\n'
            "export const settings = { name: config.name, tags: [1, 2] };\n"
            "export const api = { greet(who) { return `hi ${who} from ${this.prefix}`; }, prefix: 'api' };\n"
            "export function next() { bump(); return counter; }\n"
            "export { counter };\n"
            "export default function render(path) { return { path, count: counter }; }\n"
        ),
        "src/state.js": "export let counter = 0;\nexport function bump() { counter += 1; }\n",
        "src/config.json": json.dumps({"name": "demo"}),
    })


def test_import_and_call(project, tmp_path):
    async def main():
        async with Server(root=project, cache_dir=tmp_path / "cache") as server:
            mod = await server.environments["ssr"].import_module("/src/main.js")
            assert mod.exports == ["api", "counter", "default", "next", "settings"]
            assert mod.settings == {"name": "demo", "tags": [1, 2]}
            assert isinstance(mod.default, JSFunction)
            assert await mod.default("/x") == {"path": "/x", "count": 0}
            assert await mod.next() == 1
            assert mod.counter == 0  # attributes are the snapshot taken at import
            assert await mod.get("counter") == 1  # a live binding, read again
            assert await mod.api["greet"]("ada") == "hi ada from api"  # methods keep their `this`
            with pytest.raises(AttributeError, match="no export named 'missing'"):
                _ = mod.missing
    run(main())


def test_errors_are_exceptions_with_mapped_stacks(tmp_path):
    root = write(tmp_path, {"a.js": 'import { check } from "./b.js";\nexport const go = (v) => check(v);\n',
                            "b.js": ("export function check(v) {\n"
                                     "  if (v < 0) throw new RangeError(`negative: ${v}`);\n  return v;\n}\n")})

    async def main():
        async with Server(root=root, cache_dir=False) as server:
            mod = await server.environments["ssr"].import_module("/a.js")
            with pytest.raises(JSError) as caught:
                await mod.go(-1)
            error = caught.value
            assert (error.name, error.message) == ("RangeError", "negative: -1")
            assert f"{root}/b.js:2:" in error.stack and f"{root}/a.js:2:" in error.stack
            assert await mod.go(3) == 3  # the runtime is still usable after a JS error
    run(main())


def test_load_errors(tmp_path):
    root = write(tmp_path, {"bad.js": "export const x = ;\n", "imp.js": 'import "./nope.js";\n'})

    async def main():
        async with Server(root=root, cache_dir=False) as server:
            env = server.environments["ssr"]
            with pytest.raises(LoadError) as caught:
                await env.import_module("/bad.js")
            assert caught.value.name == "SyntaxError" and caught.value.loc.line == 1
            with pytest.raises(LoadError, match="Cannot find module './nope.js' imported from"):
                await env.import_module("/imp.js")
    run(main())


def test_cpu_limit_discards_the_runtime_and_the_next_import_gets_a_fresh_one(tmp_path):
    root = write(tmp_path, {"spin.js": "export function spin() { for (;;) {} }\nexport const ok = () => 'ok';\n"})

    async def main():
        async with Server(root=root, cache_dir=False,
                          environments={"edge": {"limits": {"cpu_ms": 100}}}) as server:
            env = server.environments["edge"]
            mod = await env.import_module("/spin.js")
            with pytest.raises(LimitError) as caught:
                await mod.spin()
            assert caught.value.limit == "cpu" and caught.value.kind == "limit"
            fresh = await env.import_module("/spin.js")
            assert await fresh.ok() == "ok"
    run(main())


def test_memory_limit(tmp_path):
    root = write(tmp_path, {
        "grow.js": "export function grow() { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }\n"})

    async def main():
        async with Server(root=root, cache_dir=False, environments={"x": {"limits": {"memory_mb": 16}}}) as server:
            mod = await server.environments["x"].import_module("/grow.js")
            with pytest.raises(LimitError) as caught:
                await mod.grow()
            assert caught.value.limit == "memory"
    run(main())


def test_console_goes_to_the_sink(tmp_path):
    root = write(tmp_path, {"log.js": "console.log('a', { b: [1, 'c'] });\nconsole.warn('careful');\nexport {};\n"})
    lines: list[tuple[str, str]] = []

    async def main():
        async with Server(root=root, cache_dir=False, on_console=lambda level, text: lines.append((level, text))) as s:
            await s.environments["ssr"].import_module("/log.js")
    run(main())
    assert lines == [("log", "a { b: [ 1, 'c' ] }"), ("warn", "careful")]


def test_plugins_resolve_load_transform_and_apply(tmp_path):
    root = write(tmp_path, {"main.js": 'import msg from "virtual:greeting";\nexport default msg + "!";\n'})
    order: list[str] = []

    class Greeting(Plugin):
        name = "greeting"

        def resolve_id(self, source, importer, environment):
            return "\0greeting" if source == "virtual:greeting" else None

        async def load(self, id, environment):
            return 'export default "hello"' if id == "\0greeting" else None

    class Shout(Plugin):
        name = "shout"
        enforce = "post"

        def transform(self, code, id, environment):
            order.append("post")
            return code.replace('"hello"', '"HELLO"') if id == "\0greeting" else None

    class Early(Plugin):
        name = "early"
        enforce = "pre"

        def transform(self, code, id, environment):
            order.append("pre")

    class Elsewhere(Plugin):
        name = "elsewhere"

        def apply(self, environment):
            return environment.name == "other"

        def transform(self, code, id, environment):
            raise AssertionError("must not run in this environment")

    async def main():
        async with Server(root=root, cache_dir=False, plugins=[Shout(), Greeting(), Early(), Elsewhere()]) as server:
            mod = await server.environments["ssr"].import_module("/main.js")
            assert mod.default == "HELLO!"
    run(main())
    assert order[:2] == ["pre", "post"]


def test_a_failing_plugin_is_a_load_error_naming_it(tmp_path):
    root = write(tmp_path, {"main.js": "export default 1;\n"})

    class Broken(Plugin):
        name = "broken"

        def transform(self, code, id, environment):
            raise ValueError("oops")

    async def main():
        async with Server(root=root, cache_dir=False, plugins=[Broken()]) as server:
            with pytest.raises(LoadError, match=r"\[plugin broken\] transform failed .*oops"):
                await server.environments["ssr"].import_module("/main.js")
    run(main())


def test_virtual_modules_and_module_types(tmp_path):
    root = write(tmp_path, {"main.js": (
        'import conf from "virtual:conf";\nimport text from "./note.txt" with { type: "text" };\n'
        'import bytes from "./note.txt" with { type: "bytes" };\n'
        "export default [conf.debug, text, Array.from(bytes), Object.isFrozen(bytes) || bytes.buffer.immutable];\n"),
        "note.txt": "hi\n"})

    async def main():
        virtual = {"virtual:conf": "export default {debug: true}"}
        async with Server(root=root, cache_dir=False, virtual_modules=virtual) as s:
            mod = await s.environments["ssr"].import_module("/main.js")
            assert mod.default == [True, "hi\n", [104, 105, 10], True]
    run(main())


def test_fetch_module_and_module_graph(project):
    async def main():
        async with Server(root=project, cache_dir=False) as server:
            env = server.environments["ssr"]
            result = await env.fetch_module("/src/main.js")
            assert result["id"] == str(project / "src/main.js") and result["url"] == "/src/main.js"
            assert "sourceMappingURL=data:application/json;base64," in result["code"]  # Vite's inline map
            assert result["modrun"]["resolved"] == {"./state.js": "/src/state.js", "./config.json": "/src/config.json"}
            assert await env.fetch_module("/src/main.js", None, {"cached": True}) == {"cache": True}
            main_node = env.module_graph.get_module_by_url("/src/main.js")
            state = env.module_graph.get_module_by_url("/src/state.js")
            assert state in main_node.imported_modules and main_node in state.importers
            relative = await env.fetch_module("./state.js", str(project / "src/main.js"), {"inlineSourceMap": False})
            assert relative["url"] == "/src/state.js" and json.loads(relative["map"])["sources"]  # as JSON text
            first, second = await asyncio.gather(env.transform_request("/src/state.js"),
                                                 env.transform_request("/src/state.js"))
            assert first is second  # deduped while in flight, cached by content
    run(main())


def test_node_modules_resolution_with_exports_conditions(tmp_path):
    root = write(tmp_path, {
        "main.js": 'import { where } from "pkg";\nimport extra from "pkg/extra";\nexport default [where, extra];\n',
        "node_modules/pkg/package.json": json.dumps({
            "name": "pkg", "main": "cjs.js",
            "exports": {".": {"node": "./node.js", "import": "./esm.js", "default": "./cjs.js"},
                        "./extra": "./lib/extra.js"}}),
        "node_modules/pkg/esm.js": 'export const where = "esm";\n',
        "node_modules/pkg/node.js": 'export const where = "node";\n',
        "node_modules/pkg/lib/extra.js": "export default 42;\n",
    })

    async def main():
        async with Server(root=root, cache_dir=False) as server:
            mod = await server.environments["ssr"].import_module("/main.js")
            assert mod.default == ["esm", 42]
    run(main())


def test_bad_configuration_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="unknown profile"):
        Server(root=tmp_path, environments={"x": {"profile": "deno"}})
    with pytest.raises(UsageError, match="unknown option"):
        Server(root=tmp_path, environments={"x": {"evaluater": "wasm"}})
    with pytest.raises(UsageError, match="positive number"):
        Server(root=tmp_path, environments={"x": {"limits": {"cpu_ms": -5}}})
    with pytest.raises(UsageError, match="not a directory"):
        Server(root=tmp_path / "nope")


def test_sync_server(project):
    with SyncServer(root=project, cache_dir=False) as server:
        mod = server.environments["ssr"].import_module("/src/main.js")
        assert mod.default("/y") == {"path": "/y", "count": 0}
        assert mod.api["greet"]("bo") == "hi bo from api"
        assert mod.settings["tags"] == [1, 2]
