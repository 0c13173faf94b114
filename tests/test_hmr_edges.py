"""HMR at its edges: a save the watcher sees in two bursts (truncated, then written) is applied once,
with its final text; the watchfiles source (used where inotify is not) applies edits too; accepted
specifiers are served as urls with the source map kept true. Waits are hang guards only."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from runner.hmr import watcher
from tests.project_files import fetched
from tests.test_hmr import EVALUATORS, project, run

FILES = {
    "dep.js": "export const value = 1;\n",
    "main.js": 'import { value } from "./dep.js";\nlet current = value;\nexport const read = () => current;\n'
               'export const seen = [];\n'
               'import.meta.hot.accept("./dep.js", (mod) => { current = mod.value; seen.push(mod.value); });\n',
}


def test_a_save_seen_in_two_bursts_applies_once_with_its_final_text(tmp_path: Path) -> None:
    async def main() -> None:
        async with project(tmp_path, FILES) as p:
            main = await p.env.import_module("/main.js")
            with open(p.root / "dep.js", "w") as file:  # truncated: the watcher sees an empty file
                file.flush()
                await asyncio.sleep(0.03)  # longer than a burst: the truncation is a burst of its own
                file.write("export const value = 2;\n")
            report = await p.report()
            assert report.type == "update" and report.errors == [] and report.updated == ["/dep.js via /main.js"]
            assert await main.read() == 2
            # The write's own events found the file as the pass had read it: nothing more was sent.
            report = await p.edit("dep.js", "export const value = 3;\n")
            assert report.type == "update" and await main.read() == 3
            assert await main.get("seen") == [2, 3]
    run(main())


def _out_of_watches(root: Path) -> None:
    raise OSError(28, "inotify watch limit reached")


@pytest.mark.parametrize("inotify", [None, _out_of_watches], ids=["no-inotify", "inotify-fails"])
def test_the_watchfiles_source_applies_edits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inotify: Any) -> None:
    monkeypatch.setattr(watcher, "InotifySource", inotify)

    async def main() -> None:
        async with project(tmp_path, FILES) as p:
            main = await p.env.import_module("/main.js")
            assert p.server.watcher is not None and p.server.watcher._source is None
            report = await p.edit("dep.js", "export const value = 5;\n")
            assert report.type == "update" and report.errors == []
            assert await main.read() == 5
    run(main())


def test_accepted_specifiers_are_served_as_urls_and_stacks_still_point_at_the_source(tmp_path: Path) -> None:
    # "./dep.js" is served as "/dep.js" (what a runner that resolves nothing needs, tested with
    # Vite's own in test_hmr_vite_runner.py); the code after it on the line moves, and the map with it.
    main_js = ('import { value } from "./dep.js"; import.meta.hot.accept(["./dep.js"], () => {}); '
               'export const boom = () => { throw new Error("x" + value); };\n')

    async def main() -> None:
        async with project(tmp_path, {"dep.js": "export const value = 1;\n", "main.js": main_js}) as p:
            served = fetched(await p.env.fetch_module("/main.js", None, {}))
            assert 'accept(["/dep.js"]' in served["code"] and "./dep.js\"]" not in served["code"]
            main = await p.env.import_module("/main.js")
            with pytest.raises(Exception) as raised:
                await main.boom()
            stack = getattr(raised.value, "stack", "")
            assert f"main.js:1:{main_js.index('value)') + 1})" in stack, stack
            report = await p.edit("dep.js", "export const value = 2;\n")
            assert report.updated == ["/dep.js via /main.js"]
    run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_only_modules_that_use_import_meta_hot_get_a_hot_context(tmp_path: Path, evaluator: str) -> None:
    async def main() -> None:
        async with project(tmp_path, {
            "plain.js": 'const meta = import.meta;\nexport const has = "hot" in meta;\n',
            "dep.js": 'import.meta.hot.on("test:ping", () => { globalThis.pings = (globalThis.pings || 0) + 1; });\n'
                      "export const v = 1;\n",
            "main.js": 'import { v } from "./dep.js";\nimport { has } from "./plain.js";\n'
                       'export const hot = typeof import.meta.hot;\nexport const plainHas = has;\n'
                       'import.meta.hot.accept("./dep.js", () => {});\n'
                       "export const pings = () => globalThis.pings || 0;\n",
        }, evaluator) as p:
            main_sent = fetched(await p.env.fetch_module("/main.js", None, {}))
            plain_sent = fetched(await p.env.fetch_module("/plain.js", None, {}))
            assert main_sent["modrun"].get("hot") is True and "hot" not in plain_sent["modrun"]
            main = await p.env.import_module("/main.js")
            assert (main.hot, main.plainHas) == ("object", False)
            p.env.hot.send("test:ping", None)
            await p.env.hot.flush()
            assert await main.pings() == 1
            # dep.js stops using import.meta.hot: its old listener goes with its old instance.
            assert (await p.report()).type == "custom"
            report = await p.edit("dep.js", "export const v = 2;\n")
            assert report.updated == ["/dep.js via /main.js"]
            p.env.hot.send("test:ping", None)
            await p.env.hot.flush()
            assert await main.pings() == 1
    run(main())


def test_files_made_with_their_new_folder_are_seen(tmp_path: Path) -> None:
    async def main() -> None:
        async with project(tmp_path, FILES) as p:
            await p.env.import_module("/main.js")
            (p.root / "lib" / "deep").mkdir(parents=True)  # no watch on it yet when x.js is written
            (p.root / "lib" / "deep" / "x.js").write_text("export const x = 1;\n")
            assert await p.changes("x.js") == {"x.js": "create"}
            (p.root / "lib" / "deep" / "x.js").write_text("export const x = 2;\n")
            assert await p.changes("x.js") == {"x.js": "update"}
    run(main())
