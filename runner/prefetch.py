"""The entry's graph transformed while a new runtime boots.

A runtime's runner asks for the entry's graph only once it has booted; a runtime that boots in a
worker process of its own (the process evaluator) leaves the host idle meanwhile (about 65 ms of a
cold run). So while it boots the host fetches the graph itself, as the runner's graph fetch would
(runner/rpc/graph_fetch.py: same order, same options), and drops the answers: what it did stays in the
environment (transforms, resolutions, the answers built, the transform cache), and the runner's fetch,
when it comes, finds it done (its walk costs what a warm import's does: the reason a runtime that boots
on the host's thread, or one already booted, gets no prefetch).

Nothing it does can be stale or change an outcome: every answer is the one `Environment.fetch_module`
gives, which the runner's fetch checks again (each module's file, and the resolutions' files where an
import began since); a fetch that fails is left out and fails again, reported as without a prefetch,
when the runner asks. It runs only where only modrun's own plugins do (a user's plugin hooks would be
called twice), never on a server that serves HMR, and never beyond the import's deadline.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from .rpc.graph_fetch import GraphFetch

if TYPE_CHECKING:
    from .environment import Environment
    from .rpc.payloads import FetchOptions

#: the lines QuickJS-ng's wrapper puts before a module's line 1 (as V8's does): the runner's startOffset,
#: until a runner of this environment has said its own (a wrong guess costs answers built again, no more)
START_OFFSET = 3


def may_prefetch(environment: Environment) -> bool:
    """Only for a cold import (nothing transformed in this process, nothing in the transform cache) while
    the runtime boots apart (an evaluator's `booting(options)`: the process evaluator's worker has not
    said it is ready). Elsewhere the runner would only walk the graph a second time, and a warm walk is
    short: it could outlast the boot."""
    server = environment.server
    if server.hmr or server.plugins or environment.config.plugins or environment.module_graph.id_to_module:
        return False
    from evaluators import get_evaluator

    booting = getattr(get_evaluator(environment.config.evaluator), "booting", None)
    return booting is not None and bool(booting(environment.runtime_options())) and server.transform_cache.empty()


async def boot_with_prefetch(environment: Environment, url: str, deadline: float | None) -> None:
    """Boot the environment's runtime and, meanwhile, fetch `url`'s graph as its runner will. The
    runner's first request of this import then begins no other (Environment.begin_import): the prefetch
    began it."""
    from evaluators import get_evaluator

    # the answers built meanwhile are the runtime's modules: queued for their wrappers to be compiled ahead
    # (evaluators/compile_ahead.py), where its evaluator may (its transport takes the queue once ready)
    queue_ahead = getattr(get_evaluator(environment.config.evaluator), "queue_ahead", None)
    queue = None if queue_ahead is None else queue_ahead(environment.runtime_options())
    environment.on_code = None if queue is None else queue.submit
    booting = asyncio.ensure_future(environment.runtime.client())
    try:
        await _prefetch(environment, url, deadline)
    except BaseException:
        booting.cancel()
        raise
    environment.import_begun = True
    await booting  # a runtime that fails to boot fails as it would have without the prefetch


async def _prefetch(environment: Environment, url: str, deadline: float | None) -> None:
    offset = environment.start_offset
    options: FetchOptions = {"cached": False, "startOffset": START_OFFSET if offset is None else offset,
                             "inlineSourceMap": False, "graph": {"forget": []}}
    fetch = GraphFetch(environment)(url, None, options)
    try:
        if deadline is None:
            await fetch
        else:
            await asyncio.wait_for(fetch, max(0.0, deadline - time.monotonic()))
    except Exception:  # noqa: BLE001 - the runner's own fetch fails the same way, and reports it
        return
