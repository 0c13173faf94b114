"""modrun's pytest plugin, loaded the way users get it (the `pytest11` entry point of the installed
package) in pytester's sessions: assert_edge_compatible failing with the report as its message, the
fixtures configured by ini options and by the marker; and the README's example is the file
tests/test_shop_example.py runs. The sessions are subprocesses: an in-process one would share the
outer session's `runner` package, with the names it cached from an earlier session."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.project_files import write

pytest_plugins = ["pytester"]

REPO = Path(__file__).parents[1]

PROJECT = {
    "app/src/entry.js": 'import fs from "node:fs";\nimport { config } from "dep";\n'
                        "export default () => config() + fs.readFileSync.name;\n",
    "app/node_modules/dep/package.json":
        '{"name": "dep", "version": "1.0.0", "type": "module", "exports": "./index.js"}',
    "app/node_modules/dep/index.js": "export const config = () => globalThis['pro' + 'cess'].env.MODE;\n",
    "app/src/clean.js": "export const twice = (n) => n * 2;\nexport const kind = typeof process;\n",
    "app/src/lazy.js": "export const load = (name) => import(name);\n",
}


def test_assert_edge_compatible_fails_with_the_rendered_report(pytester: pytest.Pytester) -> None:
    write(pytester.path, PROJECT)
    pytester.makepyfile(test_app="""
        from runner import assert_edge_compatible

        def test_static(modrun_root):
            assert_edge_compatible("src/entry.js", root=modrun_root)

        def test_clean(modrun_root):
            report = assert_edge_compatible("src/clean.js", root=modrun_root, run=True, call="twice", args=[2])
            assert report.compatible and report.modules == 1

        def test_warnings(modrun_root):
            report = assert_edge_compatible("src/lazy.js", root=modrun_root)
            assert [f.rule for f in report.findings] == ["dynamic-import-expression"]
            assert_edge_compatible("src/lazy.js", root=modrun_root, allow_warnings=False)
    """)
    pytester.makeini("[pytest]\nmodrun_root = app\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert "\x1b[" not in out
    assert "FAILED test_app.py::test_warnings - AssertionError: modrun check src/lazy.js" in out
    for line in ("AssertionError: modrun check src/entry.js (profile edge)", "  node-builtin-import",
                 "    error src/entry.js:1:16", "> 1 | import fs from \"node:fs\";",
                 "✖ 1 error, 0 warnings, 0 info · 2 modules · 0 allowed"):
        assert line in out, line


def test_run_catches_in_a_test_what_only_running_shows(pytester: pytest.Pytester) -> None:
    write(pytester.path, PROJECT)
    write(pytester.path, {"app/src/entry.js": 'import { config } from "dep";\nexport default () => config();\n'})
    pytester.makepyfile(test_app="""
        import pytest
        from runner import assert_edge_compatible

        @pytest.mark.modrun(root="app")
        def test_static_passes(modrun_root):
            assert_edge_compatible("src/entry.js", root=modrun_root)

        @pytest.mark.modrun(root="app")
        def test_run_fails(modrun_root):
            assert_edge_compatible("src/entry.js", root=modrun_root, run=True, call="default")
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "error node_modules/dep/index.js:1:48 (at run time)" in out
    assert "uncaught at run time: TypeError: cannot read property 'env' of undefined" in out
    assert "import chain: src/entry.js -> node_modules/dep/index.js" in out


def test_fixtures_follow_the_ini_options_and_the_marker(pytester: pytest.Pytester) -> None:
    write(pytester.path, PROJECT)
    write(pytester.path, {"other/main.js": "export const where = 'other';\n"})
    pytester.makeini("[pytest]\nmodrun_root = app\nmodrun_profile = bare\nmodrun_evaluator = wasm\n")
    pytester.makepyfile(test_app="""
        import pytest

        def test_ini(modrun_root, modrun_environment, modrun_import):
            assert modrun_root.name == "app"
            config = modrun_environment.environment.config
            assert (config.profile, config.evaluator) == ("bare", "wasm")
            module = modrun_import("/src/clean.js")
            assert module.twice(21) == 42 and module.kind == "undefined"

        @pytest.mark.modrun(root="other", profile="edge", evaluator="process", limits={"cpu_ms": 500})
        def test_marker(modrun_server, modrun_import):
            config = modrun_server.environments["test"].environment.config
            assert (config.profile, config.evaluator, config.limits.cpu_ms) == ("edge", "process", 500)
            assert modrun_import("/main.js").where == "other"

        @pytest.mark.modrun(rot="app")
        def test_typo(modrun_server):
            pass
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    assert "@pytest.mark.modrun: unknown option rot" in result.stdout.str()


def test_the_readme_shows_the_example_test_file_as_it_is() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Testing with pytest"):]
    shown = re.search(r"```python\n(.*?)```", section, re.S)
    assert shown is not None
    example = (REPO / "tests" / "test_shop_example.py").read_text()
    assert shown[1] == example[example.index('"""\n\n') + 5:]
