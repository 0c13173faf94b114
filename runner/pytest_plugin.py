"""modrun's pytest plugin (the `pytest11` entry point `modrun`, installed with modrun): fixtures
that give a test a Server for a JS project, one of its environments and its modules, synchronous
(SyncServer), closed after the test. `assert_edge_compatible` (re-exported from `runner`) needs no
fixture. README, "Testing with pytest".

Where the project is and how its environment runs: the `modrun` marker of a test (or of its module,
class or conftest), else the ini options, else the rootdir and the edge profile.

    @pytest.mark.modrun(root="app", profile="edge", evaluator="wasm", limits={"cpu_ms": 200})
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .sync import SyncEnvironment, SyncModule, SyncServer

ENVIRONMENT = "test"
_SERVER_OPTIONS = ("root", "profile", "evaluator", "limits", "conditions")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("modrun_root", "the JS project the modrun fixtures serve, relative to the rootdir", default=".")
    parser.addini("modrun_profile", "the profile of the modrun fixtures' environment (edge or bare)", default="edge")
    parser.addini("modrun_evaluator", "the evaluator of the modrun fixtures' environment", default="inprocess")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "modrun(root=None, profile=None, evaluator=None, limits=None, "
                            "conditions=None): the project and environment of the modrun fixtures")


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("modrun")
    given = dict(marker.kwargs) if marker is not None else {}
    unknown = sorted(set(given) - set(_SERVER_OPTIONS))
    if unknown:
        raise pytest.UsageError(f"@pytest.mark.modrun: unknown option {', '.join(unknown)} "
                                f"(known: {', '.join(_SERVER_OPTIONS)})")
    config = request.config
    rootdir = Path(str(config.rootpath))
    root = given.get("root") or config.getini("modrun_root")
    given["root"] = (rootdir / root).resolve()
    given.setdefault("profile", config.getini("modrun_profile"))
    given.setdefault("evaluator", config.getini("modrun_evaluator"))
    return given


@pytest.fixture
def modrun_root(request: pytest.FixtureRequest) -> Path:
    """The root of the project under test (absolute)."""
    root: Path = _options(request)["root"]
    return root


@pytest.fixture
def modrun_server(request: pytest.FixtureRequest) -> Iterator[SyncServer]:
    """A SyncServer for the project, with one environment, `test`; closed after the test."""
    from .sync import SyncServer

    options = _options(request)
    environment = {key: options[key] for key in ("profile", "evaluator", "limits", "conditions")
                   if options.get(key) is not None}
    with SyncServer(root=options["root"], environments={ENVIRONMENT: environment}) as server:
        yield server


@pytest.fixture
def modrun_environment(modrun_server: SyncServer) -> SyncEnvironment:
    """The server's `test` environment."""
    return modrun_server.environments[ENVIRONMENT]


@pytest.fixture
def modrun_import(modrun_environment: SyncEnvironment) -> Callable[[str], SyncModule]:
    """Import a module of the project (a root-relative url such as "/src/entry.js", or a path) in the
    environment's runtime: its exports, functions callable from the test."""
    return modrun_environment.import_module
