"""Resolution, compared with Node where Node has the same rules: package.json `exports` (condition
objects in order, patterns, the longest pattern first, arrays, sugar forms, null targets) and
`imports` (conditions, patterns, package targets), self-reference, nested and scoped packages, a
pnpm-style symlinked layout; and modrun's own: conditions per environment and mode, the `browser`
field, `alias` for Node built-ins, and errors that name the specifier, the importer chain and
what was tried."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.node_compare import EVALUATORS, modrun_lines, node_lines
from tests.npm_cache import NODE, install
from tests.project_files import write

needs_node = pytest.mark.skipif(NODE is None, reason="node is needed: Node is the reference these tests compare with")


def _package(name: str, manifest: dict, files: dict[str, str]) -> dict[str, str]:
    out = {f"node_modules/{name}/package.json": json.dumps({"name": name, **manifest})}
    out.update({f"node_modules/{name}/{path}": text for path, text in files.items()})
    return out


def _says(text: str) -> str:
    return f'export default "{text}";\n'


FILES = {
    "package.json": json.dumps({
        "name": "app", "type": "module",
        "exports": {".": "./src/index.js", "./self": "./src/self.js"},
        "imports": {
            "#internal/*": "./src/internal/*.js",
            "#config": {"worker": "./src/config-worker.js", "default": "./src/config-default.js"},
            "#dep": "sugar",
            "#dep/*": "exp/feature/*",
        },
    }),
    "main.js": """\
import a from "exp";
import feature from "exp/feature/x";
import deep from "exp/feature/deep/y";
import arr from "exp/arr";
import sugar from "sugar";
import cond from "cond";
import scoped from "@scope/pkg/sub";
import nested from "nested-user";
import internal from "#internal/a";
import config from "#config";
import dep from "#dep";
import depSub from "#dep/x";
import self from "app/self";
import legacy from "legacy";
console.log(JSON.stringify([a, feature, deep, arr, sugar, cond, scoped, nested, internal, config, dep, depSub, self,
  legacy]));
""",
    "src/index.js": _says("app index"),
    "src/self.js": _says("self"),
    "src/internal/a.js": _says("internal a"),
    "src/config-worker.js": _says("config worker"),
    "src/config-default.js": _says("config default"),
    **_package("exp", {"type": "module", "exports": {
        ".": {"worker": "./worker.js", "import": "./esm.js", "default": "./cjs.cjs"},
        "./feature/*": "./features/*.js",
        "./feature/deep/*": "./deep/*.js",
        "./feature/private/*": None,
        "./arr": [{"worker": "./worker.js"}, "./arr.js"],
    }}, {"worker.js": _says("worker"), "esm.js": _says("esm"), "cjs.cjs": 'module.exports = "cjs";\n',
         "features/x.js": _says("feature x"), "deep/y.js": _says("deep y"), "arr.js": _says("array fallback"),
         "features/private/z.js": _says("private")}),
    **_package("sugar", {"exports": "./s.mjs"}, {"s.mjs": _says("sugar string")}),
    **_package("cond", {"exports": {"import": {"worker": "./w.mjs", "default": "./i.mjs"}, "default": "./d.cjs"}},
               {"w.mjs": _says("cond worker"), "i.mjs": _says("cond import"), "d.cjs": 'module.exports = "d";\n',
                "extra.mjs": _says("hidden")}),
    **_package("@scope/pkg", {"exports": {"./sub": "./lib/sub.mjs"}}, {"lib/sub.mjs": _says("scoped sub")}),
    **_package("nested-user", {"type": "module", "main": "index.js"},
               {"index.js": 'import v from "shared";\nexport default "nested sees " + v;\n',
                "node_modules/shared/package.json": json.dumps({"name": "shared", "version": "2.0.0",
                                                                "type": "module", "main": "index.js"}),
                "node_modules/shared/index.js": _says("shared 2")}),
    **_package("shared", {"version": "1.0.0", "type": "module", "main": "index.js"}, {"index.js": _says("shared 1")}),
    **_package("legacy", {"main": "lib/entry"}, {"lib/entry.js": 'module.exports = "legacy main";\n',
                                                 "lib/index.js": 'module.exports = "legacy dir index";\n'}),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("resolution"), FILES)


@needs_node
@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_same_as_node(project, evaluator):
    lines, _ = modrun_lines(project, "main.js", evaluator)
    assert lines == node_lines(project, "main.js")


def test_conditions_per_environment(project):
    """The edge set (edge-light, workerd, worker, browser, import, module, default) picks the worker targets,
    in the package's order; user conditions add to a set."""
    lines, _ = modrun_lines(project, "main.js", conditions="edge")
    values = json.loads(lines[0])
    assert values[0] == "worker" and values[3] == "worker" and values[5] == "cond worker"
    assert values[9] == "config worker"
    lines, _ = modrun_lines(project, "main.js", conditions=["worker"])
    assert json.loads(lines[0])[0] == "worker"


def test_mode_condition(tmp_path):
    root = write(tmp_path, {
        "main.mjs": 'import v from "moded";\nconsole.log(v, process.env.NODE_ENV, import.meta.env.MODE);\n',
        **_package("moded", {"exports": {"development": "./dev.mjs", "production": "./prod.mjs"}},
                   {"dev.mjs": _says("dev build"), "prod.mjs": _says("prod build")}),
    })
    assert modrun_lines(root, "main.mjs")[0] == ["prod build production production"]
    assert modrun_lines(root, "main.mjs", mode="development")[0] == ["dev build development development"]


