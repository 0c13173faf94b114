"""`modrun check`'s static analysis on real npm packages (pinned, installed by npm): a hono app is
compatible; all of lodash-es and date-fns is walked (every module their own import statements
reach, counted independently here) with exactly the findings these versions deserve."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest

from runner import Server
from runner.check import CheckConfig, analyze
from tests.npm_cache import install
from tests.project_files import write
from tests.test_check_static import check

_RELATIVE_IMPORT = re.compile(r"""^(?:import|export)\b[^;]*?["'](\.{1,2}/[^"']+)["'];""", re.M)


def reached(entry: Path) -> set[Path]:
    """The files an ES module package's relative import and export statements reach from `entry`."""
    seen = {entry}
    todo = [entry]
    while todo:
        file = todo.pop()
        for match in _RELATIVE_IMPORT.finditer(file.read_text()):
            target = Path(os.path.normpath(file.parent / match.group(1)))
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_a_hono_app_is_compatible(tmp_path: Path) -> None:
    installed = install("hono")
    shutil.copytree(installed / "node_modules", tmp_path / "node_modules", symlinks=True)
    write(tmp_path, {"src/app.js": """\
import { Hono } from "hono";
import { stream } from "hono/streaming";
import { cors } from "hono/cors";

const app = new Hono();
app.use("*", cors());
app.get("/", (c) => c.json({ ok: true }));
app.get("/stream", (c) => stream(c, async (out) => { await out.write("hi"); }));
export default app;
"""})
    report = check(tmp_path, "src/app.js")
    assert report.compatible, [f.message for f in report.findings]
    assert report.modules > 20
    # Its one Node-or-Bun branch is guarded: reported as such, nothing more.
    assert [(f.rule, f.package) for f in report.findings] == [("guarded-node-global", "hono")]


def test_all_of_lodash_es_and_date_fns_is_walked() -> None:
    root = install("packages")
    modules = root / "node_modules"
    write(root, {"check/main.js": 'import * as _ from "lodash-es";\nimport * as dates from "date-fns";\n'
                                  "export default [_, dates];\n"})
    report = check(root, "check/main.js")
    lodash = reached(modules / "lodash-es" / "lodash.js")
    date_fns = reached(modules / "date-fns" / "index.js")
    assert (len(lodash), len(date_fns)) == (640, 304)
    assert report.modules == 1 + len(lodash) + len(date_fns)
    errors = sorted((f.rule, f.location.file, f.location.line) for f in report.findings
                    if f.severity == "error" and f.location)
    assert errors == [
        # QuickJS has no Intl: date-fns's intl* functions would throw at their first call.
        ("function-constructor", "node_modules/lodash-es/_root.js", 7),  # Function('return this')()
        ("function-constructor", "node_modules/lodash-es/template.js", 271),  # _.template compiles
        ("node-global", "node_modules/date-fns/intlFormat.js", 111),
        ("node-global", "node_modules/date-fns/intlFormatDistance.js", 198),
    ]
    guarded = {(f.location.file, f.message.split("`")[1]) for f in report.findings
               if f.rule == "guarded-node-global" and f.location}
    assert ("node_modules/lodash-es/_freeGlobal.js", "global") in guarded
    assert all(f.package in ("lodash-es", "date-fns") for f in report.findings)


@pytest.mark.parametrize("package", ["qs", "semver", "superjson", "markdown-it", "react", "zod", "date-fns"])
def test_the_check_walks_the_graph_a_run_loads(package: str) -> None:
    """Checked and then imported in one environment: the modules walked are exactly those the
    runtime fetched (CommonJS requires, `exports` conditions and all)."""
    root = install("packages")
    name = package.replace("/", "_")
    write(root, {f"check/{name}.js": f'import * as m from "{package}";\nexport default m;\n'})

    async def main() -> tuple[int, set[str]]:
        async with Server(root=root, cache_dir=False, environments={"edge": {"profile": "edge"}}) as server:
            environment = server.environments["edge"]
            report = await analyze(environment, f"check/{name}.js", CheckConfig())
            await environment.import_module(f"/check/{name}.js")
            # What the runtime loaded: the entry and what the modules it fetched import (a module
            # only read for the names it re-exports is not among them).
            entry = environment.module_graph.get_module_by_url(f"/check/{name}.js")
            assert entry is not None
            loaded, todo = {entry.id}, [entry]
            while todo:
                for dep in todo.pop().imported_modules:
                    if dep.id not in loaded:
                        loaded.add(dep.id)
                        todo.append(dep)
            return report.modules, loaded

    walked, fetched = asyncio.run(main())
    assert walked == len(fetched)
