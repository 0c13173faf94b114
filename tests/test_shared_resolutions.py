"""Where only the built-in resolver can answer, the environment asks it without the plugin container
and remembers its answer per importer directory (Environment._resolve_shared). A user's plugin with
a resolve_id hook before the resolver still sees every (specifier, importer) it saw before, and the
built-in plugins that do answer some specifiers (TypeScript's `.js` -> `.ts`, `modrun:env`) still
answer them, whichever importer of a directory comes first."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from runner import LoadError, Plugin, Server
from tests.project_files import write

FILES = {
    "main.js": 'import { a } from "./lib/a.js";\nimport { b } from "./lib/b.js";\nexport const out = a + b;\n',
    "lib/a.js": 'import { v } from "./dep.js";\nexport const a = v;\n',
    "lib/b.js": 'import { v } from "./dep.js";\nexport const b = v * 10;\n',
    "lib/dep.js": "export const v = 2;\n",
}



async def imported(root: Path, url: str, plugins: list[Any] | None = None) -> Any:
    async with Server(root=root, cache_dir=False, plugins=plugins or []) as server:
        return await server.environments["ssr"].import_module(url)


class Seen(Plugin):
    """Passes on every resolution, and notes what it was asked."""

    name = "seen"

    def __init__(self, enforce: str | None = None) -> None:
        self.calls: list[tuple[str, str | None]] = []
        if enforce is not None:
            self.enforce = enforce  # type: ignore[assignment]

    def resolve_id(self, source: str, importer: str | None, environment: Any) -> str | None:
        self.calls.append((source, importer))
        return None


@pytest.mark.parametrize("enforce", [None, "pre"])
def test_a_plugin_before_the_resolver_sees_each_importer_of_a_directory(tmp_path: Path, enforce: str | None) -> None:
    root = write(tmp_path, FILES)
    seen = Seen(enforce)
    assert asyncio.run(imported(root, "/main.js", [seen])).out == 22
    lib = str(root / "lib")
    dep_calls = sorted(str(importer) for source, importer in seen.calls if source == "./dep.js")
    assert dep_calls == [f"{lib}/a.js", f"{lib}/b.js"]  # two importers, one directory: asked twice


def test_a_plugin_after_the_resolver_is_never_asked(tmp_path: Path) -> None:
    """The built-in resolver answers or raises (a file that is not there): a "post" plugin's resolve_id
    is never reached, and does not keep the resolver from answering alone."""
    root = write(tmp_path, {**FILES, "lib/b.js": 'import { v } from "./gone.js";\nexport const b = v;\n'})
    seen = Seen("post")
    with pytest.raises(LoadError, match="Cannot find module './gone.js'"):
        asyncio.run(imported(root, "/main.js", [seen]))
    assert seen.calls == []


@pytest.mark.parametrize("order", [("ts", "js"), ("js", "ts")])
def test_a_typescript_importer_and_a_javascript_one_in_a_directory_keep_their_own_answers(
        tmp_path: Path, order: tuple[str, str]) -> None:
    """`./x.js` names x.ts from a TypeScript file only: what one importer of the directory resolved
    first is not the other's answer."""
    root = write(tmp_path, {
        "lib/x.ts": "export const x: number = 1;\n",
        "lib/t.ts": 'export { x } from "./x.js";\n',
        "lib/j.js": 'export { x } from "./x.js";\n',
    })

    async def both() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with Server(root=root, cache_dir=False) as server:
            environment = server.environments["ssr"]
            for name in order:
                url = "/lib/t.ts" if name == "ts" else "/lib/j.js"
                try:
                    out[name] = (await environment.import_module(url)).x
                except LoadError as error:
                    out[name] = error
        return out

    out = asyncio.run(both())
    assert out["ts"] == 1
    error = out["js"]
    assert isinstance(error, LoadError) and error.code == "ERR_MODULE_NOT_FOUND"
    assert "Cannot find module './x.js'" in error.message and "j.js" in error.message


class Passing(Plugin):
    """A plugin whose resolve_id comes with its word that it passes over every specifier."""

    name = "passing"

    def resolve_id(self, source: str, importer: str | None, environment: Any) -> str | None:
        return None

    def passes(self, source: str, importer: str | None) -> bool:
        return True


class Changed(Passing):
    """Its resolve_id is its own: the inherited word is not for it."""

    name = "changed"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def resolve_id(self, source: str, importer: str | None, environment: Any) -> str | None:
        self.calls.append((source, importer))
        return None


def test_a_word_given_for_another_resolve_id_is_not_taken(tmp_path: Path) -> None:
    root = write(tmp_path, FILES)
    changed = Changed()
    assert asyncio.run(imported(root, "/main.js", [changed])).out == 22
    lib = str(root / "lib")
    dep_calls = sorted(str(importer) for source, importer in changed.calls if source == "./dep.js")
    assert dep_calls == [f"{lib}/a.js", f"{lib}/b.js"]  # asked for each importer, as before
