"""The layer rule of evaluators/: a runtime backend knows the runner only through the transport
contract (errors, limits, the protocol, the wire format, the transport base, the code keys whose
wrappers an engine's host checks) and the bundle it boots (with the profiles it is built for), and
the storage helpers its code store shares with the transform cache (empty_at_open, cache_database),
and the process's promise to wait for writes left to threads (exit_waits), and the machine's idle
cores (cores: whether work beside the host's own pays); never the server side (environments,
plugins, transforms, the module graph)."""

from __future__ import annotations

import ast
from pathlib import Path

EVALUATORS = Path(__file__).resolve().parents[1] / "evaluators"
ALLOWED = {"runner.errors", "runner.limits", "runner.rpc.protocol", "runner.rpc.wire", "runner.rpc.transport",
           "runner.rpc.code_keys", "runner.js.bundle", "runner.js.profiles", "runner.empty_at_open",
           "runner.cache_database", "runner.exit_waits", "runner.cores"}


def _runner_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "runner.rpc":  # `from runner.rpc import wire`
                names.update(f"runner.rpc.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name == "runner" or name.startswith("runner.")}


def test_evaluators_import_only_the_transport_contract_of_the_runner() -> None:
    found = {str(path.relative_to(EVALUATORS)): imports - ALLOWED
             for path in sorted(EVALUATORS.rglob("*.py")) if (imports := _runner_imports(path))}
    assert found  # the scan saw the evaluators' imports
    assert {path: extra for path, extra in found.items() if extra} == {}
