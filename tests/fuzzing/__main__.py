"""The long run: `python -m tests.fuzzing [--examples N] [--evaluator E ...] [--seed S]`.

Prints how many graphs ran, what they ended with in Node (ok, which error, hang), and either
`N graphs, 0 mismatches` or the first mismatch, shrunk by hypothesis to a small graph."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

from .check import EVALUATORS, DifferentialChecker
from .graphs import Graph, graphs


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzzing")
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--evaluator", action="append", choices=EVALUATORS)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modrun-fuzz-") as root:
        checker = DifferentialChecker(Path(root), tuple(args.evaluator or EVALUATORS))

        @settings(max_examples=args.examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(graphs())
        def run(graph: Graph) -> None:
            checker.check(graph)

        if args.seed is not None:
            run = seed(args.seed)(run)
        started = time.perf_counter()
        status = 0
        try:
            run()
        except AssertionError as mismatch:
            print(mismatch)
            status = 1
        finally:
            checker.close()
        total = sum(checker.outcomes.values())
        print(f"{total} graphs run in {time.perf_counter() - started:.0f} s on {', '.join(checker.evaluators)}")
        for kind, n in checker.outcomes.most_common():
            print(f"  node: {kind}: {n}")
        print(f"{total} graphs, {status} mismatches" if status == 0 else "a mismatch (above, shrunk)")
        return status


if __name__ == "__main__":
    sys.exit(main())
