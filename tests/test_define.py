"""define and mode: constants replaced at transform time in ES and CommonJS modules alike, only
where they are expressions that read the global; bad define config is a usage error."""

from __future__ import annotations

import pytest

from runner import Server
from runner.errors import UsageError
from tests.node_compare import modrun_lines
from tests.project_files import write

SOURCE = """\
const text = "process.env.NODE_ENV stays in strings";
// process.env.NODE_ENV stays in comments
function shadowed(process) { return process.env.NODE_ENV; }
const fake = { process: { env: { NODE_ENV: "fake" } } };
const { API_URL } = { API_URL: __API_URL__ };
console.log(process.env.NODE_ENV, import.meta.env.MODE, import.meta.env.DEV, import.meta.env.PROD,
  __DEV__ ? "dev" : "prod", typeof process, text.split(" ")[0], shadowed({ env: { NODE_ENV: "local" } }),
  fake.process.env.NODE_ENV, API_URL, { __DEV__ }.__DEV__, import.meta.env.CUSTOM);
"""


@pytest.fixture
def project(tmp_path):
    return write(tmp_path, {
        "main.mjs": SOURCE,
        "lib.cjs": 'module.exports = process.env.NODE_ENV === "production" ? __API_URL__ : "dev " + __API_URL__;\n',
        "both.mjs": 'import value from "./lib.cjs";\nconsole.log(value);\n',
    })


DEFINE = {"__DEV__": "false", "__API_URL__": '"https://api.example"', "import.meta.env.CUSTOM": 7}


@pytest.mark.parametrize(("mode", "expected"), [
    ("production", "production production false true prod"),
    ("development", "development development true false prod"),
])
def test_replaced_where_an_expression_reads_the_global(project, mode, expected):
    lines, _ = modrun_lines(project, "main.mjs", mode=mode, define=DEFINE)
    assert lines == [expected + " undefined process.env.NODE_ENV local fake https://api.example false 7"]


def test_commonjs_and_server_define(project):
    async def main(mode: str) -> list[str]:
        lines: list[str] = []
        async with Server(root=project, mode=mode, define={"__API_URL__": '"https://server"'}, cache_dir=False,
                          on_console=lambda level, text: lines.append(text)) as server:
            await server.environments["ssr"].import_module("/both.mjs")
        return lines

    import asyncio
    assert asyncio.run(main("production")) == ["https://server"]
    assert asyncio.run(main("development")) == ["dev https://server"]


@pytest.mark.parametrize(("define", "needle"), [
    ({"not a name": "1"}, "must be an identifier or a member chain"),
    ({"X": object()}, "must be a string of JavaScript or a JSON value"),
    (["X"], "define must be a mapping"),
])
def test_bad_define_is_a_usage_error(tmp_path, define, needle):
    with pytest.raises(UsageError, match=needle):
        Server(root=tmp_path, define=define)
    with pytest.raises(UsageError, match=needle):
        Server(root=tmp_path, environments={"x": {"define": define}})
