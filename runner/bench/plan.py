"""What a bench run does: the options, the runtimes, the suites' benchmarks and the jobs — one job
per (benchmark × runtime), each measured in a fresh runtime."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError

MODRUN_EVALUATORS = ("inprocess", "wasm", "process")
NODE_RUNTIMES = {"node": (), "node-jitless": ("--jitless",)}
SUITE_PATTERNS = ("*.bench.js", "*.bench.mjs")


@dataclass(frozen=True)
class BenchOptions:
    """How each benchmark is measured. `None` leaves the choice to the suite, then to the harness's
    defaults (runner/bench/js/harness.js: 0.5 s measuring, 0.1 s warm-up, samples of >= 1 ms)."""

    time_s: float | None = None
    iterations: int | None = None
    samples: int | None = None
    warmup_s: float | None = None
    min_sample_ms: float | None = None
    timeout_s: float = 120.0  # one run: import, warm-up, samples
    memory_mb: float | None = None
    runs: int = 1  # fresh runtimes per (benchmark × runtime): more than one makes the CI cover runs too

    def overrides(self) -> dict[str, float]:
        """The harness options these settings override (the harness's names and units)."""
        out: dict[str, float] = {}
        if self.time_s is not None:
            out["timeMs"] = self.time_s * 1000
        if self.iterations is not None:
            out["iterations"] = self.iterations
            out["samples"] = self.samples or 20
        elif self.samples is not None:
            out["minSamples"] = self.samples
        if self.warmup_s is not None:
            out["warmupMs"] = self.warmup_s * 1000
        if self.min_sample_ms is not None:
            out["minSampleMs"] = self.min_sample_ms
        return out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Runtime:
    """A place a benchmark runs: one of modrun's evaluators (by name) or Node with its flags."""

    name: str
    kind: str  # "modrun" or "node"
    evaluator: str | None = None
    node_flags: tuple[str, ...] = ()

    @classmethod
    def parse(cls, name: str) -> Runtime:
        if name in NODE_RUNTIMES:
            return cls(name, "node", node_flags=NODE_RUNTIMES[name])
        return cls(name, "modrun", evaluator=name)


@dataclass(frozen=True)
class Suite:
    path: Path
    root: Path

    @property
    def url(self) -> str:
        return "/" + self.path.relative_to(self.root).as_posix()

    @property
    def label(self) -> str:
        return self.path.name

    @property
    def shown(self) -> str:
        """The path as reports show it: relative to the current directory when inside it."""
        try:
            return self.path.relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return str(self.path)


@dataclass(frozen=True)
class Benchmark:
    suite: Suite
    index: int  # position in the suite's registration order (the same in every runtime)
    id: str  # group names and name, joined with " › "
    name: str
    group: tuple[str, ...]
    adapter: str

    @property
    def key(self) -> str:
        """Unique across suites: what tables, baselines and charts name the benchmark by."""
        return f"{self.suite.label} › {self.id}"


@dataclass(frozen=True)
class Job:
    benchmark: Benchmark
    runtime: Runtime
    options: BenchOptions = field(default_factory=BenchOptions)
    replicate: int = 0  # which of the `runs` fresh runtimes of this (benchmark × runtime)

    @property
    def label(self) -> str:
        run = f" (run {self.replicate + 1}/{self.options.runs})" if self.options.runs > 1 else ""
        return f"{self.benchmark.key} · {self.runtime.name}{run}"

    def control(self) -> dict[str, Any]:
        """What the harness in the runtime is configured with."""
        return {"mode": "measure", "index": self.benchmark.index, "id": self.benchmark.id, "options": {},
                "overrides": self.options.overrides()}


def parse_runtimes(evaluators: str | None, node: bool) -> list[Runtime]:
    """`--evaluator inprocess,wasm` and `--node` as runtimes; the default is every evaluator."""
    names = [n.strip() for n in (evaluators or ",".join(MODRUN_EVALUATORS)).split(",") if n.strip()]
    if not names:
        raise UsageError("--evaluator needs at least one name")
    if len(set(names)) != len(names):
        raise UsageError(f"--evaluator names a runtime twice: {evaluators}")
    from evaluators import get_evaluator

    for name in names:
        if name not in NODE_RUNTIMES:
            get_evaluator(name)  # an unknown name is a usage error that lists the available ones
    runtimes = [Runtime.parse(n) for n in names]
    if node:
        runtimes += [Runtime.parse(n) for n in NODE_RUNTIMES if n not in names]
    return runtimes


def find_suites(paths: list[str], root: str | None) -> list[Suite]:
    """Suite files from the command line; a directory stands for its `*.bench.js` files."""
    if not paths:
        raise UsageError("name at least one suite (a file, or a directory of *.bench.js files)")
    root_path = Path(root).resolve() if root else None
    if root_path is not None and not root_path.is_dir():
        raise UsageError(f"--root {root}: not a directory")
    suites: list[Suite] = []
    for raw in paths:
        path = Path(raw).resolve()
        if path.is_dir():
            found = sorted(p for pattern in SUITE_PATTERNS for p in path.rglob(pattern)
                           if "node_modules" not in p.parts)
            if not found:
                raise UsageError(f"{raw}: no suite files ({', '.join(SUITE_PATTERNS)}) in this directory")
        elif path.is_file():
            found = [path]
        else:
            raise UsageError(f"{raw}: no such suite file or directory")
        for file in found:
            suite_root = root_path or _default_root(file)
            if suite_root not in file.parents:
                raise UsageError(f"{file} is outside the root {suite_root}")
            if all(s.path != file for s in suites):
                suites.append(Suite(file, suite_root))
    return suites


def _default_root(file: Path) -> Path:
    cwd = Path.cwd().resolve()
    return cwd if cwd in file.parents else file.parent


def select(benchmarks: list[Benchmark], pattern: str | None) -> list[Benchmark]:
    """The benchmarks whose key (suite file › groups › name) matches `--filter`."""
    if pattern is None:
        return benchmarks
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise UsageError(f"--filter {pattern!r} is not a regular expression: {error}") from None
    return [b for b in benchmarks if regex.search(b.key)]


def plan_jobs(benchmarks: list[Benchmark], runtimes: list[Runtime], options: BenchOptions) -> list[Job]:
    """Benchmark-major order: the runtimes of one benchmark run back to back, so a change in the
    machine's load touches every runtime of a benchmark alike. With several runs, the whole plan
    repeats: the runs of one benchmark are spread over the session, not back to back."""
    return [Job(b, r, options, k) for k in range(options.runs) for b in benchmarks for r in runtimes]
