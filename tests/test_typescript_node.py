"""TypeScript and JSX, modrun against Node: every case of tests/ts_cases.py is built for Node by
TypeScript's own `transpileModule` (npm `typescript`, pinned in tests/npm/tsx) and run there, and
run by modrun from its sources under each evaluator; the results must be equal."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from runner import Server
from tests.npm_cache import NODE, install
from tests.project_files import write
from tests.ts_cases import CASES, DEV_CASES, FAKE_JSX

EVALUATORS = ["inprocess", "wasm", "process"]
_NODE_RUNNER = """
const mains = JSON.parse(process.argv[1]);
const out = {};
for (const [name, main] of Object.entries(mains)) {
  try { out[name] = (await import(`./out/${name}/${main}`)).result; }
  catch (error) { out[name] = { error: String(error) }; }
}
console.log(JSON.stringify(out));
"""


def _main(files: dict[str, str]) -> str:
    return next(name for name in files if name.startswith("main."))


def _node_results(root: Path, cases: dict[str, dict[str, str]], overrides: dict[str, Any]) -> dict[str, Any]:
    tools = install("tsx")
    for name in cases:
        built = subprocess.run([str(NODE), str(tools / "build.mjs"), str(root / name), str(root / "out" / name),
                                json.dumps(overrides)], capture_output=True, text=True, timeout=120)
        assert built.returncode == 0, built.stderr
    mains = {name: _main(files).rsplit(".", 1)[0] + (".mjs" if _main(files).endswith(".mts") else ".js")
             for name, files in cases.items()}
    done = subprocess.run([str(NODE), "--input-type=module", "-e", _NODE_RUNNER, json.dumps(mains)],
                          cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _modrun_results(root: Path, cases: dict[str, dict[str, str]], evaluator: str, mode: str) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with Server(root=root, cache_dir=False, mode=mode,
                          environments={"ssr": {"evaluator": evaluator}}) as server:
            for name, files in cases.items():
                module = await server.environments["ssr"].import_module(f"/{name}/{_main(files)}")
                out[name] = module.result
        return out

    return asyncio.run(main())


def _project(root: Path, cases: dict[str, dict[str, str]]) -> Path:
    write(root, FAKE_JSX)
    write(root, {"package.json": '{"type": "module"}'})
    for name, files in cases.items():
        write(root / name, files)
    return root


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = _project(tmp_path_factory.mktemp("ts-cases"), CASES)
    # The .jsx case: TypeScript builds it like .tsx with allowJs semantics.
    return root, _node_results(root, CASES, {"allowJs": True})


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_cases_match_node(production: tuple[Path, dict[str, Any]], evaluator: str) -> None:
    root, expected = production
    got = _modrun_results(root, CASES, evaluator, "production")
    for name in CASES:
        assert "error" not in expected[name], f"{name}: Node failed: {expected[name]}"
        assert got[name] == expected[name], name


def test_development_jsx_matches_node(tmp_path: Path) -> None:
    root = _project(tmp_path, DEV_CASES)
    expected = _node_results(root, DEV_CASES, {"jsx": "react-jsxdev"})
    got = _modrun_results(root, DEV_CASES, "inprocess", "development")
    # jsxDEV's source position: TypeScript gives where the trivia before the element starts (the
    # end of the previous token); modrun gives the element's own line and column, as Babel does.
    positions: list[list[int]] = []
    _without_positions(got, positions)
    assert sorted(positions) == [[4, 3], [5, 3], [5, 26], [5, 26], [6, 5]]
    _without_positions(expected, [])
    assert got == expected


def _without_positions(value: Any, found: list[list[int]]) -> None:
    """Replace each recorded jsxDEV `extra` ([isStatic, line, column]) by isStatic, collecting the
    positions."""
    if isinstance(value, dict):
        if isinstance(value.get("extra"), list) and value.get("fn") == "jsxDEV":
            found.append(value["extra"][1:])
            value["extra"] = value["extra"][0]
        for item in value.values():
            _without_positions(item, found)
    elif isinstance(value, list):
        for item in value:
            _without_positions(item, found)
