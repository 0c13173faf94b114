"""`modrun bench --ray ADDRESS` on a local Ray cluster the test starts (two CPUs, loopback only): every
(benchmark × runtime) is a Ray task pinned to a core, and the report holds the same runs as the local
path's. Bounded for CI: one small suite, two runtimes; the wall-time comparison of 1 vs 2 workers
on a 40-run suite is bench/bench_ray.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.test_bench import EXAMPLES

# Ray reads this when it is imported: a single-machine cluster, every address on loopback.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason="Ray is the ray extra: pip install 'modrun[ray]'")

ARGS = ("native.bench.js", "--evaluator", "inprocess,wasm", "--time", "0.05", "--warmup", "0.01", "--quiet")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()  # stops exactly the processes this cluster started


def bench(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "runner", "bench", *ARGS, *args, "--json", "-"], cwd=EXAMPLES,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_ray_runs_every_job_as_a_pinned_task_and_reports_like_the_local_path(cluster):
    assert cluster.startswith("127.0.0.1:")
    on_ray = bench("--ray", cluster)
    local = bench()
    assert on_ray["backend"] == f"ray ({cluster})" and local["backend"] == "local"
    assert on_ray["benchmarks"] == local["benchmarks"]
    assert [(r["benchmark"], r["runtime"]) for r in on_ray["results"]] == \
        [(r["benchmark"], r["runtime"]) for r in local["results"]]
    assert all(r["ok"] and r["stats"]["n"] >= 10 for r in on_ray["results"])
    cpus = [run.get("cpu") for r in on_ray["results"] for run in r["runs"]]
    assert cpus and set(cpus) <= {0, 1}, cpus  # each run pinned to one of the cluster's two cores
    # Same results: sorting a thousand numbers is slower than one lookup, on Ray as locally.
    for report in (on_ray, local):
        medians = {(r["benchmark"], r["runtime"]): r["stats"]["median_ns"] for r in report["results"]}
        for runtime in ("inprocess", "wasm"):
            assert medians[("native.bench.js › sort 1k numbers", runtime)] > \
                medians[("native.bench.js › lookups › Map", runtime)]


def test_a_missing_cluster_is_a_usage_error():
    done = subprocess.run([sys.executable, "-m", "runner", "bench", *ARGS, "--ray", "127.0.0.1:9"], cwd=EXAMPLES,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 2 and "--ray 127.0.0.1:9" in done.stderr, done.stderr[-2000:]
