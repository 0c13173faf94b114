"""Differential fuzzing against Node, the CI form: a fixed number of generated module graphs (derandomized,
so every run checks the same graphs) in Node and in every evaluator, and every mismatch the fuzzer found
kept as a regression case. The long run is `python -m tests.fuzzing --examples 10000`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzzing.check import DifferentialChecker
from tests.fuzzing.graphs import Graph, Import, Module, Reexport, Step, graphs

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH: Node is the reference")

CI_EXAMPLES = 100

# Mismatches the fuzzer found, shrunk, each kept as it was found.
REGRESSIONS = {
    # A module evaluated first in a cycle calls the other's hoisted default function, which reads that
    # module's own import: the spec binds imports at link time; the runner format's `const` import
    # variables were still in their TDZ while the early-started module waited for its turn.
    "hoisted-function-in-a-cycle-reads-its-imports": Graph((
        Module(declarations=(), default="function", imports=(Import(1, "named", "a"),)),
        Module(declarations=(("let", "a"), ("let", "b")), default="none", imports=(Import(0, "default"),),
               body=(Step("call", 0),)),
    )),
    # Top-level await reached through a cycle: m1 imports m0, which is still on the evaluation stack
    # (m0 -> m2 -> m1 -> m0); a module on the stack never makes its importer async, so m1 runs in its
    # turn, before m3 (the runner counted m2's await against m1 and ran m3 first).
    "tla-in-a-cycle-does-not-make-an-earlier-sibling-async": Graph((
        Module(declarations=(("let", "a"), ("let", "b")), default="none",
               reexports=(Reexport(0, "star"), Reexport(2, "star"))),
        Module(declarations=(), default="none", reexports=(Reexport(0, "star"),)),
        Module(declarations=(), default="none", imports=(Import(0, "named", "a"), Import(1, "named", "a")),
               reexports=(Reexport(0, "star"), Reexport(3, "star")), body=(Step("await"),)),
        Module(declarations=(), default="none"),
    )),
    # A module started early in a cycle (m1, with top-level await) had not finished its prologue's
    # imports when its turn came, so a later sibling (m2) started fresh ran its body first: evaluation
    # now begins once every early-started module waits at its gate.
    "early-started-module-waits-at-its-gate-before-evaluation": Graph((
        Module(declarations=(("let", "a"), ("let", "b")), default="none", reexports=(Reexport(4, "star"),)),
        Module(declarations=(("let", "a"),), default="value", reexports=(Reexport(0, "star"),),
               body=(Step("await"),)),
        Module(declarations=(), default="none"),
        Module(declarations=(("let", "a"), ("let", "d"), ("let", "c")), default="none",
               imports=(Import(0, "named", "a"), Import(1, "named", "a"))),
        Module(declarations=(), default="none", imports=(Import(3, "named", "a"),), reexports=(Reexport(2, "star"),)),
    )),
    # An async dependency (m3, top-level await) whose subtree holds a synchronous module that took ticks to
    # run (m2, through its JSON import) let its importer (m0) move on to its next dependency (m1) before m3's
    # subtree and m3's synchronous part ran, as InnerModuleEvaluation does: every import was an `await`, so a
    # synchronous module took ticks while top-level-await continuations interleaved. Module bodies now run
    # in the job of their turn (the spec's Evaluate, ModuleRunner.evaluate).
    "async-dependency-whose-subtree-takes-ticks": Graph((
        Module(declarations=(), default="none", imports=(Import(3, "named", "a"), Import(0, "named", "a")),
               reexports=(Reexport(1, "star"),)),
        Module(declarations=(("let", "a"), ("let", "b")), default="none",
               imports=(Import(0, "named", "a"), Import(0, "named", "a")), body=(Step("read", 0), Step("read", 0))),
        Module(declarations=(("let", "c"), ("let", "a")), default="none",
               imports=(Import(0, "json"), Import(4, "bare"), Import(0, "named", "a"))),
        Module(declarations=(("let", "a"), ("let", "b")), default="none",
               imports=(Import(0, "named", "a"), Import(2, "named", "c")),
               body=(Step("read", 0), Step("read", 0), Step("read", 0), Step("await"))),
        Module(declarations=(), default="none"),
    )),
    # Two dynamic imports of modules whose link fails on the same missing export (m1 imports `a`, which
    # m0 lacks; m3 imports m1): the spec links m1 again for m3's import and throws the same SyntaxError.
    # Node answers the second with its own ERR_VM_MODULE_LINK_FAILURE; graphs.py's errorName reads that
    # as the spec's SyntaxError, and this case keeps the comparison honest (modrun must still throw it).
    "a-module-whose-link-failed-fails-again-with-the-same-error": Graph((
        Module(declarations=(), default="none", body=(Step("dynamic", 0), Step("dynamic", 2))),
        Module(declarations=(), default="none", imports=(Import(0, "named", "a"),)),
        Module(declarations=(), default="none"),
        Module(declarations=(), default="none", imports=(Import(1, "named", "a"),)),
    )),
    # m2 runs first in the cycle m0 -> m1 -> m2 -> m1 and calls m1's hoisted default function, which
    # reads m1's JSON import before the JSON module has been evaluated: a JSON module is a synthetic
    # module whose `default` binding exists, undefined, from its link on; it was a TDZ error here.
    "a-json-import-read-before-its-module-ran-is-undefined": Graph((
        Module(declarations=(("let", "a"), ("let", "b")), default="none",
               imports=(Import(0, "named", "a"), Import(1, "named", "a"))),
        Module(declarations=(("let", "a"),), default="function",
               imports=(Import(0, "named", "a"), Import(2, "named", "a"), Import(0, "json")),
               body=(Step("read", 0), Step("read", 0), Step("read", 0))),
        Module(declarations=(("let", "a"), ("let", "b")), default="none", imports=(Import(1, "default"),),
               body=(Step("call", 0),)),
    )),
}


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DifferentialChecker]:
    checker = DifferentialChecker(Path(tmp_path_factory.mktemp("fuzz")))
    yield checker
    checker.close()


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression(checker: DifferentialChecker, name: str) -> None:
    checker.check(REGRESSIONS[name])


def test_generated_graphs(checker: DifferentialChecker) -> None:
    @settings(max_examples=CI_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(graphs())
    def check(graph: Graph) -> None:
        checker.check(graph)

    check()
    assert sum(checker.outcomes.values()) >= CI_EXAMPLES
