"""`modrun check` as a user runs it: exit codes (0 compatible, 1 not, 2 usage, 3 load), the one JSON
object of --json, the human report (grouped, located, with code frames and chains; colour only on a
terminal without NO_COLOR), and --run: what fails only when the code runs, under the check's limits,
in the same report. The static analysis itself is tests/test_check_static.py's."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.npm_cache import install
from tests.project_files import write

DEP = {"node_modules/dep/package.json":
       '{"name": "dep", "version": "1.0.0", "type": "module", "exports": "./index.js"}'}

# Fails only at run time: the global is read through a computed property, which no static analysis follows.
RUNTIME_ONLY = {
    "src/entry.js": 'import { config } from "dep";\n\nexport default function handler() {\n  return config();\n}\n',
    "node_modules/dep/index.js": "const g = globalThis;\nexport function config() {\n"
                                 "  const env = g['pro' + 'cess'].env;\n  return env.MODE;\n}\n",
    **DEP,
}

INCOMPATIBLE = {
    "src/entry.js": 'import { read } from "./files.js";\nexport default () => read();\n',
    "src/files.js": 'import fs from "node:fs";\nexport const read = () => fs.readFileSync("x");\n',
}

CLEAN = {"src/entry.js": 'export default (name) => `hello ${name}`;\n'}


def modrun(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> \
        subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "runner", "check", *args], cwd=cwd, capture_output=True,
                            text=True, timeout=timeout, env=env)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def one_object(result: subprocess.CompletedProcess[str]) -> dict:
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"--json must print exactly one line, got: {result.stdout!r}"
    return json.loads(lines[0])  # type: ignore[no-any-return]


def test_a_compatible_project_exits_0_with_the_report_shape(tmp_path: Path) -> None:
    write(tmp_path, CLEAN)
    result = modrun("src/entry.js", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = one_object(result)
    assert report["ok"] is True and report["entry"] == "src/entry.js" and report["profile"] == "edge"
    assert report["findings"] == []
    summary = report["summary"]
    assert {k: summary[k] for k in ("error", "warning", "info", "modules", "allowed", "compatible")} == \
        {"error": 0, "warning": 0, "info": 0, "modules": 1, "allowed": 0, "compatible": True}
    assert summary["duration_ms"] > 0
    assert "run" not in report


def test_an_incompatible_project_exits_1_and_each_finding_has_its_place_and_chain(tmp_path: Path) -> None:
    write(tmp_path, INCOMPATIBLE)
    report = one_object(result := modrun("src/entry.js", "--json", cwd=tmp_path))
    assert result.returncode == 1
    assert report["ok"] is False and report["summary"]["compatible"] is False
    [finding] = report["findings"]
    assert finding["rule"] == "node-builtin-import" and finding["severity"] == "error"
    assert finding["source"] == "static" and finding["package"] is None
    assert {k: finding["location"][k] for k in ("file", "line", "column")} == \
        {"file": "src/files.js", "line": 1, "column": 16}
    assert "> 1 | import fs from \"node:fs\";" in finding["location"]["frame"]
    assert finding["chain"] == ["src/entry.js", "src/files.js"]


def test_the_human_report_groups_locates_and_sums_up_without_colour_off_a_terminal(tmp_path: Path) -> None:
    write(tmp_path, {**INCOMPATIBLE, **DEP,
                     "src/entry.js": 'import { read } from "./files.js";\nimport "dep";\n'
                                     'export default () => read();\n',
                     "node_modules/dep/index.js": "export const b = Buffer.from('x');\n"})
    result = modrun("src/entry.js", cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout
    assert "\x1b[" not in out  # a pipe: no colour codes
    assert out.index("your project") < out.index("package dep")  # the project's own files first
    assert "node-builtin-import" in out and "error src/files.js:1:16" in out
    assert "import chain: src/entry.js -> src/files.js" in out
    assert "error node_modules/dep/index.js:1:18" in out
    assert "import chain: src/entry.js -> node_modules/dep/index.js" in out
    assert "> 1 | export const b = Buffer.from('x');" in out
    assert out.rstrip().splitlines()[-1].startswith("✖ 2 errors, 0 warnings, 0 info · 3 modules · 0 allowed")
    assert out.rstrip().endswith("not compatible with the edge profile")


def _on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """stdout of `modrun check ARGS` written to a pseudo-terminal."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "runner", "check", *args], cwd=cwd, env=env,
                               stdout=terminal, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(controller)
    return b"".join(chunks).decode()


