"""`[tool.modrun.check]` (and modrun.check.json): allowing rules per package and per file glob,
severity overrides, the CommonJS switch, and clear errors for a malformed table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.check import CheckConfig, load_check_config
from runner.errors import UsageError
from tests.project_files import write
from tests.test_check_static import check

SOURCE = "export const a = process.env.X;\nexport const b = eval('1');\nexport * from './more.js';\n"
MORE = "export const c = typeof Buffer !== 'undefined' && Buffer.from('x');\n"


def test_no_config_is_the_defaults(tmp_path: Path) -> None:
    assert load_check_config(tmp_path) == CheckConfig()
    write(tmp_path, {"pyproject.toml": '[project]\nname = "app"\n'})
    assert load_check_config(tmp_path) == CheckConfig()


def test_severity_overrides_and_off(tmp_path: Path) -> None:
    write(tmp_path, {"main.js": SOURCE, "more.js": MORE, "pyproject.toml": """\
[tool.modrun.check]
severity = { "node-global" = "warning", "eval" = "off", "guarded-node-global" = "error" }
"""})
    report = check(tmp_path, "main.js")
    assert [(f.rule, f.severity) for f in report.findings] == [
        ("node-global", "warning"), ("guarded-node-global", "error")]
    assert (report.allowed, report.compatible) == (0, False)


def test_file_globs_and_json_config(tmp_path: Path) -> None:
    write(tmp_path, {"src/main.js": SOURCE, "src/more.js": MORE, "modrun.check.json": json.dumps(
        {"allow-files": {"src/*.js": ["node-global", "guarded-node-global"], "src/main.js": ["*"]}})})
    report = check(tmp_path, "src/main.js")
    assert (report.findings, report.allowed) == ([], 3)


def test_a_package_allowed_every_rule(tmp_path: Path) -> None:
    write(tmp_path, {"main.js": 'import "@scope/pkg";\n', "node_modules/@scope/pkg/package.json": '{"main": "i.js"}',
                     "node_modules/@scope/pkg/i.js": SOURCE.replace("./more.js", "./m.js"),
                     "node_modules/@scope/pkg/m.js": MORE,
                     "pyproject.toml": '[tool.modrun.check.allow]\n"@scope/pkg" = ["*"]\n'})
    report = check(tmp_path, "main.js")
    assert (report.findings, report.allowed, report.modules) == ([], 3, 3)


def test_the_commonjs_switch(tmp_path: Path) -> None:
    write(tmp_path, {"main.cjs": "module.exports = 1;\n", "pyproject.toml": "[tool.modrun.check]\ncommonjs = true\n"})
    assert [f.rule for f in check(tmp_path, "main.cjs").findings] == ["commonjs-module"]


@pytest.mark.parametrize(("table", "message"), [
    ('[tool.modrun.check]\nallowed = {}\n', "unknown key"),
    ('[tool.modrun.check.allow]\npkg = ["no-such-rule"]\n', "unknown rule 'no-such-rule'"),
    ('[tool.modrun.check.allow]\npkg = "node-global"\n', "must be a list of rule ids"),
    ('[tool.modrun.check]\nseverity = { eval = "fatal" }\n', "severity of 'eval' must be one of"),
    ('[tool.modrun.check]\ncommonjs = "yes"\n', "commonjs must be true or false"),
    ('[tool.modrun.check\n', "pyproject.toml"),
])
def test_a_malformed_config_is_a_usage_error_naming_it(tmp_path: Path, table: str, message: str) -> None:
    write(tmp_path, {"pyproject.toml": table})
    with pytest.raises(UsageError, match=message):
        load_check_config(tmp_path)
