"""Where a `modrun run` process's imports go: `python -X importtime` of a whole run, the self time of
every module summed per package (modrun's own subpackages apart, e.g. `runner.hmr`), averaged over
runs. What a run imports and does not use shows up here (an HTTP client, a crypto library, a file
watcher), as does what it cannot avoid (asyncio, the engine binding).

    python bench/import_costs.py ENTRY [--evaluator inprocess] [--repeat 5] [--top 20]
"""

from __future__ import annotations

import argparse
import re
import subprocess
from collections import Counter
from pathlib import Path

import harness
from processes import MODRUN, modrun_env

_LINE = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)")
#: what the console script runs, with importtime on (the script itself cannot take -X)
_RUN = "import sys; from runner.cli import main; sys.argv[0] = 'modrun'; main()"


def group(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] in ("runner", "evaluators") and len(parts) > 1 else parts[0]


def import_costs(entry: Path, evaluator: str, repeat: int, modrun: str = MODRUN) -> tuple[dict[str, float], float]:
    """Mean self time (ms) per package group over `repeat` runs of `modrun run entry` (the `modrun`
    console script given: its venv's interpreter), and their total."""
    python = str(Path(modrun).with_name("python"))
    totals: Counter[str] = Counter()
    for _ in range(repeat):
        done = subprocess.run([python, "-X", "importtime", "-c", _RUN, "run", str(entry), "--evaluator", evaluator],
                              cwd=entry.parent, env=modrun_env(), capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"modrun run {entry} failed ({done.returncode}):\n{done.stderr[-2000:]}")
        for match in _LINE.finditer(done.stderr):
            totals[group(match.group(2))] += int(match.group(1))  # µs
    costs = {name: value / 1000 / repeat for name, value in totals.most_common()}
    return costs, sum(costs.values())


def table(costs: dict[str, float], total: float, top: int, title: str) -> str:
    rows = [[name, ms, f"{100 * ms / total:.0f}%"] for name, ms in list(costs.items())[:top]]
    rows.append(["(all imports)", total, "100%"])
    return harness.table(["package", "ms (self, mean)", "share"], rows, title)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entry", type=Path)
    parser.add_argument("--evaluator", default="inprocess")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=20)
    ns = parser.parse_args()
    costs, total = import_costs(ns.entry.resolve(), ns.evaluator, ns.repeat)
    print(table(costs, total, ns.top, f"imports of `modrun run {ns.entry.name} --evaluator {ns.evaluator}`, "
                f"{ns.repeat} runs (python -X importtime)"))


if __name__ == "__main__":
    main()
