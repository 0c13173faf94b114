"""Vite's module-runner fixtures, run through modrun and judged against Node.

The cases are listed in ../shared/conformance/vite-fixtures/cases.txt (name and path in the Vite
repository); the expected outcome of each is the NODE line of node-vs-qjs-results.txt:

    OK <json>              exports as JSON; "<fn()=v>" is a function returning v, "<undefined>" undefined
    LOG <text>             console output printed before the outcome (zero or more)
    ERR <Name>: <message>  importing throws

Where Vite and the spec disagree (cycles, star-export conflicts) modrun follows Node, so these
are Node's answers, not Vite's. Messages are compared except for TDZ ReferenceErrors, whose
wording is the engine's.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runner import JSFunction, JSOpaque, ModrunError, Server
from tests.conformance import VITE_FIXTURES, needs_conformance

FIXTURES = VITE_FIXTURES
CASES_FILE = FIXTURES / "cases.txt"
RESULTS_FILE = FIXTURES / "node-vs-qjs-results.txt"

pytestmark = needs_conformance

# Vite repository folders -> folders on disk (the fixtures directory is the project root).
PREFIXES = {
    "packages/vite/src/node/ssr/runtime/__tests__/fixtures/": "runtime",
    "packages/vite/src/node/ssr/__tests__/fixtures/": "ssr",
}


@dataclass
class Expected:
    logs: list[str] = field(default_factory=list)
    exports: dict[str, Any] | None = None  # None when an error is expected
    error_name: str | None = None
    error_message: str | None = None


def load_cases() -> dict[str, tuple[Path, str]]:
    """name -> (root directory, root-relative url of the entry)."""
    if not CASES_FILE.is_file():
        return {}
    cases = {}
    for line in CASES_FILE.read_text().splitlines():
        if not line.strip():
            continue
        name, vite_path = line.split()
        for prefix, folder in PREFIXES.items():
            if vite_path.startswith(prefix):
                cases[name] = (FIXTURES / folder, "/" + vite_path[len(prefix):])
                break
        else:
            raise AssertionError(f"{name}: no fixtures folder for {vite_path}")
    return cases


def parse_outcome(text: str) -> Expected:
    expected = Expected()
    rest = text.strip()
    while rest.startswith("LOG "):
        match = re.match(r"LOG (.*?) (?=LOG |OK |ERR )", rest)
        assert match, f"unparsable outcome: {text!r}"
        expected.logs.append(match.group(1))
        rest = rest[match.end():]
    if rest.startswith("OK "):
        expected.exports = json.loads(rest[3:])
    else:
        match = re.fullmatch(r"ERR (\w+): (.*)", rest)
        assert match, f"unparsable outcome: {text!r}"
        expected.error_name, expected.error_message = match.group(1), match.group(2)
    return expected


def load_results(engine: str) -> dict[str, Expected]:
    """The outcomes of one engine ("NODE" or "QJS") by case name, read at test time."""
    results: dict[str, Expected] = {}
    current = None
    for line in RESULTS_FILE.read_text().splitlines():
        match = re.match(r"^(\S+)?\s+(NODE|QJS )\s?: (.*)$", line)
        if not match:
            continue
        current = match.group(1) or current
        if match.group(2).strip() == engine:
            assert current is not None
            results[current] = parse_outcome(match.group(3))
    return results


CASES = load_cases()


@pytest.fixture(scope="module")
def node_results() -> dict[str, Expected]:
    return load_results("NODE")


async def import_case(root: Path, url: str, cache_dir: Path,
                      evaluator: str = "inprocess") -> tuple[Any, list[tuple[str, str]], dict[str, Any]]:
    """Import the entry in a fresh server; return (error or None, console lines, exports).
    Exported functions are called with no arguments and shown as "<fn()=result>"."""
    logs: list[tuple[str, str]] = []
    def on_console(level: str, text: str) -> None:
        logs.append((level, text))

    async with Server(root=root, cache_dir=cache_dir, on_console=on_console,
                      environments={"ssr": {"evaluator": evaluator}}) as server:
        try:
            mod = await server.environments["ssr"].import_module(url)
        except ModrunError as error:
            return error, logs, {}
        values = {}
        for name in mod.exports:
            value = mod[name]
            if isinstance(value, JSFunction):
                result = await value()
                shown = result if isinstance(result, str) else json.dumps(result)
                values[name] = f"<fn()={shown}>"
            elif isinstance(value, JSOpaque):
                values[name] = f"<{value.type} {value.text}>"
            else:
                values[name] = value
        return None, logs, values


def normalise_expected(value: Any) -> Any:
    """Node's "<undefined>" arrives in Python as None (undefined crosses as null)."""
    if value == "<undefined>":
        return None
    if isinstance(value, dict):
        return {k: normalise_expected(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise_expected(v) for v in value]
    return value


def test_every_case_has_an_entry_and_a_node_result(node_results: dict[str, Expected]) -> None:
    assert len(CASES) >= 19
    for name, (root, url) in CASES.items():
        assert (root / url.lstrip("/")).is_file(), f"{name}: {root / url.lstrip('/')} is missing"
        assert name in node_results, f"{name}: no NODE line in {RESULTS_FILE.name}"


@pytest.mark.parametrize("evaluator", ("inprocess", "wasm", "process"))
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_node(name: str, evaluator: str, node_results: dict[str, Expected], tmp_path: Path) -> None:
    root, url = CASES[name]
    expected = node_results[name]
    error, logs, values = asyncio.run(import_case(root, url, tmp_path / "cache", evaluator))

    assert [text for _, text in logs] == expected.logs
    assert all(level == "log" for level, _ in logs)
    if expected.exports is not None:
        assert error is None, f"{name}: expected exports, got {error.kind} {error.name}: {error.message}"
        assert sorted(values) == sorted(expected.exports)
        assert values == normalise_expected(expected.exports)
    else:
        assert error is not None, f"{name}: expected {expected.error_name}, got exports {values}"
        assert error.kind == "js"
        assert error.name == expected.error_name
        if expected.error_name != "ReferenceError":  # TDZ wording differs between engines
            assert error.message == expected.error_message


@pytest.mark.xfail(strict=True, reason="TDZ error in a cycle through `export default <imported binding>` names "
                   "the transform's generated variable (__vite_ssr_export_default__), not a name in the source")
def test_tdz_message_names_a_source_binding(tmp_path: Path) -> None:
    root, url = CASES["cyclic2-test9"]
    error, _, _ = asyncio.run(import_case(root, url, tmp_path / "cache"))
    assert error is not None and error.name == "ReferenceError"
    # Node: "Cannot access 'dep' before initialization"; native QuickJS: "dep is not initialized".
    assert "__vite_ssr" not in error.message
    assert "dep" in error.message
