"""How a module's file is read: UTF-8, line ends translated as Python's text mode does (CRLF and a
lone CR become LF, so lines, columns and code frames count as the file's lines), and a file that is
not UTF-8 fails naming the byte and its line and column, and the modules that imported it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from runner import LoadError, Server


async def imported(root: Path, url: str) -> object:
    async with Server(root=root, cache_dir=False) as server:
        return await server.environments["ssr"].import_module(url)


@pytest.mark.parametrize("end", ["\r\n", "\r", "\n"])
def test_line_ends_count_as_lines_in_errors(tmp_path: Path, end: str) -> None:
    (tmp_path / "a.js").write_bytes(end.join(["const a = 1;", "const b = 2;", "const = 3;", ""]).encode())
    with pytest.raises(LoadError) as caught:
        asyncio.run(imported(tmp_path, "/a.js"))
    error = caught.value
    assert error.loc is not None and error.loc.line == 3
    assert error.frame is not None and "const = 3;" in error.frame and "\r" not in error.frame


def test_a_file_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_bytes(b"export const s = '" + b"x" * 10_000 + b"\xff';\n")
    with pytest.raises(LoadError) as caught:
        asyncio.run(imported(tmp_path, "/a.js"))
    assert caught.value.code == "ERR_LOAD"
    assert caught.value.message.endswith("it is not UTF-8 text (byte 0xff at line 1, column 10019)")


def test_a_module_that_cannot_be_read_names_its_importers(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text('import "./b.js";\n')
    (tmp_path / "b.js").write_text('import "./c.js";\n')
    (tmp_path / "c.js").write_bytes(b"export const s = 1;\n\x80\n")
    with pytest.raises(LoadError) as caught:
        asyncio.run(imported(tmp_path, "/a.js"))
    assert caught.value.code == "ERR_LOAD"
    assert caught.value.message.endswith(
        "it is not UTF-8 text (byte 0x80 at line 2, column 1)\n  importer chain: /a.js -> /b.js -> /c.js")
