"""The web-platform-tests of the event loop (timers, queueMicrotask and the global's error event,
performance.now) under the edge profile through every evaluator, and of the folders where modrun
once passed fewer subtests than Node (in-process, where the profile's JS is the same in every
evaluator), beside Node run natively on the same files in the same session: the bounded CI form of
`python -m tests.conformance.wpt`, which runs every folder.

Every subtest Node passes must pass here; the failures this profile cannot avoid are listed with
their cause, and one that starts passing fails the test so the list stays true.
"""

from __future__ import annotations

import asyncio
import functools
import shutil

import pytest

from tests.conformance import needs_conformance
from tests.conformance.wpt import HARNESS, FileResult, Report, Tally, load_manifest, run, run_node, select

pytestmark = [needs_conformance, pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")]

EVALUATORS = ("inprocess", "wasm", "process")
DIRECTORIES = ("html/webappapis/timers", "html/webappapis/microtask-queuing", "hr-time")
PROFILE = "edge"
#: the harness's timeouts as WPT has them (10 s): these tests wait for timers of a few milliseconds
MULTIPLIER = 1.0
# The edge profile refuses code generation from strings, as workerd and Vercel's runtime do, and a
# string handler given to setTimeout is that (Node fails this test too: it takes no string handler).
EVIL = "html/webappapis/timers/evil-spec-example.any.js"
KNOWN_FAILURES = {(EVIL, "Interaction of setTimeout and WebIDL"), (EVIL, HARNESS)}


# Folders that were below Node, kept at or above it: the subtests that still fail here and pass in
# Node are core-js's structuredClone (an Error's message copied when it is only inherited; a typed
# array out of its buffer's bounds cloned rather than refused; a MessagePort it cannot transfer).
GAP_DIRECTORIES = ("fetch/api/headers", "console", "webidl/ecmascript-binding/es-exceptions",
                   "WebCryptoAPI/sign_verify", "dom/abort", "html/webappapis/structured-clone")
CLONE = "html/webappapis/structured-clone/structured-clone.any.js"
CORE_JS_LIMITS = {(CLONE, "Empty Error object"), (CLONE, "Serializing OOB TypedArray throws"), (CLONE, "MessagePort")}


def _tests(directories: tuple[str, ...] = DIRECTORIES):
    return select(load_manifest(), list(directories))


@functools.cache
def _node(directories: tuple[str, ...] = DIRECTORIES) -> dict[str, FileResult]:
    async def main() -> dict[str, FileResult]:
        tests = _tests(directories)
        return dict(zip([t.path for t in tests], await asyncio.gather(*(run_node(t, MULTIPLIER) for t in tests)),
                        strict=True))

    return asyncio.run(main())


@functools.cache
def _modrun(evaluator: str, directories: tuple[str, ...] = DIRECTORIES) -> Report:
    report = asyncio.run(run(_tests(directories), evaluator, PROFILE, MULTIPLIER, jobs=1, node=False))
    report.node = _node(directories)
    return report


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_every_subtest_node_passes_passes_here(evaluator):
    report = _modrun(evaluator)
    assert report.regressions() == [(path, name, message) for path, name, message in report.regressions()
                                    if (path, name) in KNOWN_FAILURES]
    mine, node = report.tallies(report.modrun), report.tallies(report.node)
    assert set(mine) == set(DIRECTORIES)
    for directory in DIRECTORIES:
        assert mine[directory].passed >= node.get(directory, Tally()).passed - _known(directory), directory
        assert mine[directory].passed > 0


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_failures_are_the_known_ones(evaluator):
    report = _modrun(evaluator)
    failures = {(path, name): message for path, result in report.modrun.items()
                for name, ok, message in result.outcomes(path) if not ok}
    assert set(failures) == KNOWN_FAILURES, failures


def _known(directory: str) -> int:
    return sum(1 for path, name in KNOWN_FAILURES if path.startswith(directory + "/") and name != HARNESS)


def test_the_folders_once_below_node_are_at_or_above_it():
    report = _modrun("inprocess", GAP_DIRECTORIES)
    assert {(path, name) for path, name, _ in report.regressions()} == CORE_JS_LIMITS
    mine, node = report.tallies(report.modrun), report.tallies(report.node)
    assert set(mine) == set(GAP_DIRECTORIES)
    for directory in GAP_DIRECTORIES:
        assert mine[directory].passed >= node[directory].passed > 0, directory