def test_browser_field(tmp_path):
    """Where the conditions include `browser`: the string form replaces main; the object form
    maps the package's files and the packages it imports, `false` giving an empty module."""
    root = write(tmp_path, {
        "main.mjs": 'import a from "b-string";\nimport b from "b-object";\nconsole.log(JSON.stringify([a, b]));\n',
        "plain.mjs": 'import a from "b-string";\nconsole.log(a);\n',
        **_package("b-string", {"main": "node.js", "browser": "browser.js"},
                   {"node.js": 'module.exports = "node";\n', "browser.js": 'module.exports = "browser";\n'}),
        **_package("b-object", {"main": "index.js", "browser": {"./impl.js": "./impl-browser.js", "fs": False,
                                                                "./debug": False}},
                   {"index.js": 'const fs = require("fs"); const debug = require("./debug");\n'
                                'module.exports = [require("./impl"), fs, debug];\n',
                    "impl.js": 'module.exports = "node impl";\n',
                    "impl-browser.js": 'module.exports = "browser impl";\n',
                    "debug.js": 'module.exports = "debug";\n'}),
    })
    lines, _ = modrun_lines(root, "main.mjs", conditions="edge")
    assert json.loads(lines[0]) == ["browser", ["browser impl", {}, {}]]
    lines, _ = modrun_lines(root, "plain.mjs", conditions=["worker"])  # no browser condition: the field is ignored
    assert lines == ["node"]


def test_alias_points_a_builtin_at_a_polyfill(tmp_path):
    root = write(tmp_path, {
        "main.mjs": 'import path from "node:path";\nimport { join } from "path";\nconsole.log(path.join("a", "b"), '
                    'join("c", "d"));\n',
        "polyfills/path.mjs": 'export function join(...parts) { return parts.join("/"); }\nexport default { join };\n',
    })
    lines, _ = modrun_lines(root, "main.mjs", alias={"path": "/polyfills/path.mjs"})
    assert lines == ["a/b c/d"]


@needs_node
def test_pnpm_layout(tmp_path):
    """pnpm's layout from real packages: each package in node_modules/.pnpm/<name>@<version>/node_modules/<name>,
    its dependencies symlinked beside it, only direct dependencies linked at the top; module ids
    are real paths, so a package reached through two links is one module."""
    source = install("packages") / "node_modules"
    root = tmp_path / "app"
    store = root / "node_modules" / ".pnpm"

    def place(name: str) -> Path:
        manifest = json.loads((source / name / "package.json").read_text())
        home = store / f"{name.replace('/', '+')}@{manifest['version']}" / "node_modules"
        target = home / name
        if not target.exists():
            shutil.copytree(source / name, target)
            for dep in manifest.get("dependencies", {}):
                link = home / dep
                link.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(os.path.relpath(place(dep), link.parent), link)
        return target

    top = root / "node_modules" / "markdown-it"
    top.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(place("markdown-it"), top.parent), top)
    write(root, {"main.mjs": 'import MarkdownIt from "markdown-it";\n'
                             'import Again from "./node_modules/.pnpm/markdown-it@15.0.3/node_modules/markdown-it/'
                             'dist/markdown-it.mjs";\n'
                             'console.log(MarkdownIt === Again, JSON.stringify(new MarkdownIt().render("# *pnpm* [x](http://a.b)")));\n'})
    assert not (root / "node_modules" / "linkify-it").exists()  # not hoisted: only reachable from markdown-it
    expected = node_lines(root, "main.mjs")
    assert expected[0].startswith("true")
    for evaluator in EVALUATORS:
        lines, fetched = modrun_lines(root, "main.mjs", evaluator)
        assert lines == expected
        assert len(fetched) == len(set(fetched))
        assert all("/.pnpm/" in id for id in fetched if "/node_modules/" in id)


def _run_json(root: Path, entry: str, *extra: str) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "runner", "run", entry, "--json", "--profile", "bare", *extra],
                          cwd=root, capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize(("source", "needles"), [
    ('import x from "no-such-pkg";', ["Cannot find package 'no-such-pkg'", "imported from", "entry.mjs",
                                      "looked for it in", "node_modules"]),
    ('import x from "exp/hidden";', ["Package subpath './hidden' is not defined by \"exports\"",
                                     "node_modules/exp/package.json", "conditions: import, module, default, production",
                                     "entry.mjs"]),
    ('import x from "exp/feature/private/z";', ["Package subpath './feature/private/z' is not defined"]),
    ('import x from "broken";', ["Invalid package config", "node_modules/broken/package.json", "line 1"]),
    ('import fs from "node:fs";', ["'node:fs' is a Node.js built-in module", "alias"]),
    ('import x from "#nope";', ["Package import specifier '#nope' is not defined", "package.json"]),
    ('import x from "./missing";', ["Cannot find module './missing'", "tried", "missing"]),
    ('import x from "./lib/chain.mjs";', ["Cannot find package 'deeper-missing'",
                                          "importer chain: /entry.mjs -> /lib/chain.mjs"]),
])
def test_bad_input_names_what_and_where(project, source, needles):
    write(project, {"entry.mjs": source + "\n", "lib/chain.mjs": 'import "deeper-missing";\n',
                    "node_modules/broken/package.json": "{ name: broken }"})
    status, out = _run_json(project, "entry.mjs")
    assert status == 3 and out["error"]["kind"] == "load", out
    message = out["error"]["message"]
    for needle in needles:
        assert needle in message, message
    assert out["error"].get("loc", {}).get("line") == 1  # located at the import, with a code frame
