"""Real npm packages (tests/npm/packages, installed by npm from a pinned lockfile): each case of
npm_cases.py prints the same lines under modrun, in every evaluator, as under Node; and every
module of those graphs is fetched once (one fetchModule per module, none extra per require)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.node_compare import EVALUATORS, modrun_lines, node_lines
from tests.npm_cache import install
from tests.npm_cases import CASES, SUPPORT, Case


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
    return {name: node_lines(packages, f"cases/{case.file}") for name, case in CASES.items()}


def _run(root: Path, case: Case, evaluator: str) -> tuple[list[str], int, int]:
    """The case's console lines, and the fetchModule requests and distinct modules of its import."""
    config = {"conditions": case.conditions} if case.conditions else {}
    lines, fetched = modrun_lines(root, f"cases/{case.file}", evaluator, **config)
    return lines, len(fetched), len(set(fetched))


@pytest.mark.parametrize("evaluator", EVALUATORS)
@pytest.mark.parametrize("name", list(CASES))
def test_same_output_as_node(packages, node_output, name, evaluator):
    lines, requests, modules = _run(packages, CASES[name], evaluator)
    assert lines == node_output[name]
    assert requests == modules, f"{requests} fetchModule requests for {modules} modules"


def test_round_trips_per_module(packages, capsys):
    """One fetchModule per module on every graph (printed for the record)."""
    report = []
    for name, case in CASES.items():
        _, requests, modules = _run(packages, case, "inprocess")
        report.append(f"{name}: {modules} modules, {requests} fetchModule requests")
        assert requests == modules
    with capsys.disabled():
        print("\n" + "\n".join(report))
