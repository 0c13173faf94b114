"""The README's "Embedding modrun in a Python application" example, as printed there: its module is
written out, its Python blocks are type-checked with mypy (strict) and run — the asyncio host, the
ASGI app answering a request (through httpx's ASGI transport) and the sync facade."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
SECTION = "## Embedding modrun in a Python application"
ASGI_REQUEST = """
import asyncio

import httpx


async def request() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as client:
        answer = await client.get("/users/7")
        assert answer.json() == {"greeting": "hello", "user": {"id": "7", "name": "Ada"}}, answer.text
    await app.shutdown()


asyncio.run(request())
"""


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    text = README.read_text()
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```(js|python)\n(.*?)```", section, re.S)
    assert [kind for kind, _ in blocks] == ["js", "python", "python", "python"]
    root = tmp_path_factory.mktemp("embedding")
    (root / "site" / "src").mkdir(parents=True)
    (root / "site" / "src" / "app.js").write_text(blocks[0][1])
    scripts = []
    for i, (_, code) in enumerate(blocks[1:]):
        script = root / f"host_{i}.py"
        script.write_text(code + (ASGI_REQUEST if "ModrunASGI(" in code else ""))
        scripts.append(script)
    return root, scripts


def test_the_example_type_checks(example: tuple[Path, list[Path]]) -> None:
    root, scripts = example
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports", "--no-incremental",
                           *map(str, scripts)], cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("which", [0, 1, 2], ids=["asyncio", "asgi", "sync"])
def test_the_example_runs(example: tuple[Path, list[Path]], which: int) -> None:
    root, scripts = example
    done = subprocess.run([sys.executable, str(scripts[which])], cwd=root, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
