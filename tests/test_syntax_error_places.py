"""Syntax errors are placed where Node places them: the line and column of the token the parser could not
take, compared with Node's own report of the same file (its `file:line` and caret); and, where modrun words
them itself, worded as Node words them."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from runner import LoadError, Server

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is the reference")

CASES = [
    "let x = ;",
    "if (a { }",  # a token tree-sitter takes as missing: the next one is blamed
    "const b = [1, 2;",
    "foo(;",
    "let y = 1 +;",
    "return 5;",
    "x = {a: 1,, b: 2};",  # found by the engine
    "let let = 1;",  # found by the engine
    "var 1x = 2;",
    "if (x) {\n  y",  # the end of the input
    "const = 3;",
    "var 1 = 2;",
    "const . x = 1;",
    "const 5;",
    "function f( { }",
    # where tree-sitter's recovery swallows the bad token with good ones (runner/transform/early_errors.py)
    "}",  # a closing bracket nothing opened
    "function f() {\n  return )\n}",
    'let s = "a\nb";',  # a line break in a string
    "if (a) {\n  x();\n}\n}",
    'let w = "unterminated;',  # a string left open
    "while true {}",  # a head keyword with no `(`
    "switch x { }",
    "1 = 2;",  # what cannot be assigned
    "a++ = 1;",
    "import.meta = 1;",
    # a token no statement begins with, a number with a name glued to it, one expression after another
    "catch (e) {}",
    "a => {}; =>",
    "let n = 0b12;",
    "let n = 1_;",
    "let n = 1__0;",
    "let s = 'it''s';",
    'let x = "a" "b";',
    "let x = 1 2;",
    "a\n++\nb c",
    # a keyword or operator with nothing after it: the token after is blamed
    "export { x as };",
    "export default;",
    "x ? y;",
    "await;",
    "async () => await;",
    # left open: blamed where it opens
    "/* open",
    "let r = /abc",
    # found by the engine, placed and worded as Node does (runner/compile_errors.py)
    "try {}",
    "try {\n  x();\n}\nfoo();",
    "class { }",
    "x?.y = 1;",
    "({a: 1} = 1);",
    "new.target;",
]


# The cases above that modrun words itself (not the engine's words): their message must be Node's.
WORDED = CASES[CASES.index("catch (e) {}"):]


def node_report(file: Path) -> tuple[int, int, str]:
    """(line, column, message) of Node's report: its first line ends with the line, its caret marks the
    column, and the message follows `SyntaxError: `."""
    run = subprocess.run([str(NODE), str(file)], capture_output=True, text=True, timeout=60)
    lines = run.stderr.splitlines()
    line = int(lines[0].rsplit(":", 1)[1])
    caret = next((row for row in lines[1:] if row.strip() and set(row.strip()) == {"^"}), None)
    message = next(row for row in lines if row.startswith("SyntaxError: ")).removeprefix("SyntaxError: ")
    return line, 1 if caret is None else caret.index("^") + 1, message  # (no caret: the empty line after the last)


def modrun_report(root: Path, name: str) -> tuple[int, int, str]:
    async def main() -> LoadError:
        async with Server(root=root, cache_dir=False) as server:
            with pytest.raises(LoadError) as caught:
                await server.environments["ssr"].import_module(f"/{name}")
            return caught.value

    error = asyncio.run(main())
    assert error.code == "ERR_PARSE" and error.loc is not None and error.frame is not None
    return error.loc.line, error.loc.column, error.message.removesuffix(f" ({error.loc})")


@pytest.mark.parametrize("source", CASES)
def test_the_place_is_nodes(tmp_path: Path, source: str) -> None:
    file = tmp_path / "m.mjs"
    file.write_text(f"const a = 1;\n{source}\n")
    line, column, message = modrun_report(tmp_path, file.name)
    node_line, node_column, node_message = node_report(file)
    assert (line, column) == (node_line, node_column)
    if source in WORDED:
        assert message == node_message
