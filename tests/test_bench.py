"""`modrun bench`: the example suites (one per adapter) across the three evaluators and Node, the JSON
report, Markdown and charts, baselines, and clear errors with documented exit codes. Timings are
never asserted: only what was measured, where, and how it is reported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.project_files import write

EXAMPLES = Path(__file__).parents[1] / "examples" / "bench"
NODE = shutil.which("node")
FAST = ("--time", "0.03", "--warmup", "0.01", "--quiet")
EXPECTED = {
    "native.bench.js": ["sort 1k numbers", "JSON round trip", "lookups › Map", "lookups › object"],
    "tinybench.bench.js": ["string building › concatenation", "string building › Array#join",
                           "string building › template literals"],
    "mitata.bench.js": ["fibonacci(15)", "arrays › Array.from(8)", "arrays › Array.from(64)",
                        "arrays › Array.from(512)", "arrays › new Array(8).fill", "arrays › new Array(64).fill",
                        "arrays › new Array(512).fill"],
    "vitest.bench.js": ["splitting words › String#split", "splitting words › RegExp match",
                        "escaping HTML › replace with a function", "escaping HTML › chained replaceAll"],
    "benchmark.bench.js": ["RegExp#test", "String#indexOf", "String#match"],
}


def modrun(*args: str, cwd: Path = EXAMPLES, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "bench", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def bench_json(*args: str, cwd: Path = EXAMPLES, code: int = 0) -> dict[str, Any]:
    done = modrun(*args, "--json", "-", cwd=cwd)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == code, done.stderr[-3000:]
    return json.loads(done.stdout)


def results_by(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["benchmark"], r["runtime"]): r for r in report["results"]}


def test_every_adapter_runs_its_suite_in_every_runtime(tmp_path):
    runtimes = ["inprocess", "wasm", "process"] + (["node", "node-jitless"] if NODE else [])
    report = bench_json(*EXPECTED, "--evaluator", ",".join(runtimes), *FAST,
                        "--markdown", str(tmp_path / "table.md"), "--chart", str(tmp_path / "chart.html"))
    assert report["schema"] == "modrun-bench/1" and report["ok"]
    keys = [f"{suite} › {id}" for suite, ids in EXPECTED.items() for id in ids]
    assert [b["key"] for b in report["benchmarks"]] == keys
    adapters = {b["key"].split(" › ")[0]: b["adapter"] for b in report["benchmarks"]}
    assert adapters == {"native.bench.js": "modrun", "tinybench.bench.js": "tinybench", "mitata.bench.js": "mitata",
                        "vitest.bench.js": "vitest", "benchmark.bench.js": "benchmark.js"}
    # benchmark-major order: every runtime of a benchmark back to back
    assert [(r["benchmark"], r["runtime"]) for r in report["results"]] == [(k, rt) for k in keys for rt in runtimes]
    for result in report["results"]:
        stats = result["stats"]
        assert result["ok"] and stats["n"] >= 10 and len(result["samples_ns"]) == stats["n"]
        lo, hi = stats["ci95_ns"]
        assert stats["min_ns"] <= lo <= stats["median_ns"] <= hi <= stats["max_ns"]
        assert result["measurement"]["timer"]["resolution_ms"] > 0
        assert result["measurement"]["iterations_per_sample"] >= 1
    for key in keys:
        ratios = [report_ratio for (k, _), r in results_by(report).items() if k == key
                  for report_ratio in [r["ratio"]]]
        assert min(ratios) == 1.0 and all(r >= 1.0 for r in ratios)
    assert report["versions"]["quickjs-ng"] and report["machine"]["cpus"]
    if NODE:
        assert report["versions"]["node"].startswith("v")
    table = (tmp_path / "table.md").read_text()
    assert table.count("\n| ") >= len(keys) * len(runtimes) and "± CI95" in table
    page = (tmp_path / "chart.html").read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "http" not in page.split("<svg")[0]


def test_the_suites_own_options_and_output_are_kept():
    report = bench_json("tinybench.bench.js", "--evaluator", "inprocess", "--filter", "join", "--quiet")
    [result] = report["results"]
    # the suite asked tinybench for `time: 500` (ms); without --time that is what the harness spent
    assert result["measurement"]["options"]["timeMs"] == 500
    assert result["measurement"]["elapsed_ms"] >= 500
    text = "\n".join(line["text"] for line in result["output"])
    assert "string building" in text and "Latency avg (ns)" in text  # the suite's console.table, with its numbers


def test_each_benchmark_runs_in_a_fresh_runtime(tmp_path):
    write(tmp_path, {"fresh.bench.js": (
        "const once = () => { if (globalThis.used) throw new Error('runtime reused'); globalThis.used = true; };\n"
        "export const benchmarks = { a: { setup: once, fn: () => 1 }, b: { setup: once, fn: () => 2 },\n"
        "  c: { setup: once, fn: async () => 3 } };\n")})
    report = bench_json("fresh.bench.js", "--evaluator", "inprocess,wasm,process", *FAST, cwd=tmp_path)
    assert len(report["results"]) == 9 and all(r["ok"] for r in report["results"])
    assert all(r["measurement"]["async"] == (r["id"] == "c") for r in report["results"])


def test_fixed_iterations_and_per_call_hooks(tmp_path):
    write(tmp_path, {"hooks.bench.js": (
        'import { Bench } from "tinybench";\n'
        "let before = 0, calls = 0, after = 0;\n"
        "const bench = new Bench();\n"
        "bench.add('counted', () => { calls++; }, { beforeEach() { before++; }, afterEach() { after++; },\n"
        "  afterAll() { console.log(JSON.stringify({ before, calls, after })); } });\n"
        "await bench.run();\n")})
    report = bench_json("hooks.bench.js", "--evaluator", "inprocess", "--iterations", "7", "--samples", "5",
                        "--warmup", "0", cwd=tmp_path)
    [result] = report["results"]
    assert result["measurement"]["iterations_per_sample"] == 7 and result["stats"]["n"] == 5
    assert result["measurement"]["timing"] == "per-call"
    counts = json.loads(result["output"][-1]["text"])
    # a warm-up sample of 7, then 5 samples of 7, and every call had its hooks around it
    assert counts == {"before": 42, "calls": 42, "after": 42}


@pytest.mark.parametrize(("files", "args", "code", "kind", "needle"), [
    ({"bad.bench.js": "export const benchmarks = {\n  broken: () => { return 1 +; },\n};\n"}, [], 3, "load",
     "bad.bench.js:2"),
    ({"missing.bench.js": 'import { x } from "./nope.js";\nexport const benchmarks = { x };\n'}, [], 3, "load",
     "Cannot find module './nope.js'"),
    ({"throws.bench.js": "function deep() {\n  throw new TypeError('no way');\n}\n"
                         "export const benchmarks = { boom: () => deep() };\n"}, [], 1, "js", "throws.bench.js:2"),
    ({"spin.bench.js": "export const benchmarks = { spin: () => { for (;;) {} } };\n"}, ["--timeout", "2"], 4,
     "limit", "wall-time"),
])
def test_failures_have_clear_errors_and_exit_codes(tmp_path, files, args, code, kind, needle):
    write(tmp_path, files)
    suite = next(iter(files))
    done = modrun(suite, "--evaluator", "inprocess", *FAST, *args, "--json", "-", cwd=tmp_path, timeout=120)
    assert done.returncode == code, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    error = report["error"] if "error" in report else report["results"][0]["error"]
    assert error["kind"] == kind
    assert needle in json.dumps(error), error


@pytest.mark.parametrize(("args", "needle"), [
    (["native.bench.js", "--evaluator", "nosuch"], "unknown evaluator 'nosuch'"),
    (["native.bench.js", "--filter", "no such benchmark"], "matches none of the 4 benchmarks"),
    (["native.bench.js", "--chart", "out.svg"], "must end in .png or .html"),
    (["native.bench.js", "--fail-on-regression", "5"], "needs --baseline"),
    (["native.bench.js", "--baseline", "nowhere.json"], "--baseline nowhere.json"),
    (["native.bench.js", "--time", "1", "--iterations", "5"], "not allowed with argument"),
    (["nowhere.bench.js"], "no such suite file"),
    (["native.bench.js", "--evaluator", "inprocess", "--reference", "node"], "--reference node"),
])
def test_usage_errors(args, needle):
    done = modrun(*args, "--quiet", timeout=120)
    assert done.returncode == 2 and needle in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_baseline_flags_a_real_regression_and_not_noise(tmp_path):
    # 100× the work: a loaded machine widens a run's interval several-fold, never a hundredfold.
    fast = write(tmp_path / "fast", {"work.bench.js": (
        "const work = (n) => { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; };\n"
        "export const benchmarks = { loop: () => work(200) };\n")})
    slow = write(tmp_path / "slow", {"work.bench.js": (
        "const work = (n) => { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; };\n"
        "export const benchmarks = { loop: () => work(20000) };\n")})
    saved = tmp_path / "baseline.json"
    first = modrun("work.bench.js", "--evaluator", "inprocess", "--time", "0.2", "--quiet", "--json", str(saved),
                   cwd=fast)
    assert first.returncode == 0, first.stderr
    same = bench_json("work.bench.js", "--evaluator", "inprocess", "--time", "0.2", "--baseline", str(saved),
                      "--fail-on-regression", "200", cwd=fast)
    [entry] = same["comparison"]["entries"]
    assert not same["comparison"]["failed"] and abs(entry["change_pct"]) < 200
    slower = bench_json("work.bench.js", "--evaluator", "inprocess", "--time", "0.2", "--baseline", str(saved),
                        "--fail-on-regression", "200", cwd=slow, code=1)
    [entry] = slower["comparison"]["entries"]
    assert entry["verdict"] == "regression" and entry["change_pct"] > 200 and entry["fails"]
    assert slower["comparison"]["failed"]
    saved_slow = tmp_path / "slow.json"
    (saved_slow).write_text(json.dumps(slower))
    faster = bench_json("work.bench.js", "--evaluator", "inprocess", "--time", "0.2", "--baseline", str(saved_slow),
                        "--fail-on-regression", "5", cwd=fast)
    [entry] = faster["comparison"]["entries"]
    assert entry["verdict"] == "improvement" and not faster["comparison"]["failed"]


def test_png_chart_is_written(tmp_path):
    chart = tmp_path / "chart.png"
    done = modrun("native.bench.js", "--evaluator", "inprocess,wasm", "--filter", "lookups", *FAST,
                  "--chart", str(chart))
    assert done.returncode == 0, done.stderr
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000
    assert "lookups › Map" in done.stdout  # the table on stdout


def test_several_runs_pool_their_samples_and_widen_the_interval(tmp_path):
    write(tmp_path, {"runs.bench.js": "export const benchmarks = { sum: () => { let s = 0; "
                                      "for (let i = 0; i < 50; i++) s += i; return s; } };\n"})
    report = bench_json("runs.bench.js", "--evaluator", "inprocess,wasm", "--runs", "3", *FAST, cwd=tmp_path)
    assert len(report["results"]) == 2
    for result in report["results"]:
        runs = result["runs"]
        assert [r["replicate"] for r in runs] == [0, 1, 2]
        assert sum(r["n"] for r in runs) == result["stats"]["n"] == len(result["samples_ns"])
        lo, hi = result["stats"]["ci95_ns"]
        # the interval holds the runs' medians' t-interval, so it spans at least their geometric mean
        assert lo <= min(r["median_ns"] for r in runs) or hi >= max(r["median_ns"] for r in runs)
        assert "t over 3 runs" in result["stats"]["ci95_method"]
