"""The web-platform-tests of the edge profile's APIs (../shared/conformance/wpt) through modrun, with
Node run natively on the same files in the same run as the reference. Prints `N passed, N failed`
per directory, counting subtests, for modrun and for Node, then every subtest that fails in modrun
and passes in Node, with modrun's message.

    python -m tests.conformance.wpt [--evaluator inprocess] [--profile NAME] [PATH ...]

Each `.any.js` test runs in a fresh runtime as WPT's worker wrapper would run it: `self`,
`GLOBAL`, `location`, testharness.js, the `// META: script=` files, then the test, each a classic
script; the runtime's event loop runs until the harness completes (or its timeout: 10 s, 60 s for
`// META: timeout=long`, times --timeout-multiplier). Data files of the tree are served to the
test's `fetch()` by the environment's fetch handler. Node runs tests/conformance/wpt_node.mjs, one
process per test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from runner import ModrunError, Server
from runner.capabilities.fetch import FetchRequest, FetchResponse
from runner.rpc.client import RunnerClient
from runner.rpc.exports import ModuleProxy
from tests.conformance import CONFORMANCE

WPT = CONFORMANCE / "wpt"
NODE_HOST = Path(__file__).with_name("wpt_node.mjs")
ORIGIN = "http://web-platform.test:8000"
TIMEOUT_S = 10.0
LONG_TIMEOUT_S = 60.0
#: beyond the harness's own timeout, how long the host waits before it stops a test
GRACE_S = 10.0

TEST_STATUS = {0: "PASS", 1: "FAIL", 2: "TIMEOUT", 3: "NOTRUN", 4: "PRECONDITION_FAILED"}
HARNESS_STATUS = {0: "OK", 1: "ERROR", 2: "TIMEOUT", 3: "PRECONDITION_FAILED"}
HARNESS = "(harness)"  # the name under which a harness that did not end OK counts as one failure

#: Subtests left out of both columns because no QuickJS runtime can pass them: (file, subtest names
#: matched from the start, the reason). Each is printed with its count on every run.
NO_WEBASSEMBLY = ("QuickJS has no WebAssembly, and common/sab.js (or the test itself) makes its "
                  "SharedArrayBuffer with new WebAssembly.Memory({shared: true})")
EXCLUDED: list[tuple[str, re.Pattern[str], str]] = [
    ("encoding/encodeInto.any.js", re.compile(r".*SharedArrayBuffer"), NO_WEBASSEMBLY),
    ("encoding/textdecoder-streaming.any.js", re.compile(r".*SharedArrayBuffer"), NO_WEBASSEMBLY),
    ("encoding/streams/decode-utf8.any.js", re.compile(r".*SharedArrayBuffer"), NO_WEBASSEMBLY),
    ("encoding/streams/decode-utf8.any.js", re.compile(r"decoding a transferred (Uint8Array|ArrayBuffer) chunk"),
     "defined after the SharedArrayBuffer cases, whose WebAssembly.Memory throws at the top level of the file, "
     "so in a runtime without WebAssembly the file stops before it defines these"),
    ("streams/readable-byte-streams/non-transferable-buffers.any.js", re.compile(r".*with a non-transferable buffer"),
     "QuickJS has no WebAssembly, and the test's buffer that cannot be transferred is a WebAssembly.Memory's"),
]

RESULTS_MODULE = "virtual:wpt-results"
#: a script whose first statement is the "use strict" directive (after comments and blank lines)
STRICT = re.compile(r"""(?:\s+|//[^\n]*|/\*.*?\*/)*(['"])use strict\1""", re.S)

PRELUDE = """
globalThis.self = globalThis;
globalThis.GLOBAL = { isWindow: () => false, isWorker: () => true, isShadowRealm: () => false };
globalThis.location = typeof URL === "function" ? new URL(%(location)s)
  : { href: %(location)s, origin: %(origin)s, pathname: %(pathname)s, search: "", hash: "" };
"""

COLLECTOR = """
(() => {
  const results = { harness: null, tests: [] };
  let settle;
  const promise = new Promise((resolve) => { settle = resolve; });
  const text = (value) => (value === undefined || value === null ? null : String(value));
  add_result_callback((test) => {
    results.tests.push({ name: String(test.name), status: test.status, message: text(test.message) });
  });
  const timer = setTimeout(() => timeout(), %(timeout_ms)d);
  add_completion_callback((tests, status) => {
    clearTimeout(timer);
    results.harness ??= { status: status.status, message: text(status.message) };
    settle(results);
  });
  globalThis.__wpt = {
    results: promise,
    scriptError(message) {
      results.harness ??= { status: 1, message };
      done();
    },
  };
})();
"""


@dataclass
class Test:
    path: str  # relative to the WPT folder
    scripts: list[str]  # META scripts, relative to the WPT folder
    timeout_s: float

    @property
    def directory(self) -> str:
        return self.path.rsplit("/", 1)[0]


def exclusion(path: str, name: str) -> str | None:
    """Why the subtest `name` of file `path` is left out of the comparison, or None."""
    return next((reason for file, pattern, reason in EXCLUDED if file == path and pattern.match(name)), None)


@dataclass
class FileResult:
    harness: str
    harness_message: str | None
    subtests: list[tuple[str, str, str | None]]  # name, status, message

    def outcomes(self, path: str) -> list[tuple[str, bool, str | None]]:
        """Every subtest of the file at `path` but the excluded ones, and the harness if it did not end OK."""
        out = [(name, status == "PASS", message) for name, status, message in self.subtests
               if exclusion(path, name) is None]
        if self.harness != "OK":
            out.append((HARNESS, False, f"{self.harness}: {self.harness_message or ''}".strip()))
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileResult:
        harness: dict[str, Any] = data.get("harness") or {"status": 1, "message": "the harness did not complete"}
        return cls(HARNESS_STATUS.get(harness.get("status", -1), "ERROR"), harness.get("message"),
                   [(str(t["name"]), TEST_STATUS.get(t["status"], "FAIL"), t.get("message"))
                    for t in data.get("tests") or []])

    @classmethod
    def failure(cls, status: str, message: str) -> FileResult:
        return cls(status, message, [])


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0

    def add(self, path: str, result: FileResult) -> None:
        for _, ok, _ in result.outcomes(path):
            if ok:
                self.passed += 1
            else:
                self.failed += 1


@dataclass
class Report:
    modrun: dict[str, FileResult] = field(default_factory=dict)
    node: dict[str, FileResult] = field(default_factory=dict)

    def tallies(self, which: dict[str, FileResult]) -> dict[str, Tally]:
        out: dict[str, Tally] = {}
        for path, result in which.items():
            out.setdefault(path.rsplit("/", 1)[0], Tally()).add(path, result)
        return out

    def excluded(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(file, reason) -> how many subtests were left out in modrun's run and in Node's."""
        out: dict[tuple[str, str], tuple[int, int]] = {}
        for column, results in enumerate((self.modrun, self.node)):
            for path, result in results.items():
                for name, _, _ in result.subtests:
                    reason = exclusion(path, name)
                    if reason is not None:
                        counts = list(out.get((path, reason), (0, 0)))
                        counts[column] += 1
                        out[(path, reason)] = (counts[0], counts[1])
        return out

    def regressions(self) -> list[tuple[str, str, str]]:
        """Subtests that fail in modrun and pass in Node: (file, subtest, modrun's message)."""
        out = []
        for path, result in sorted(self.modrun.items()):
            node = self.node.get(path)
            passed_in_node = Counter(name for name, ok, _ in node.outcomes(path) if ok) if node else Counter()
            for name, ok, message in result.outcomes(path):
                if passed_in_node[name] > 0:
                    passed_in_node[name] -= 1
                    if not ok:
                        out.append((path, name, (message or "").splitlines()[0] if message else ""))
            for name, count in sorted(passed_in_node.items()):
                out.extend([(path, name, "did not run in modrun")] * count)
        return out


def load_manifest() -> list[Test]:
    tests = []
    lines = (WPT / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    for line in lines[1:]:
        row = dict(zip(header, line.split("\t"), strict=False))
        path = row["path"]
        source = (WPT / path).read_text(encoding="utf-8")
        scripts = []
        timeout_s = TIMEOUT_S
        for meta in source.splitlines():
            if not meta.startswith("// META:"):
                continue
            key, _, value = meta[len("// META:"):].strip().partition("=")
            if key == "script":
                value = value.strip()
                scripts.append(value.lstrip("/") if value.startswith("/") else _join(path, value))
            elif key == "timeout" and value.strip() == "long":
                timeout_s = LONG_TIMEOUT_S
        tests.append(Test(path, scripts, timeout_s))
    return tests


def _join(test: str, relative: str) -> str:
    parts = test.split("/")[:-1]
    for part in relative.split("/"):
        if part == "..":
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


def select(tests: list[Test], paths: list[str]) -> list[Test]:
    if not paths:
        return tests
    wanted = [p.rstrip("/") for p in paths]
    return [t for t in tests if any(t.path == w or t.path.startswith(w + "/") for w in wanted)]


# ---- Node, the reference ----

async def run_node(test: Test, multiplier: float) -> FileResult:
    timeout = test.timeout_s * multiplier
    proc = await asyncio.create_subprocess_exec(
        "node", str(NODE_HOST), str(WPT), test.path, str(int(timeout * 1000)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout + GRACE_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return FileResult.failure("TIMEOUT", "node did not complete the harness")
    # Only "\n" ends a line: subtest names hold other line separators (atob's test inputs).
    lines = out.decode("utf-8", "replace").strip().split("\n")
    try:
        return FileResult.from_json(json.loads(lines[-1]))
    except (IndexError, ValueError):
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        return FileResult.failure("ERROR", f"node: {tail[0]}")


# ---- modrun ----

MIME = {".json": "application/json", ".js": "text/javascript", ".txt": "text/plain"}


def serve_tree(request: FetchRequest) -> FetchResponse | None:
    """The environment's fetch handler: files of the WPT tree at ORIGIN, as wptserve would serve
    them (the test's data files); anything else is left to the profile's policy (denied)."""
    parts = urlsplit(request.url)
    if f"{parts.scheme}://{parts.netloc}" != ORIGIN:
        return None
    path = (WPT / unquote(parts.path).lstrip("/")).resolve()
    if not path.is_relative_to(WPT) or not path.is_file():
        return FetchResponse(status=404, body="not found")
    return FetchResponse(headers=[("content-type", MIME.get(path.suffix, "application/octet-stream"))],
                         body=path.read_bytes())


class ModrunSide:
    def __init__(self, evaluator: str, profile: str | None, multiplier: float) -> None:
        self.multiplier = multiplier
        self._cache = tempfile.TemporaryDirectory(prefix="modrun-wpt-")
        self.server = Server(root=WPT, cache_dir=self._cache.name, virtual_modules={
            RESULTS_MODULE: "export const results = () => globalThis.__wpt.results;\n"},
            environments={"wpt": {"evaluator": evaluator, **({"profile": profile} if profile else {})}},
            fetch=serve_tree)
        self.environment = self.server.environments["wpt"]
        self.harness = (WPT / "resources" / "testharness.js").read_text(encoding="utf-8")

    async def close(self) -> None:
        await self.server.close()
        self._cache.cleanup()

    async def run(self, test: Test) -> FileResult:
        timeout = test.timeout_s * self.multiplier
        deadline = time.monotonic() + timeout + GRACE_S
        runner = await self.environment.create_runner(on_console=lambda level, text: None)
        try:
            return await self._run(runner, test, timeout, deadline)
        except ModrunError as error:  # a limit, a crash, or a harness that could not load
            status = "TIMEOUT" if getattr(error, "limit", None) == "wall-time" else "ERROR"
            return FileResult.failure(status, f"{error.name}: {error.message}")
        finally:
            await runner.close()

    async def _run(self, runner: RunnerClient, test: Test, timeout: float, deadline: float) -> FileResult:
        location = {"location": json.dumps(f"{ORIGIN}/{test.path}"), "origin": json.dumps(ORIGIN),
                    "pathname": json.dumps(f"/{test.path}")}
        # One task, as the worker wrapper's importScripts() calls are: testharness.js takes the
        # first microtask checkpoint as the end of loading.
        scripts = [PRELUDE % location, self.harness, COLLECTOR % {"timeout_ms": int(timeout * 1000)}]
        scripts += [(WPT / path).read_text(encoding="utf-8") for path in [*test.scripts, test.path]]
        # One source: the scripts of a worker share their top-level `const`, `let` and `class`
        # declarations (META scripts define data the test reads), which scripts run by indirect eval
        # would not. Strict mode is then the whole source's: the test file's.
        strict = STRICT.match(scripts[-1]) is not None
        scripts = [("'use strict';\n" if strict else "") + "\n;\n".join(scripts)]
        try:
            await runner.invoke("evalScript", scripts, deadline=deadline)
        except ModrunError as error:
            if error.kind not in ("js", "load"):
                raise
            # What a worker's `error` event would tell the harness: the file stopped with an exception.
            message = f"uncaught exception in a script: {error.stack or error.message}"
            await runner.invoke("evalScript", [f"__wpt.scriptError({json.dumps(message)})"], deadline=deadline)
        module = await ModuleProxy.load(runner, RESULTS_MODULE, deadline=deadline)
        return FileResult.from_json(await module.results(deadline=deadline))


# ---- both, side by side ----

async def run(tests: list[Test], evaluator: str, profile: str | None, multiplier: float, jobs: int,
              node: bool = True) -> Report:
    report = Report()
    gate = asyncio.Semaphore(jobs)

    async def reference(test: Test) -> None:
        async with gate:
            report.node[test.path] = await run_node(test, multiplier)

    references = [asyncio.ensure_future(reference(test)) for test in tests] if node else []
    side = ModrunSide(evaluator, profile, multiplier)
    try:
        for test in tests:
            report.modrun[test.path] = await side.run(test)
    finally:
        await side.close()
        await asyncio.gather(*references)
    return report


def _shown(text: str) -> str:
    """Text as a terminal can take it: subtest names hold lone surrogates (the encoding tests)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def print_report(report: Report, *, verbose: bool = False) -> None:
    mine, theirs = report.tallies(report.modrun), report.tallies(report.node)
    total_mine, total_theirs = Tally(), Tally()
    for directory in sorted(mine):
        m, n = mine[directory], theirs.get(directory, Tally())
        total_mine.passed += m.passed
        total_mine.failed += m.failed
        total_theirs.passed += n.passed
        total_theirs.failed += n.failed
        flag = "" if m.passed >= n.passed else "   <- fewer than node"
        print(f"{directory}: {m.passed} passed, {m.failed} failed (node: {n.passed} passed, {n.failed} failed){flag}")
    print(f"total: {total_mine.passed} passed, {total_mine.failed} failed "
          f"(node: {total_theirs.passed} passed, {total_theirs.failed} failed)")
    excluded = report.excluded()
    if excluded:
        print("\nleft out of both columns (no QuickJS runtime can pass them):")
    for (path, reason), (mine_n, theirs_n) in sorted(excluded.items()):
        print(f"  {path}: {mine_n} subtests here, {theirs_n} in node: {reason}")
    regressions = report.regressions()
    print(f"\nsubtests that fail in modrun and pass in node: {len(regressions)}")
    for path, name, message in regressions:
        print(_shown(f"  {path} | {name} | {message}"))
    if verbose:
        print("\nevery modrun failure:")
        for path, result in sorted(report.modrun.items()):
            for name, ok, said in result.outcomes(path):
                if not ok:
                    print(_shown(f"  {path} | {name} | {said.splitlines()[0] if said else ''}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", help="test files or folders, relative to the wpt folder (default: all)")
    parser.add_argument("--evaluator", default="inprocess")
    parser.add_argument("--profile", help="the environment's profile (default: an environment's default)")
    parser.add_argument("--timeout-multiplier", type=float, default=3.0)
    parser.add_argument("--jobs", type=int, default=2, help="node processes at a time")
    parser.add_argument("--json", metavar="FILE", help="also write every result as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every modrun failure")
    ns = parser.parse_args(argv)
    tests = select(load_manifest(), ns.paths)
    report = asyncio.run(run(tests, ns.evaluator, ns.profile, ns.timeout_multiplier, ns.jobs))
    if ns.json:
        data = {side: {path: {"harness": r.harness, "message": r.harness_message, "subtests": r.subtests}
                       for path, r in getattr(report, side).items()} for side in ("modrun", "node")}
        Path(ns.json).write_text(json.dumps(data, indent=1))
    print_report(report, verbose=ns.verbose)
    mine, theirs = report.tallies(report.modrun), report.tallies(report.node)
    return 0 if all(m.passed >= theirs.get(d, Tally()).passed for d, m in mine.items()) else 1


if __name__ == "__main__":
    sys.exit(main())
