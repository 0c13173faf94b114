"""The statistics of `modrun bench` (runner/bench/stats.py) and the baseline verdicts, on samples
drawn here: the confidence interval of the median covers the true median about 95% of the time,
whatever the distribution; outliers are flagged, not removed."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from runner.bench.baseline import verdict
from runner.bench.stats import median_ci, runs_ci, summarize


@pytest.mark.parametrize("n", [6, 10, 31, 200, 1500])
@pytest.mark.parametrize("draw", ["normal", "exponential"])
def test_median_interval_covers_the_true_median(n, draw):
    rng = random.Random(n)
    sample, true_median = ((lambda: rng.gauss(10, 2)), 10.0) if draw == "normal" else \
        ((lambda: rng.expovariate(1)), math.log(2))
    trials = 2000 if n <= 200 else 400
    covered = sum(lo <= true_median <= hi for lo, hi, _ in
                  (median_ci(sorted(sample() for _ in range(n))) for _ in range(trials)))
    assert 0.93 <= covered / trials <= 0.995


def test_runs_interval_covers_the_centre_of_run_medians():
    rng = random.Random(7)
    covered = 0
    for _ in range(2000):
        medians = [math.exp(rng.gauss(math.log(100), 0.1)) for _ in range(3)]
        lo, hi = runs_ci(medians)
        covered += lo <= 100 <= hi
    assert 0.93 <= covered / 2000 <= 0.97


def test_summary_numbers_and_outliers():
    samples = [10.0, 11.0, 9.0, 10.5, 9.5, 10.0, 10.2, 9.8, 10.1, 500.0]
    stats = summarize(samples)
    assert stats["median_ns"] == statistics.median(samples) and stats["min_ns"] == 9.0
    assert stats["mad_ns"] == statistics.median(abs(x - stats["median_ns"]) for x in samples)
    assert stats["outliers"] == 1 and stats["outlier_indices"] == [9]  # flagged …
    assert stats["n"] == 10 and stats["max_ns"] == 500.0  # … and kept
    assert stats["ops_per_s"] == pytest.approx(1e9 / stats["median_ns"])


def test_small_samples_answer_the_range_and_say_so():
    lo, hi, exact = median_ci([1.0, 2.0, 3.0])
    assert (lo, hi, exact) == (1.0, 3.0, False)


@pytest.mark.parametrize(("current", "before", "expected"), [
    ([100, 110], [105, 120], "unchanged"),   # overlapping intervals: no claim, whatever the medians
    ([130, 140], [100, 120], "regression"),
    ([80, 90], [100, 120], "improvement"),
])
def test_baseline_verdict_needs_disjoint_intervals(current, before, expected):
    assert verdict({"ci95_ns": current}, {"ci95_ns": before}) == expected