def test_colours_on_a_terminal_and_never_with_no_color(tmp_path: Path) -> None:
    write(tmp_path, INCOMPATIBLE)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    coloured = _on_a_terminal(["src/entry.js"], tmp_path, {**env, "TERM": "xterm-256color"})
    plain = _on_a_terminal(["src/entry.js"], tmp_path, {**env, "TERM": "xterm-256color", "NO_COLOR": "1"})
    assert "\x1b[" in coloured and "src/files.js:1:16" in coloured
    assert "\x1b[" not in plain and "src/files.js:1:16" in plain


@pytest.mark.parametrize("args, message", [
    (["--args", "{}"], "--args must be a JSON array"),
    (["--call", "default"], "--call needs --run"),
    (["--evaluator", "nope"], "nope"),
    (["--profile", "node"], "invalid choice"),
    (["--run", "--call", "missing"], "has no export named 'missing'"),
    (["--run", "--cpu-ms", "0"], "--cpu-ms must be"),
])
def test_usage_errors_exit_2_in_the_json_envelope(tmp_path: Path, args: list[str], message: str) -> None:
    write(tmp_path, CLEAN)
    result = modrun("src/entry.js", "--json", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    error = one_object(result)["error"]
    assert error["kind"] == "usage" and message in error["message"]


def test_bad_check_config_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    write(tmp_path, {**CLEAN, "pyproject.toml": "[tool.modrun.check]\nallow = { dep = ['no-such-rule'] }\n"})
    result = modrun("src/entry.js", cwd=tmp_path)
    assert result.returncode == 2
    assert "pyproject.toml" in result.stderr and "no-such-rule" in result.stderr


def test_a_missing_entry_and_an_entry_that_does_not_parse_exit_3(tmp_path: Path) -> None:
    write(tmp_path, {"src/broken.js": "export const a = ;\n"})
    missing = modrun("src/nope.js", "--json", cwd=tmp_path)
    assert missing.returncode == 3 and one_object(missing)["error"]["kind"] == "load"
    broken = modrun("src/broken.js", "--json", cwd=tmp_path)
    assert broken.returncode == 3
    error = one_object(broken)["error"]
    assert error["name"] == "SyntaxError" and error["loc"]["line"] == 1 and error["loc"]["file"].endswith("broken.js")
    text = modrun("src/broken.js", cwd=tmp_path)
    assert text.returncode == 3 and "> 1 | export const a = ;" in text.stderr


def test_a_failure_only_the_run_shows_is_caught_by_run(tmp_path: Path) -> None:
    write(tmp_path, RUNTIME_ONLY)
    static = modrun("src/entry.js", "--json", cwd=tmp_path)
    assert static.returncode == 0 and one_object(static)["findings"] == []
    result = modrun("src/entry.js", "--json", "--run", "--call", "default", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = one_object(result)
    assert report["run"]["ok"] is False and report["run"]["called"] == "default"
    [finding] = report["findings"]
    assert finding["rule"] == "run-error" and finding["source"] == "run" and finding["package"] == "dep"
    assert "TypeError: cannot read property 'env' of undefined" in finding["message"]
    assert {k: finding["location"][k] for k in ("file", "line", "column")} == \
        {"file": "node_modules/dep/index.js", "line": 3, "column": 25}
    assert "> 3 |   const env = g['pro' + 'cess'].env;" in finding["location"]["frame"]
    assert finding["chain"] == ["src/entry.js", "node_modules/dep/index.js"]


def test_run_in_the_wasm_sandbox_finds_the_same(tmp_path: Path) -> None:
    write(tmp_path, RUNTIME_ONLY)
    result = modrun("src/entry.js", "--json", "--run", "--call", "default", "--evaluator", "wasm", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    [finding] = one_object(result)["findings"]
    assert (finding["rule"], finding["location"]["file"], finding["location"]["line"]) == \
        ("run-error", "node_modules/dep/index.js", 3)


def test_run_findings_can_be_allowed_in_config(tmp_path: Path) -> None:
    write(tmp_path, {**RUNTIME_ONLY, "pyproject.toml": '[tool.modrun.check]\nallow = { dep = ["run-error"] }\n'})
    report = one_object(result := modrun("src/entry.js", "--json", "--run", "--call", "default", cwd=tmp_path))
    assert result.returncode == 0
    assert report["findings"] == [] and report["summary"]["allowed"] == 1 and report["run"]["ok"] is False


def test_run_reports_timer_errors_and_unhandled_rejections_and_forwards_console_output(tmp_path: Path) -> None:
    write(tmp_path, {"src/entry.js": 'console.log("hello from the module");\n'
                                     'Promise.reject(new RangeError("nobody catches me"));\n'
                                     'setTimeout(() => { null.x; }, 1);\nexport const a = 1;\n'})
    result = modrun("src/entry.js", "--json", "--run", cwd=tmp_path)
    assert result.returncode == 1
    assert "hello from the module" in result.stderr  # --json: console output on stderr
    found = {(f["rule"], f["location"]["line"], f["message"]) for f in one_object(result)["findings"]}
    assert found == {
        ("run-unhandled-rejection", 2, "a promise rejected at run time and nothing handled it: "
                                       "RangeError: nobody catches me"),
        ("run-error", 3, "uncaught at run time: TypeError: cannot read property 'x' of null"),
    }


def test_a_runaway_is_a_limit_finding_not_a_hang(tmp_path: Path) -> None:
    write(tmp_path, {"src/entry.js": "export function spin() { for (;;) {} }\n"})
    result = modrun("src/entry.js", "--json", "--run", "--call", "spin", "--cpu-ms", "200", cwd=tmp_path)
    assert result.returncode == 1
    [finding] = one_object(result)["findings"]
    assert finding["rule"] == "run-limit" and "cpu" in finding["message"]


def test_run_does_not_repeat_what_the_static_check_found(tmp_path: Path) -> None:
    write(tmp_path, {"src/entry.js": "export const mode = process.env.MODE;\n"})
    report = one_object(result := modrun("src/entry.js", "--json", "--run", cwd=tmp_path))
    assert result.returncode == 1 and report["run"]["ok"] is False
    assert [(f["rule"], f["source"]) for f in report["findings"]] == [("node-global", "static")]


HONO_APP = """\
import { Hono } from "hono";
import { cors } from "hono/cors";

const app = new Hono();
app.use("/api/*", cors());
app.get("/api/hello", (c) => c.json({ hello: "edge" }));

export default async function handle(path) {
  const response = await app.fetch(new Request(`http://app.test${path}`));
  return { status: response.status, body: await response.text() };
}
"""


def test_a_clean_hono_app_is_compatible_statically_and_when_run() -> None:
    installed = install("hono")
    project = installed / "check-app"
    shutil.rmtree(project, ignore_errors=True)
    write(project, {"main.js": HONO_APP})
    run = modrun("check-app/main.js", "--json", "--run", "--call", "default", "--args", '["/api/hello"]',
                 cwd=installed)
    assert run.returncode == 0, run.stdout
    report = one_object(run)
    assert report["findings"] == [] and report["summary"]["modules"] > 10  # nothing statically, nothing when run
    assert {k: report["run"][k] for k in ("ok", "called")} == {"ok": True, "called": "default"}


def test_the_readme_rules_table_is_the_rules_data() -> None:
    from runner.check.rules import RULES

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    table = readme[readme.index("| rule | severity | message |"):]
    rows = re.findall(r"^\| `([\w-]+)` \| (\w+)[^|]* \| (.*) \|$", table.split("\n\n")[0], re.M)
    assert [(rule, severity, message.replace("\\|", "|")) for rule, severity, message in rows] == \
        [(rule.id, rule.severity, rule.message) for rule in RULES.values()]


def test_run_names_a_node_built_in_that_only_the_run_loads(tmp_path: Path) -> None:
    write(tmp_path, {
        "node_modules/cj/package.json": '{"name": "cj", "version": "1.0.0", "main": "index.js"}',
        "node_modules/cj/index.js": 'const name = ["f", "s"].join("");\n'
                                    'module.exports = function read() {\n'
                                    '  return require(name).readFileSync("x");\n};\n',
        "src/entry.js": 'import read from "cj";\nexport default () => read();\n'
                        'export async function dyn() {\n  const mod = "node:" + "os";\n'
                        "  return (await import(mod)).platform();\n}\n",
    })
    by_require = one_object(modrun("src/entry.js", "--json", "--run", "--call", "default", cwd=tmp_path))
    [(rule, place, chain, message)] = [(f["rule"], (f["location"]["file"], f["location"]["line"]), f["chain"],
                                        f["message"]) for f in by_require["findings"] if f["source"] == "run"]
    assert (rule, place, chain) == ("node-builtin-import", ("node_modules/cj/index.js", 3),
                                    ["src/entry.js", "node_modules/cj/index.js"])
    assert message.startswith("'fs' is a Node.js built-in module")
    by_import = one_object(modrun("src/entry.js", "--json", "--run", "--call", "dyn", cwd=tmp_path))
    [(rule, chain, message)] = [(f["rule"], f["chain"], f["message"]) for f in by_import["findings"]
                                if f["source"] == "run"]
    assert (rule, chain) == ("node-builtin-import", ["src/entry.js"]) and message.startswith("'node:os' is")
    # the static check warned that it could not follow either
    assert {f["rule"] for f in by_import["findings"] if f["source"] == "static"} == \
        {"dynamic-import-expression", "dynamic-require"}


def test_the_issue_project_through_the_command_then_allowed_in_config(tmp_path: Path) -> None:
    from tests.test_check_static import PROJECT

    write(tmp_path, PROJECT)
    report = one_object(result := modrun("src/entry.js", "--json", "--run", cwd=tmp_path))
    assert result.returncode == 1
    assert [(f["rule"], f["location"]["file"], f["location"]["line"], f["chain"][-1], f["source"])
            for f in report["findings"]] == [
        ("node-builtin-import", "src/entry.js", 1, "src/entry.js", "static"),
        ("eval", "src/entry.js", 6, "src/entry.js", "static"),
        ("node-global", "node_modules/dep/index.js", 3, "node_modules/dep/index.js", "static"),
        ("guarded-node-global", "node_modules/dep/index.js", 5, "node_modules/dep/index.js", "static"),
        ("dynamic-require", "node_modules/dep/loader.cjs", 2, "node_modules/dep/loader.cjs", "static"),
    ]  # the run fails at the node:fs import, which the static check already reported there
    assert report["run"]["ok"] is False
    write(tmp_path, {"pyproject.toml": '[tool.modrun.check.allow]\ndep = ["node-global", "guarded-node-global", '
                                       '"dynamic-require"]\n[tool.modrun.check.allow-files]\n'
                                       '"src/entry.js" = ["node-builtin-import", "eval"]\n'})
    allowed = one_object(result := modrun("src/entry.js", "--json", cwd=tmp_path))
    assert result.returncode == 0
    assert (allowed["findings"], allowed["summary"]["allowed"], allowed["ok"]) == ([], 5, True)
