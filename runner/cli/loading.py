"""How a `modrun run` process collects cycles while it loads.

While a run loads (modrun's imports, the runtime's boot, the import of the graph) it makes tens of
thousands of objects that live to the end and frees next to none in cycles: CPython's collector, run at
every 700 new objects, only rescans them (about 30 collections, 4.5 ms, in a 1-module run; 60 to 70, 9
to 25 ms, in date-fns' warm run). It runs at every LOADING_COLLECT instead, which still bounds what a
long top-level await can leave uncollected. The console script begins before it imports the rest of
the command line (cli/__init__.py: `main`); `loaded`, once the entry is imported, freezes what loading
made out of later collections (as the process worker freezes its boot's), and collections run as
usual for what the module does from there (--call, timers).
"""

from __future__ import annotations

import gc

LOADING_COLLECT = 100_000

_usual: tuple[int, int, int] | None = None  # the thresholds to restore, while loading


def begin() -> None:
    """Collections at every LOADING_COLLECT new objects from now, until `loaded` (a second call: no change)."""
    global _usual
    if _usual is None:
        _usual = gc.get_threshold()
        gc.set_threshold(LOADING_COLLECT, *_usual[1:])


def loaded() -> None:
    global _usual
    if _usual is not None:
        gc.freeze()
        gc.set_threshold(*_usual)
        _usual = None
