"""The benchmark libraries' APIs inside a runtime: which package names resolve to which adapter
module (runner/bench/js/), for modrun's evaluators (a plugin) and for Node (a resolve hook).

Every adapter is a module of ours resolved in place of the package, also where the package is
installed, so that every runtime measures with the same harness (harness.js) and each benchmark
can run alone in a fresh runtime. Why the real packages are not used is measured, per package,
in the README ("Suites") and in tests/test_bench_adapters.py.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..plugins import VirtualModules

JS_DIR = Path(__file__).parent / "js"
HARNESS = "modrun:bench"
#: import specifier -> adapter file
MODULES = {
    HARNESS: "harness.js",
    "modrun:bench/events": "events.js",
    "tinybench": "tinybench.js",
    "mitata": "mitata.js",
    "benchmark": "benchmark.js",
    "vitest": "vitest.js",
}
#: adapter names as reported per benchmark, by the specifier a suite imports
ADAPTERS = {"tinybench": "tinybench", "mitata": "mitata", "benchmark": "benchmark.js", "vitest": "vitest"}


def adapter_plugin() -> VirtualModules:
    """A plugin serving the harness and the adapters in place of the packages (enforce "pre")."""
    return VirtualModules({name: functools.partial((JS_DIR / file).read_text) for name, file in MODULES.items()})


def node_map() -> dict[str, str]:
    """Specifier -> file URL, for the Node driver's resolve hook."""
    return {name: (JS_DIR / file).as_uri() for name, file in MODULES.items()}
