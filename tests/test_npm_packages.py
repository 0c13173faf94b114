"""Real npm packages (tests/npm/packages, installed by npm from a pinned lockfile): each case of
npm_cases.py prints the same lines under modrun, in every evaluator, as under Node; and every
module of those graphs is fetched once (one fetchModule per module, none extra per require)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from runner import Server
from tests.npm_cache import NODE, install
from tests.npm_cases import CASES, SUPPORT, Case

EVALUATORS = ("inprocess", "wasm", "process")


@pytest.fixture(scope="module")
def packages() -> Path:
    target = install("packages")
    cases = target / "cases"
    cases.mkdir(exist_ok=True)
    for name, source in SUPPORT.items():
        (cases / name).write_text(source)
    for case in CASES.values():
        (cases / case.file).write_text(case.source)
    return target


@pytest.fixture(scope="module")
def node_output(packages: Path) -> dict[str, list[str]]:
    assert NODE is not None
    out = {}
    for name, case in CASES.items():
        done = subprocess.run([NODE, f"cases/{case.file}"], cwd=packages, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "TZ": "UTC", "NODE_ENV": "production"})
        assert done.returncode == 0, f"{name} under node: {done.stderr}"
        out[name] = done.stdout.splitlines()
    return out


async def _run(root: Path, case: Case, evaluator: str) -> tuple[list[str], int, int]:
    """The case's console lines, and the fetchModule requests and distinct modules of its import."""
    lines: list[str] = []
    config: dict[str, object] = {"evaluator": evaluator}
    if case.conditions:
        config["conditions"] = case.conditions
    async with Server(root=root, environments={"npm": config},
                      on_console=lambda level, text: lines.append(text)) as server:
        environment = server.environments["npm"]
        fetched: list[str] = []
        fetch = environment.fetch_module

        async def counting(url, importer=None, options=None):  # type: ignore[no-untyped-def]
            result = await fetch(url, importer, options)
            fetched.append(result.get("id", url))
            return result

        environment.fetch_module = counting  # type: ignore[method-assign]
        await environment.import_module(f"/cases/{case.file}")
    return lines, len(fetched), len(set(fetched))


@pytest.mark.parametrize("evaluator", EVALUATORS)
@pytest.mark.parametrize("name", list(CASES))
def test_same_output_as_node(packages, node_output, name, evaluator):
    lines, requests, modules = asyncio.run(_run(packages, CASES[name], evaluator))
    assert lines == node_output[name]
    assert requests == modules, f"{requests} fetchModule requests for {modules} modules"


def test_round_trips_per_module(packages, capsys):
    """One fetchModule per module on every graph (printed for the record)."""
    report = []
    for name, case in CASES.items():
        _, requests, modules = asyncio.run(_run(packages, case, "inprocess"))
        report.append(f"{name}: {modules} modules, {requests} fetchModule requests")
        assert requests == modules
    with capsys.disabled():
        print("\n" + "\n".join(report))
