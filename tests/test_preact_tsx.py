"""A Preact component tree written in TypeScript and TSX (tests/fixtures/preact_app), rendered to a
string by preact-render-to-string: modrun runs the sources, Node runs TypeScript's own build of
them (transpileModule, npm `typescript`), and the HTML must be the same. Also: a stack trace from
inside a component points at its .tsx line."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner import JSError, Server
from tests.npm_cache import NODE, install

FIXTURE = Path(__file__).parent / "fixtures" / "preact_app"
EVALUATORS = ["inprocess", "wasm", "process"]


@pytest.fixture(scope="module")
def app() -> Path:
    """The installed packages' directory, with the app's sources in app/ (the root of every run)."""
    root = install("tsx")
    shutil.rmtree(root / "app", ignore_errors=True)
    shutil.copytree(FIXTURE, root / "app")
    return root


def node_render(root: Path, overrides: dict[str, Any], out: str) -> str:
    built = subprocess.run([str(NODE), str(root / "build.mjs"), str(root / "app"), str(root / out),
                            json.dumps(overrides)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    done = subprocess.run([str(NODE), "--input-type=module", "-e",
                           f"console.log(JSON.stringify((await import('./{out}/main.js')).default()))"],
                          cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def node_html(app: Path) -> str:
    return node_render(app, {}, "out-production")


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_tsx_component_tree_renders_as_in_node(app: Path, node_html: str, evaluator: str) -> None:
    done = subprocess.run([sys.executable, "-m", "runner", "run", "app/main.tsx", "--call", "default", "--json",
                           "--evaluator", evaluator], cwd=app, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    envelope = json.loads(done.stdout)
    assert envelope["exports"] == ["crash", "default"]
    assert envelope["result"] == node_html
    assert node_html.startswith('<main style="color:red;margin-top:4px;"><header data-theme="dark">')
    assert "sale &amp; more\u00a0\u2605" in node_html  # entities decoded, then escaped by the renderer


def test_development_mode_uses_the_dev_runtime_and_renders_the_same(app: Path) -> None:
    expected = node_render(app, {"jsx": "react-jsxdev"}, "out-development")

    async def main() -> tuple[str, str]:
        async with Server(root=app, cache_dir=False, mode="development") as server:
            environment = server.environments["ssr"]
            module = await environment.import_module("/app/main.tsx")
            html = await module.default()
            lowered = await environment.transform_request("/app/components/List.tsx")
            return html, lowered.code

    html, code = asyncio.run(main())
    assert html == expected
    assert "preact/jsx-dev-runtime" in code and ".jsxDEV)(" in code


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_stack_trace_points_at_the_tsx_line(app: Path, evaluator: str) -> None:
    async def main() -> str:
        async with Server(root=app, cache_dir=False, environments={"ssr": {"evaluator": evaluator}}) as server:
            module = await server.environments["ssr"].import_module("/app/main.tsx")
            with pytest.raises(JSError) as caught:
                await module.crash()
            return caught.value.stack

    stack = asyncio.run(main())
    lines = (FIXTURE / "components" / "App.tsx").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "items.reduce" in text)
    caller = next(i for i, text in enumerate((FIXTURE / "main.tsx").read_text().splitlines(), 1)
                  if "null as never" in text)
    assert f"app/main.tsx:{caller}:" in stack
    if evaluator == "wasm":
        # This engine build reports a frame at the start of its function, in plain .js files too.
        assert "at App (" in stack and "app/components/App.tsx:" in stack
    else:
        assert f"app/components/App.tsx:{line}:17" in stack, stack
