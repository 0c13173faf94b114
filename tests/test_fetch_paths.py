"""What the server does per module, checked by what it answers and what it asks its plugins: each
import edge is resolved once (the runner fetches dependencies by the urls the server gave it), the
root's boundary holds for links however they are cached."""

from __future__ import annotations

import asyncio
import os

import pytest

from runner import JSError, LoadError, Plugin, Server
from tests.project_files import write


def run(coroutine):
    return asyncio.run(coroutine)


class Watching(Plugin):
    """Sees every resolution request and resolves nothing itself."""

    name = "watching"

    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []

    def resolve_id(self, source, importer, environment):
        self.asked.append((source, importer))
        return None


def test_each_import_edge_is_resolved_once(tmp_path):
    root = write(tmp_path, {
        "main.js": 'import { a } from "./a.js";\nimport { b } from "./b.js";\nexport default a + b;\n',
        "a.js": 'import { c } from "./lib/c.js";\nexport const a = c + 1;\n',
        "b.js": 'import { c } from "./lib/c.js";\nexport { d } from "./lib/d.js";\nexport const b = c + 2;\n',
        "lib/c.js": "export const c = 10;\n",
        "lib/d.js": 'export * from "./c.js";\nexport const d = 4;\n',
    })
    watching = Watching()

    async def main():
        async with Server(root=root, cache_dir=False, plugins=[watching]) as server:
            env = server.environments["ssr"]
            assert (await env.import_module("/main.js")).default == 23
            fresh = await env.create_runner()  # a second runtime fetches the same urls
            from runner.rpc.exports import ModuleProxy

            assert (await ModuleProxy.load(fresh, "/main.js")).default == 23
            await fresh.close()
    run(main())
    main, a, b, c, d = (str(root / name) for name in ("main.js", "a.js", "b.js", "lib/c.js", "lib/d.js"))
    assert sorted(watching.asked, key=str) == sorted([
        ("/main.js", None), ("./a.js", main), ("./b.js", main), ("./lib/c.js", a), ("./lib/c.js", b),
        ("./lib/d.js", b), ("./c.js", d)], key=str)


def test_a_fetch_by_url_with_a_module_type_is_not_the_plain_module(tmp_path):
    root = write(tmp_path, {"main.js": 'import data from "./data.json";\nexport default data;\n',
                            "data.json": '{"x": 1}'})

    async def main():
        async with Server(root=root, cache_dir=False) as server:
            env = server.environments["ssr"]
            assert (await env.import_module("/main.js")).default == {"x": 1}
            as_text = await env.fetch_module("/data.json", None, {"attributes": {"type": "text"}})
            assert as_text["id"] == str(root / "data.json") + "?type=text" and '"{\\"x\\": 1}"' in as_text["code"]
    run(main())


@pytest.mark.parametrize("link", ["file", "directory"])
def test_links_out_of_the_root_are_refused(tmp_path, link):
    outside = write(tmp_path / "outside", {"secret.js": "export default 'secret';\n"})
    root = write(tmp_path / "app", {"inside.js": "export default 'inside';\n",
                                    "main.js": 'import v from "./inside.js";\nexport default v;\n'})
    if link == "file":
        os.symlink(outside / "secret.js", root / "linked.js")
        (root / "leak.js").write_text('import v from "./linked.js";\nexport default v;\n')
    else:
        os.symlink(outside, root / "linked")
        (root / "leak.js").write_text('import v from "./linked/secret.js";\nexport default v;\n')
    os.symlink(root / "inside.js", root / "alias.js")  # a link that stays inside is fine
    (root / "aliased.js").write_text('import v from "./alias.js";\nexport default v;\n')

    async def main():
        async with Server(root=root, cache_dir=False) as server:
            env = server.environments["ssr"]
            assert (await env.import_module("/main.js")).default == "inside"
            assert (await env.import_module("/aliased.js")).default == "inside"
            with pytest.raises((LoadError, JSError), match="outside the root"):
                await env.import_module("/leak.js")
    run(main())


def test_a_package_above_the_root_is_refused_naming_the_root_that_takes_it_in(tmp_path):
    write(tmp_path, {"node_modules/pkg/package.json": '{"name": "pkg", "main": "index.js"}',
                     "node_modules/pkg/index.js": "export default 'pkg';\n",
                     "sub/main.js": 'import v from "pkg";\nexport default v;\n'})

    async def main():
        async with Server(root=tmp_path / "sub", cache_dir=False) as server:
            with pytest.raises(LoadError) as caught:
                await server.environments["ssr"].import_module("/main.js")
            assert caught.value.code == "ERR_OUTSIDE_ROOT"
            assert caught.value.message.startswith(
                f"'pkg' resolves to {tmp_path.resolve() / 'node_modules/pkg/index.js'}, which is outside the root "
                f"{tmp_path.resolve() / 'sub'}: only modules inside the root (and its node_modules) can be imported "
                f"(it is in the node_modules of {tmp_path.resolve()}: a root there, such as `--root "
                f"{tmp_path.resolve()}`, takes it in)")
        async with Server(root=tmp_path, cache_dir=False) as server:
            assert (await server.environments["ssr"].import_module("/sub/main.js")).default == "pkg"
    run(main())
