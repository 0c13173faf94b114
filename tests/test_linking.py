"""Linking at scale (runner/js/module_runner/linker.js, module_runner.js): re-export chains thousands of modules
deep, barrels of `export *`, and what the spec says about their names, in every evaluator.

How fast it is lives in bench/scaling.py; here, that deep and wide graphs load at all (nothing
in the runner recurses in proportion to the graph's depth) and give the spec's answers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from runner import LoadError, Server
from runner.rpc.exports import ModuleProxy
from tests.project_files import fetched, write

EVALUATORS = ("inprocess", "wasm", "process")


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def imported(root: Path, entry: str, evaluator: str = "inprocess") -> Any:
    async with Server(root=root, cache_dir=False,
                      environments={"ssr": {"evaluator": evaluator}}) as server:
        return await server.environments["ssr"].import_module(entry)


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_chain_of_named_re_exports_deeper_than_the_stack(tmp_path: Path, evaluator: str) -> None:
    depth = 1500  # linking and evaluating recursed per module before: a RangeError at about 1,000
    files = {f"c{i}.js": f"export {{ value }} from './c{i + 1}.js';\n" for i in range(depth)}
    files[f"c{depth}.js"] = "export const value = 'bottom';\n"
    files["entry.js"] = "import { value } from './c0.js';\nexport const got = value;\n"
    mod = run(imported(write(tmp_path, files), "/entry.js", evaluator))
    assert mod.got == "bottom"


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_chain_of_star_re_exports(tmp_path: Path, evaluator: str) -> None:
    depth = 1000
    files = {f"c{i}.js": f"export * from './c{i + 1}.js';\nexport const v{i} = {i};\n" for i in range(depth)}
    files[f"c{depth}.js"] = f"export const v{depth} = {depth};\nexport default 'not re-exported';\n"
    files["entry.js"] = (f"import {{ v{depth} }} from './c0.js';\nimport * as top from './c0.js';\n"
                         f"export const deepest = v{depth};\nexport const names = Object.keys(top);\n"
                         "export const sum = Object.values(top).reduce((a, b) => a + b, 0);\n")
    mod = run(imported(write(tmp_path, files), "/entry.js", evaluator))
    assert mod.deepest == depth
    assert mod.names == sorted(f"v{i}" for i in range(depth + 1))
    assert mod.sum == depth * (depth + 1) // 2


def test_a_barrel_keeps_the_spec_names(tmp_path: Path) -> None:
    files = {f"lib/f{i}.js": f"export function f{i}() {{ return {i}; }}\nexport default {i};\n" for i in range(300)}
    files["lib/clash1.js"] = "export const clash = 1;\nexport const same = 'x';\n"
    files["lib/clash2.js"] = "export const clash = 2;\nexport { same } from './clash1.js';\n"
    files["lib/own.js"] = "export const f7 = 'own';\n"
    files["lib/index.js"] = ("".join(f"export * from './f{i}.js';\n" for i in range(300))
                             + "export * from './clash1.js';\nexport * from './clash2.js';\n"
                             + "export { f7 } from './own.js';\n")
    files["entry.js"] = ("import * as lib from './lib/index.js';\nimport { f299, same, f7 } from './lib/index.js';\n"
                         "export const names = Object.keys(lib);\n"
                         "export const got = [f299(), same, f7, 'clash' in lib, 'default' in lib];\n")
    mod = run(imported(write(tmp_path, files), "/entry.js"))
    # `clash` is defined twice (not exported), `same` twice but by one binding (exported), an
    # explicit export beats the stars, and `default` never comes through `export *`.
    assert mod.got == [299, "x", "own", False, False]
    assert mod.names == sorted([f"f{i}" for i in range(300)] + ["same"])


def test_importing_a_conflicting_star_name_is_a_load_error(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "a.js": "export const x = 'a';\n", "b.js": "export const x = 'b';\n",
        "index.js": "export * from './a.js';\nexport * from './b.js';\n",
        "entry.js": "import { x } from './index.js';\nexport { x };\n",
    })
    with pytest.raises(LoadError, match="conflicting star exports for name 'x'"):
        run(imported(root, "/entry.js"))


def test_names_of_object_prototype_are_plain_names(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "a.js": "export const a = 1;\n",
        "b.js": "export const constructor = 'c';\nexport const toString = 't';\n",
        "index.js": "export * from './a.js';\nexport * from './b.js';\n",
        "entry.js": "import * as ns from './index.js';\nimport { constructor } from './index.js';\n"
                    "export const names = Object.keys(ns);\nexport const got = constructor;\n",
        "bad.js": "import { hasOwnProperty } from './a.js';\n",
    })
    mod = run(imported(root, "/entry.js"))
    assert mod.names == ["a", "constructor", "toString"]
    assert mod.got == "c"
    with pytest.raises(LoadError, match="does not provide an export named 'hasOwnProperty'"):
        run(imported(root, "/bad.js"))


def test_cyclic_star_exports_resolve_each_name_once(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "a.js": "export * from './b.js';\nexport const fromA = 'a';\nexport const both = 'a';\n",
        "b.js": "export * from './a.js';\nexport * from './c.js';\nexport const fromB = 'b';\n",
        "c.js": "export const fromC = 'c';\nexport const both = 'c';\n",
        "entry.js": "import * as a from './a.js';\nimport * as b from './b.js';\n"
                    "export const names = [Object.keys(a), Object.keys(b)];\nexport const both = [a.both, b.both];\n",
    })
    mod = run(imported(root, "/entry.js"))
    # From a, its own `both` shadows c's; from b, both reach it through different paths: ambiguous.
    assert mod.names == [["both", "fromA", "fromB", "fromC"], ["fromA", "fromB", "fromC"]]
    assert mod.both == ["a", None]


def test_star_names_of_an_evaluated_module_come_later(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "lib.js": "export const x = 1;\n",
        "index.js": "export * from './lib.js';\nexport const own = 2;\n",
        "late.js": "import { x } from './index.js';\nexport const got = x;\n",
        "entry.js": "import './index.js';\nexport async function later() { return (await import('./late.js')).got; }\n",
    })

    async def main() -> Any:
        async with Server(root=root, cache_dir=False) as server:
            mod = await server.environments["ssr"].import_module("/entry.js")
            return await mod.later()

    assert run(main()) == 1


def test_a_namespace_with_a_then_export_is_still_awaited(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "thenable.js": "export function then(resolve) { resolve('resolved by then'); }\n",
        "entry.js": "export async function loadIt() { return await import('./thenable.js'); }\n",
    })

    async def main() -> Any:
        async with Server(root=root, cache_dir=False) as server:
            mod = await server.environments["ssr"].import_module("/entry.js")
            return await mod.loadIt()

    assert run(main()) == "resolved by then"


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_concurrent_loads_that_share_modules_link_each_once(tmp_path: Path, evaluator: str) -> None:
    # Both loads wait for their wrappers from the host at once; whichever goes on first links the
    # modules they share (module_runner.js, link), and each module runs once, in the spec's order.
    files = {
        "shared.js": "import { deep } from './deep.js';\nglobalThis.log.push('shared');\nexport const v = deep + 1;\n",
        "deep.js": "globalThis.log.push('deep');\nexport const deep = 1;\n",
        "a.js": "import { v } from './shared.js';\nglobalThis.log.push('a');\nexport const got = 'a' + v;\n",
        "b.js": "import { v } from './shared.js';\nimport { deep } from './deep.js';\n"
                "globalThis.log.push('b');\nexport const got = 'b' + (v + deep);\n",
        "entry.js": "globalThis.log = [];\n"
                    "const [a, b] = await Promise.all([import('./a.js'), import('./b.js')]);\n"
                    "export const got = [a.got, b.got];\nexport const log = globalThis.log;\n",
    }
    root = write(tmp_path, files)

    async def twice() -> list[Any]:
        async with Server(root=root, cache_dir=False, environments={"ssr": {"evaluator": evaluator}}) as server:
            env = server.environments["ssr"]
            first = await env.import_module("/entry.js")
            # A fresh runtime of the same process: the host now has some wrappers compiled.
            runner = await env.create_runner()
            try:
                second = await ModuleProxy.load(runner, "/entry.js")
                return [(first.got, first.log), (second.got, second.log)]
            finally:
                await runner.close()

    for got, log in run(twice()):
        assert got == ["a2", "b3"]
        assert log == ["deep", "shared", "a", "b"]


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_exports_are_bound_whatever_module_code_does_to_the_builtins_used(tmp_path: Path, evaluator: str) -> None:
    # The runner defines export getters with Object.prototype.__defineGetter__, bound as it boots
    # (linker.js, defineGetter): module code that replaces or removes it later changes nothing.
    root = write(tmp_path, {
        "spoil.js": "Object.prototype.__defineGetter__ = () => { throw new Error('spoiled'); };\n"
                    "delete Object.prototype.__defineGetter__;\nexport const spoiled = true;\n",
        "counter.js": "import { spoiled } from './spoil.js';\nexport let count = 0;\n"
                      "export function bump() { count++; return spoiled; }\nexport const fixed = 'f';\n",
        "leaf.js": "export let leaf = 'before';\nleaf = 'after';\n",
        "entry.js": "import './spoil.js';\n"
                    "const { count, bump, fixed } = await import('./counter.js');\n"
                    "const counter = await import('./counter.js');\nbump();\n"
                    "const { leaf } = await import('./leaf.js');\n"
                    "export const got = [count, counter.count, fixed, leaf, '__defineGetter__' in Object.prototype];\n",
    })
    mod = run(imported(root, "/entry.js", evaluator))
    assert mod.got == [0, 1, "f", "after", False]


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_missing_name_is_reported_where_it_is_imported(tmp_path: Path, evaluator: str) -> None:
    # Imports reach the runner as lists (runner/rpc/sent_module.py): the error still names the
    # specifier and the import's position.
    root = write(tmp_path, {
        "dep.js": "export const there = 1;\n",
        "entry.js": "// line 1\nimport { there } from './dep.js';\n  import { nope } from './dep.js';\n"
                    "export default there;\n",
    })
    with pytest.raises(LoadError) as caught:
        run(imported(root, "/entry.js", evaluator))
    error = caught.value
    assert "The requested module './dep.js' does not provide an export named 'nope'" in str(error)
    assert error.loc is not None and (error.loc.line, error.loc.column) == (3, 24), error.loc
    assert error.frame is not None and "> 3 |   import { nope } from './dep.js';" in error.frame


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_an_ambiguous_name_has_a_code_frame_and_the_importer_chain(tmp_path: Path, evaluator: str) -> None:
    root = write(tmp_path, {
        "one.js": "export const x = 1;\n",
        "two.js": "export const x = 2;\n",
        "both.js": "export * from './one.js';\nexport * from './two.js';\n",
        "user.js": "import { x } from './both.js';\nexport default x;\n",
        "entry.js": "import './user.js';\n",
    })
    with pytest.raises(LoadError) as caught:
        run(imported(root, "/entry.js", evaluator))
    error = caught.value
    assert error.code == "ERR_LINK" and "conflicting star exports for name 'x'" in error.message
    assert error.message.endswith("importer chain: /entry.js -> /user.js")
    assert error.frame == "> 1 | import { x } from './both.js';\n    |                   ^\n  2 | export default x;"
    assert error.stack.endswith(error.frame)


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_metadata_and_maps_are_read_whatever_module_code_puts_on_the_builtins(tmp_path: Path, evaluator: str) -> None:
    # Exports sent as "local" / "var" and maps sent as JSON text are read as the runner's own data:
    # fields put on Object.prototype, or a JSON.parse replaced, before a module is imported change nothing.
    root = write(tmp_path, {
        "spoil.js": "Object.prototype.kind = 'indirect';\nObject.prototype.var = true;\n"
                    "Object.prototype.sources = ['/elsewhere.js'];\n"
                    "JSON.parse = () => { throw new Error('spoiled'); };\nexport const spoiled = true;\n",
        "dep.js": "export const one = 1;\n",
        "late.js": "import { one } from './dep.js';\n\n\n"
                   "export function fail() {\n  throw new Error('late ' + one);\n}\n"
                   "export let early = typeof before;\nexport var before = 2;\n",
        "entry.js": "import './spoil.js';\nconst late = await import('./late.js');\nlet stack = '';\n"
                    "try { late.fail(); } catch (error) { stack = String(error.stack); }\n"
                    "export const got = [late.early, late.before, stack];\n",
    })
    early, before, stack = run(imported(root, "/entry.js", evaluator)).got
    assert (early, before) == ("undefined", 2)
    assert "late.js:5:" in stack and "elsewhere" not in stack, stack


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_import_meta_is_made_for_every_module_that_reads_it(tmp_path: Path, evaluator: str) -> None:
    # Every module that names import.meta, before or after its gate, with or without imports, gets its own.
    root = write(tmp_path, {
        "plain.js": "export const plain = 1;\n",
        "late.js": "import { plain } from './plain.js';\nexport const where = () => [plain, import.meta.filename];\n",
        "alone.js": "export const dir = import.meta.dirname;\n",
        "entry.js": "import { where } from './late.js';\nimport { dir } from './alone.js';\n"
                    "export const got = [where(), dir.endsWith('/'), import.meta.url === import.meta.url];\n",
    })
    late, dir_slash, same = run(imported(root, "/entry.js", evaluator)).got
    assert late == [1, str(root / "late.js")] and dir_slash is False and same is True


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_import_meta_is_made_only_where_the_host_did_not_find_the_code_never_reads_it(
        tmp_path: Path, evaluator: str) -> None:
    # The host says which modules read import.meta nowhere but at their gate (`importMeta: false`); those
    # get none. Awaiting import.meta itself, as the gate does, is a read; so is a name the host cannot
    # place (a prologue that is not ASCII: the gate's offset counts UTF-16 units).
    root = write(tmp_path, {
        "dep.js": "export const one = 1;\n",
        "quiet.js": "import { one } from './dep.js';\nexport const quiet = one + 1;\n",
        "awaited.js": "import { one } from './dep.js';\nconst meta = await import.meta;\n"
                      "export const file = [one, meta.filename];\n",
        "wide.js": "import { one } from './d\u00e9p.js';\nexport const wide = [one, import.meta.filename];\n",
        "d\u00e9p.js": "export const one = 'é';\n",
        "entry.js": "import { quiet } from './quiet.js';\nimport { file } from './awaited.js';\n"
                    "import { wide } from './wide.js';\nexport const got = [quiet, file, wide];\n",
    })

    async def test() -> None:
        async with Server(root=root, cache_dir=False, environments={"ssr": {"evaluator": evaluator}}) as server:
            env = server.environments["ssr"]
            got = (await env.import_module("/entry.js")).got
            assert got == [2, [1, str(root / "awaited.js")], ["é", str(root / "wide.js")]]
            flags = {url: fetched(await env.fetch_module(url))["modrun"].get("importMeta")
                     for url in ("/dep.js", "/quiet.js", "/awaited.js", "/wide.js", "/entry.js")}
            assert flags == {"/dep.js": False, "/quiet.js": False, "/awaited.js": None, "/wide.js": None,
                             "/entry.js": False}

    run(test())
