"""modrun's adapters against the real benchmark libraries (npm, pinned by tests/npm/bench-libs): the same
API answers the same shapes (names, events, result keys, formats), and the example suites run
unchanged with the real packages in Node, declaring the benchmarks modrun finds in them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from runner.bench.adapters import JS_DIR, node_map
from tests.npm_cache import install
from tests.test_bench import EXAMPLES, EXPECTED

NODE = shutil.which("node")


@pytest.fixture(scope="module")
def libs() -> Path:
    """The pinned libraries (tests/npm/bench-libs), installed once into the npm cache."""
    return install("bench-libs")


def node(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(NODE), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_adapters_answer_what_the_real_libraries_answer(libs):
    real = json.loads(node(["shapes.mjs"], libs).stdout)
    hooks = json.dumps({"hooks": (JS_DIR / "node_hooks.mjs").as_uri(), "modules": node_map()})
    adapted = json.loads(node(["shapes.mjs", hooks], libs).stdout)
    assert set(real) == {"tinybench", "mitata", "benchmark"}
    for library in real:
        assert adapted[library] == real[library], library


@pytest.mark.parametrize("suite", ["tinybench.bench.js", "mitata.bench.js", "benchmark.bench.js", "vitest.bench.js"])
def test_example_suites_run_unchanged_with_the_real_library(libs, suite):
    shutil.copy(EXAMPLES / suite, libs / suite)
    if suite == "vitest.bench.js":
        done = node([str(libs / "node_modules" / "vitest" / "vitest.mjs"), "bench", "--run", suite], libs)
    else:
        done = node([suite], libs)
    output = done.stdout + done.stderr
    for benchmark in EXPECTED[suite]:
        name = benchmark.split(" › ")[-1]
        assert name in output, f"{name!r} is not in the real library's output:\n{output[-3000:]}"
