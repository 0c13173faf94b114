"""Robust statistics of one run's samples (time per operation): median, MAD, min, a
distribution-free 95% confidence interval for the median, and outliers flagged (not removed)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

Z95 = 1.959964
#: modified z-score above which a sample is an outlier (Iglewicz and Hoaglin)
OUTLIER_Z = 3.5


def median_ci(ordered: Sequence[float]) -> tuple[float, float, bool]:
    """A 95% confidence interval for the median from order statistics (the binomial method): it
    assumes nothing about the distribution. With fewer than 6 samples no pair of order statistics
    reaches 95%: the whole range is answered and flagged (False)."""
    n = len(ordered)
    if n < 6:
        return ordered[0], ordered[-1], False
    # The lower bound is the k-th smallest sample (1-based), k the largest with P(B <= k-1) <= 2.5%,
    # B ~ Binomial(n, 1/2); the upper bound is the k-th largest. Exact below 1000 samples.
    if n <= 1000:
        total = 2.0 ** -n
        cumulative = 0.0
        k = 0
        while True:
            cumulative += math.comb(n, k) * total
            if cumulative > 0.025:
                break
            k += 1
        k = max(k, 1)
    else:
        k = max(1, math.floor(n / 2 - Z95 * math.sqrt(n) / 2))
    return ordered[k - 1], ordered[n - k], True


# Two-sided 95% Student's t critical values for 1..10 degrees of freedom (then about 2).
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


def runs_ci(medians: Sequence[float]) -> tuple[float, float]:
    """A 95% interval for the median across fresh runtimes, from each run's median: Student's t on
    their logarithms (times vary by factors, not offsets). Wide when runs disagree, as it should be."""
    logs = [math.log(m) for m in medians]
    r = len(logs)
    centre = statistics.fmean(logs)
    half = (T95[r - 2] if r - 2 < len(T95) else 2.0) * statistics.stdev(logs) / math.sqrt(r)
    return math.exp(centre - half), math.exp(centre + half)


def summarize(samples_ns: Sequence[float], run_medians: Sequence[float] = ()) -> dict[str, Any]:
    """Statistics of per-operation times in nanoseconds (the samples of every run, pooled). With
    two or more runs the confidence interval also covers how their medians differ (runs_ci)."""
    if not samples_ns:
        raise ValueError("no samples")
    ordered = sorted(samples_ns)
    n = len(ordered)
    median = statistics.median(ordered)
    mad = statistics.median(abs(x - median) for x in ordered)
    lo, hi, exact = median_ci(ordered)
    if len(run_medians) >= 2:
        between = runs_ci(run_medians)
        lo, hi = min(lo, between[0]), max(hi, between[1])
    # 0.6745 makes the MAD of a normal sample comparable to its standard deviation
    outliers = [i for i, x in enumerate(samples_ns) if mad > 0 and abs(0.6745 * (x - median) / mad) > OUTLIER_Z]
    return {
        "n": n,
        "median_ns": median,
        "mad_ns": mad,
        "min_ns": ordered[0],
        "max_ns": ordered[-1],
        "mean_ns": statistics.fmean(ordered),
        "stdev_ns": statistics.stdev(ordered) if n > 1 else 0.0,
        "ci95_ns": [lo, hi],
        "ci95_exact": exact,
        "ci95_method": "order statistics" + (f" and t over {len(run_medians)} runs" if len(run_medians) >= 2 else ""),
        "ci95_rel": (hi - lo) / 2 / median if median else math.inf,
        "ops_per_s": 1e9 / median if median else math.inf,
        "outliers": len(outliers),
        "outlier_indices": outliers,
    }
