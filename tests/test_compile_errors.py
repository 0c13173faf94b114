"""Syntax errors only the engine finds (runner/compile_errors.py) are shown as the host's own parse errors
are: file, line and column (where Node puts them) in the message, and a code frame, in every evaluator.
A regular expression's, to which QuickJS gives no position, is placed by the host."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner import LoadError, Server
from tests.project_files import write

EVALUATORS = ["inprocess", "wasm", "process"]
PROJECT = {
    "entry.js": "import { flags } from './bad.js';\nexport const result = flags;\n",
    "bad.js": "import './ok.js';\nconst fine = /x/g;\nexport const flags = /a/gg;\n",
    "ok.js": "export const ok = 1;\n",
    # a group named twice in one alternative: an error in every edition of the language
    "groups.js": "export const fine = /(?<a>x)|(?<b>y)/;\n  export const twice = /(?<a>x)(?<a>y)/;\n",
    "after.js": "export const after = 2;\n",
    # early errors the transform leaves to the engine; a line with a character of two UTF-8 bytes
    "engine.js": "import './ok.js';\nconst é = 'é'; let let = 1;\n",
    "property.cjs": "const a = 1;\nmodule.exports = {a: 1,, b: 2};\n",
    # one the host's own parse finds, imported by another
    "uses_host.js": "import './host.js';\n",
    "host.js": "export const a = 1;\nconst = 3;\n",
}


def failed_import(root: Path, evaluator: str, url: str) -> tuple[LoadError, object]:
    """The error of importing `url`, and then the result of importing after.js into the same runtime."""
    async def main() -> tuple[LoadError, object]:
        async with Server(root=root, cache_dir=False, environments={"ssr": {"evaluator": evaluator}}) as server:
            env = server.environments["ssr"]
            with pytest.raises(LoadError) as caught:
                await env.import_module(url)
            after = await env.import_module("/after.js")
            return caught.value, after.after

    return asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_bad_flags_are_placed_at_their_literal(tmp_path: Path, evaluator: str) -> None:
    root = write(tmp_path, PROJECT)
    error, after = failed_import(root, evaluator, "/entry.js")
    assert error.code == "ERR_PARSE" and error.name == "SyntaxError"
    assert error.loc is not None and (error.loc.file, error.loc.line, error.loc.column) == (str(root / "bad.js"), 3, 22)
    # and the chain of imports that reached it, as a resolution error has it
    assert error.message == f"invalid regular expression flags ({root / 'bad.js'}:3:22)\n" \
        "  importer chain: /entry.js -> /bad.js"
    assert error.frame is not None and "> 3 | export const flags = /a/gg;" in error.frame
    assert after == 2  # the runtime that refused it goes on


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_bad_pattern_is_placed_at_its_literal_not_at_a_good_one_before_it(tmp_path: Path, evaluator: str) -> None:
    root = write(tmp_path, PROJECT)
    error, _ = failed_import(root, evaluator, "/groups.js")
    assert error.loc is not None and (error.loc.line, error.loc.column) == (2, 24)
    assert error.message.startswith("duplicate group name (")


@pytest.mark.parametrize("evaluator", EVALUATORS)
@pytest.mark.parametrize(("url", "message", "line", "column", "text"), [
    ("/engine.js", "variable name expected", 2, 20, "const é = 'é'; let let = 1;"),
    ("/property.cjs", "invalid property name", 2, 24, "module.exports = {a: 1,, b: 2};"),
])
def test_an_error_the_engine_finds_has_its_place_and_code_frame(tmp_path: Path, evaluator: str, url: str,
                                                                 message: str, line: int, column: int,
                                                                 text: str) -> None:
    root = write(tmp_path, PROJECT)
    error, _ = failed_import(root, evaluator, url)
    file = str(root / url[1:])
    assert error.loc is not None and (error.loc.file, error.loc.line, error.loc.column) == (file, line, column)
    assert error.message == f"{message} ({file}:{line}:{column})"
    assert error.frame is not None and f"> {line} | {text}" in error.frame
    caret = next(row for row in error.frame.splitlines() if row.rstrip().endswith("^"))
    assert caret.index("^") - caret.index("|") - 1 == column  # under the column, counted in characters


def test_a_syntax_error_in_an_imported_module_names_the_chain_and_one_in_the_entry_none(tmp_path: Path) -> None:
    root = write(tmp_path, PROJECT)
    error, _ = failed_import(root, "inprocess", "/uses_host.js")
    assert error.message.endswith("\n  importer chain: /uses_host.js -> /host.js")
    assert error.loc is not None and error.loc.line == 2 and error.frame is not None
    error, _ = failed_import(root, "inprocess", "/host.js")
    assert "importer chain" not in error.message and error.loc is not None and error.loc.line == 2


def test_the_command_line_reports_the_place(tmp_path: Path) -> None:
    root = write(tmp_path, PROJECT)
    run = subprocess.run([sys.executable, "-m", "runner", "run", str(root / "entry.js"), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 3, run.stderr
    error = json.loads(run.stdout)["error"]
    assert error["loc"] == {"file": str(root / "bad.js"), "line": 3, "column": 22}
    assert error["kind"] == "load" and "^" in error["frame"]
