"""`data:` URL imports run as in Node (the same output, compared with node's: a `?` or `#` ends the
module's text, as it ends a URL's path), a relative import in one fails
as in Node, a data: URL that is not JavaScript or not decodable fails to load with why, and an http(s) import
says that modules are not fetched over the network."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner import LoadError, Server

NODE = shutil.which("node")

MAIN = """\
import b64 from "data:text/javascript;base64,ZXhwb3J0IGRlZmF1bHQgImZyb20gYmFzZTY0Ijs=";
import { a, b } from "data:text/javascript,export const a = 1 %3F 'yes' : 'no'; export const b = '%E2%9C%93';";
import q from "data:text/javascript,export default 'no query'?export default 1#and no fragment";
const dynamic = await import("data:text/javascript;charset=utf-8,export const later = typeof window;");
console.log(JSON.stringify([b64, a, b, q, dynamic.later]));
"""


@pytest.mark.skipif(NODE is None, reason="node is the reference")
def test_data_urls_run_as_in_node(tmp_path: Path) -> None:
    (tmp_path / "main.mjs").write_text(MAIN)
    ours = subprocess.run([sys.executable, "-m", "runner", "run", "main.mjs"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    node = subprocess.run([str(NODE), "main.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert ours.returncode == node.returncode == 0, ours.stderr + node.stderr
    assert ours.stdout == node.stdout == '["from base64","yes","✓","no query","undefined"]\n'


def _load_error(root: Path, source: str) -> LoadError:
    (root / "main.mjs").write_text(source)

    async def main() -> LoadError:
        async with Server(root=root, cache_dir=False) as server:
            with pytest.raises(LoadError) as caught:
                await server.environments["ssr"].import_module("/main.mjs")
            return caught.value

    return asyncio.run(main())


@pytest.mark.parametrize(("source", "code", "words"), [
    ('import "data:text/javascript,import \\"./x.mjs\\"";', "ERR_UNSUPPORTED_RESOLVE_REQUEST",
     "Cannot resolve './x.mjs' from a data: URL module: it has no directory"),
    ('import "data:application/json,{}";', "ERR_LOAD", "a data: URL of type 'application/json' is not a module"),
    ('import "data:text/javascript;base64,not base64!";', "ERR_LOAD", "its data is not base64 of UTF-8 text"),
    ('import "https://example.com/x.js";', "ERR_UNSUPPORTED_ESM_URL_SCHEME",
     "Cannot load 'https://example.com/x.js' imported from"),
])
def test_what_cannot_be_imported_says_why(tmp_path: Path, source: str, code: str, words: str) -> None:
    (tmp_path / "x.mjs").write_text("export {};\n")
    error = _load_error(tmp_path, source)
    assert error.code == code and words in error.message, (error.code, error.message)


def test_a_data_module_is_named_by_its_url_in_errors(tmp_path: Path) -> None:
    url = "data:text/javascript,export const a = 1; throw new Error('boom')"
    (tmp_path / "throws.mjs").write_text(f'import "{url}";\n')
    thrown = subprocess.run([sys.executable, "-m", "runner", "run", "throws.mjs"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert thrown.returncode == 1
    assert f"at <module> ({url}:1:31)" in thrown.stderr
    error = _load_error(tmp_path, 'import "data:text/javascript,export default (";\n')
    assert error.loc is not None and error.loc.file == "data:text/javascript,export default ("  # no \0 in it
    assert error.message.endswith("importer chain: /main.mjs -> /@id/__x00__data:text/javascript,export default (")
    assert "\0" not in error.message + (error.stack or "")
