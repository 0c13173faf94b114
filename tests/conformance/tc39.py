"""test262 through modrun: every test in a fresh runtime, module tests imported through the
environment and module runner, script tests run as global code with import() routed to the
runner. Prints `N passed, N failed` per directory.

    python -m tests.conformance.tc39 [--evaluator inprocess] [DIR ...]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runner import LoadError, ModrunError, Server
from runner.rpc.client import RunnerClient
from tests.conformance import TEST262

DIRECTORIES = (
    "test/language/module-code",
    "test/language/expressions/dynamic-import",
    "test/language/import",
    "test/language/export",
    "test/language/expressions/import.meta",
)
# What native QuickJS-ng's own test262 run skips in these directories (its test262.conf).
SKIPPED_FEATURES = frozenset({"import-defer", "source-phase-imports"})
TIMEOUT_S = 10.0

_FRONT_MATTER = re.compile(r"/\*---(.*?)---\*/", re.S)

HOST_DEFINED = """
var print = function (...args) { console.log(...args); };
var $262 = {
  global: globalThis,
  evalScript(source) { return (0, eval)(source); },
  createRealm() { throw new Test262Error("$262.createRealm is not supported"); },
  detachArrayBuffer(buffer) {
    if (typeof buffer.transfer !== "function") throw new Test262Error("cannot detach");
    buffer.transfer();
  },
  gc() { throw new Test262Error("$262.gc is not supported"); },
  agent: {},
};
"""


@dataclass
class Test:
    path: Path
    meta: dict[str, Any]
    source: str

    @property
    def flags(self) -> set[str]:
        return set(self.meta.get("flags") or [])

    @property
    def negative(self) -> dict[str, str] | None:
        value = self.meta.get("negative")
        return value if isinstance(value, dict) else None


@dataclass
class Outcome:
    passed: bool
    detail: str = ""


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)


def load_test(path: Path) -> Test:
    source = path.read_text(encoding="utf-8")
    match = _FRONT_MATTER.search(source)
    meta = yaml.safe_load(match.group(1)) if match else {}
    return Test(path, meta or {}, source)


def discover(directory: str) -> list[Path]:
    if (TEST262 / directory).is_file():
        return [TEST262 / directory]
    return sorted(p for p in (TEST262 / directory).rglob("*.js") if "_FIXTURE" not in p.name)


def harness_source(test: Test) -> str:
    if "raw" in test.flags:
        return ""
    names = ["assert.js", "sta.js"]
    if "async" in test.flags:
        names.append("doneprintHandle.js")
    names += list(test.meta.get("includes") or [])
    parts = [HOST_DEFINED] + [(TEST262 / "harness" / name).read_text(encoding="utf-8") for name in names]
    return "\n".join(parts)


def judge(test: Test, error: ModrunError | None, output: list[str]) -> Outcome:
    negative = test.negative
    if negative:
        if error is None:
            return Outcome(False, f"expected {negative.get('type')} in phase {negative.get('phase')}, got success")
        phase = negative.get("phase")
        wanted = negative.get("type")
        if error.name != wanted:
            return Outcome(False, f"expected {wanted}, got {error.name}: {error.message}")
        code = getattr(error, "code", None)
        # A parse error in the test file is the parse phase; one in a module it imports is
        # found while resolving the graph, which is the resolution phase.
        own = error.extra.get("id") in (str(test.path), None) or not str(error.extra.get("id", "")).startswith("/")
        if phase == "parse":
            ok = error.kind == "load" and code == "ERR_PARSE" and own
        elif phase == "resolution":
            ok = error.kind == "load" and (code != "ERR_PARSE" or not own)
        else:
            ok = error.kind == "js"
        return Outcome(ok, "" if ok else f"{wanted} came in the wrong phase ({error.kind}, {code}): {error.message}")
    if error is not None:
        return Outcome(False, f"{error.name}: {error.message}")
    if "async" in test.flags:
        if any(line.startswith("Test262:AsyncTestFailure:") for line in output):
            failure = next(line for line in output if line.startswith("Test262:AsyncTestFailure:"))
            return Outcome(False, failure)
        if "Test262:AsyncTestComplete" not in output:
            return Outcome(False, "async test never called $DONE")
    return Outcome(True)


class Test262Runner:
    def __init__(self, evaluator: str = "inprocess") -> None:
        self.evaluator = evaluator
        self._cache = tempfile.TemporaryDirectory(prefix="modrun-test262-")
        # test262 tests ECMAScript itself (eval and the Function constructor included): the bare profile.
        environments = {"test262": {"evaluator": evaluator, "profile": "bare"}}
        self.server = Server(root=TEST262, environments=environments, cache_dir=self._cache.name)
        self.environment = self.server.environments["test262"]

    async def close(self) -> None:
        await self.server.close()
        self._cache.cleanup()

    async def run(self, test: Test) -> Outcome:
        if "module" in test.flags:
            return await self._once(test, strict=True)
        modes = [False] if "noStrict" in test.flags or "raw" in test.flags else \
            [True] if "onlyStrict" in test.flags else [False, True]
        for strict in modes:
            outcome = await self._once(test, strict=strict)
            if not outcome.passed:
                return Outcome(False, f"[{'strict' if strict else 'sloppy'}] {outcome.detail}")
        return Outcome(True)

    async def _once(self, test: Test, *, strict: bool) -> Outcome:
        output: list[str] = []
        runner = await self.environment.create_runner(on_console=lambda level, text: output.append(text))
        error: ModrunError | None = None
        try:
            harness = harness_source(test)
            if harness:
                await runner.invoke("evalScript", [harness])
            if "module" in test.flags:
                url = "/" + test.path.relative_to(TEST262).as_posix()
                await self._import(runner, url)
            else:
                source = ('"use strict";\n' if strict else "") + test.source
                await self.environment.run_script(str(test.path), source, runner=runner)
            await runner.settle()
        except ModrunError as failure:
            error = failure
        finally:
            await runner.close()
        return judge(test, error, output)

    async def _import(self, runner: RunnerClient, url: str) -> None:
        await runner.invoke("import", [url])


async def run_directories(directories: list[str], evaluator: str, *, verbose: bool = False) -> dict[str, Tally]:
    runner = Test262Runner(evaluator)
    results: dict[str, Tally] = {}
    try:
        for directory in directories:
            tally = results[directory] = Tally()
            for path in discover(directory):
                test = load_test(path)
                if SKIPPED_FEATURES & set(test.meta.get("features") or []):
                    tally.skipped += 1
                    continue
                try:
                    outcome = await asyncio.wait_for(runner.run(test), TIMEOUT_S)
                except TimeoutError:
                    outcome = Outcome(False, "timed out")
                except LoadError as error:
                    outcome = Outcome(False, f"{error.name}: {error.message}")
                if outcome.passed:
                    tally.passed += 1
                else:
                    tally.failed += 1
                    tally.failures.append(f"{path.relative_to(TEST262)}: {outcome.detail}")
            print(f"{directory}: {tally.passed} passed, {tally.failed} failed, {tally.skipped} skipped")
            if verbose:
                for line in tally.failures:
                    print(f"  FAIL {line}")
    finally:
        await runner.close()
    total = Tally(sum(t.passed for t in results.values()), sum(t.failed for t in results.values()),
                  sum(t.skipped for t in results.values()))
    print(f"skipped features (as native QuickJS-ng skips them): {', '.join(sorted(SKIPPED_FEATURES))}")
    print(f"{total.passed} passed, {total.failed} failed, {total.skipped} skipped")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directories", nargs="*", default=list(DIRECTORIES))
    parser.add_argument("--evaluator", default="inprocess")
    parser.add_argument("-v", "--verbose", action="store_true")
    ns = parser.parse_args(argv)
    results = asyncio.run(run_directories(ns.directories, ns.evaluator, verbose=ns.verbose))
    return 0 if all(t.failed == 0 for t in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
