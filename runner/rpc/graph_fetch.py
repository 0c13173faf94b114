"""`fetchModule` for one module runner of modrun's own, with the batch extension the runner may ask for.

Vite's runner fetches one module per request, so a graph N levels deep costs N round trips and every
module a request, a task and a JSON parse. modrun's runner adds `graph` to the fetch options
(`GraphRequest`); the answer then also carries, under `graph`, the answers for the module's static
dependencies (ES imports and re-exports, CommonJS requires, through any chain), transformed where
the environment has not yet (from the transform cache on disk, in a new process): an import of a
whole graph is one request, and one engine turn, where fetching level by level cost a request, a
task and a message per module. Vite's runner never asks, and gets Vite's answers.

Nothing in a batch can be stale or wrong: each module in it is the answer `Environment.fetch_module`
gives at that moment (which checks the file and the plugins' `load` as always, and reads again a
module HMR invalidated); a module whose fetch fails is left out, and the runner fetches it on its
own (a failure then reaches it with its importer chain, as without batches). The graph is walked
level by level in import order, as the runner fetches it, so transforms run in the order they did
without batches, and where several modules fail the runner asks for them, and so reports them, in
that order too. The runner uses an entry only where it would otherwise have fetched that url, and
only within the import that asked.

A module sent to this runner is not sent again unless the runner says it forgot it (HMR invalidates
modules, a full reload clears them all): it says so with its next fetch.

A runner that asks with `codeKeys` too is sent keys (code_keys.py): "instead" of code where its engine
holds wrappers by key, or "alongside" it, so that the engine keeps the wrappers it compiles by key;
`code` (the runner's `fetchCode`) answers the code of keys it sent instead.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, cast

from ..kept_graph import KeptGraph
from ..resumed import resumed
from .code_keys import code_key, keyed

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..environment import Environment
    from ..module_graph import ModuleNode
    from .payloads import FetchedModule, FetchOptions, FetchResult

_OURS = ("graph", "codeKeys")  # the runner's options for this handler, not for fetch_module


class GraphFetch:
    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self._sent: set[str] = set()  # module ids this runner was sent and has not forgotten
        self._codes: dict[str, str] = {}  # key -> the code it named, for what was sent keyed

    async def __call__(self, url: str, importer: str | None = None,
                       options: FetchOptions | None = None) -> FetchResult:
        asked = options.get("graph") if isinstance(options, dict) else None
        if options is None or not isinstance(asked, dict):
            return await self.environment.fetch_module(url, importer, options)
        self.environment.begin_import()  # the first request of each import of this runner
        offset = options.get("startOffset")
        if isinstance(offset, int):
            self.environment.start_offset = offset  # what the next prefetch asks with (runner/prefetch.py)
        if asked.get("clear"):
            self._sent.clear()
        forgotten = asked.get("forget")
        if isinstance(forgotten, list):
            self._sent.difference_update(id for id in forgotten if isinstance(id, str))
        fresh = not self._sent  # a runner that holds nothing: its graph is the one kept for any such (kept_graph.py)
        own = cast("FetchOptions", {key: value for key, value in options.items() if key not in _OURS})
        # Asked for by the runner: never in another answer's batch meanwhile (the modules a batch left
        # out are fetched concurrently, and one may be transformed before its own answer is sent).
        node = self.environment.module_graph.get_module_by_url(url)
        if node is not None:
            self._sent.add(node.id)
        result = await self.environment.fetch_module(url, importer, own)
        if "code" not in result:
            return result
        module = cast("FetchedModule", result)
        self._sent.add(module["id"])
        shape = _shape(own)
        graph = self._kept(module, shape) if fresh and shape is not None else None
        if graph is None:
            graph = await self._dependencies(module, own, shape if fresh else None)
        # What this batch transformed is written while the runtime compiles and runs it.
        self.environment.server.transform_cache.flush_soon()
        keys = options.get("codeKeys")
        if keys == "instead" or keys == "alongside":
            instead = keys == "instead"
            module = self._keyed(module, instead)
            graph = [self._keyed(answer, instead) for answer in graph]
        # A new dict: the environment keeps `module` as its answer for the next fetch.
        return {**module, "graph": graph} if graph else module

    async def code(self, keys: list[str]) -> list[str | None]:
        """The code of each key this runner was sent (None for one it was not)."""
        codes = self._codes
        return [codes.get(key) if isinstance(key, str) else None for key in keys]

    def _keyed(self, module: FetchedModule, instead: bool) -> FetchedModule:
        # Made once per answer the environment keeps (and so per module in a warm graph), not per runner.
        memo = self.environment.kept_keyed(module)
        found = memo.get(instead) if memo is not None else None
        if found is None:
            key = code_key(module)
            found = key, module if key is None else keyed(module, key) if instead else {**module, "codeKey": key}
            if memo is not None:
                memo[instead] = found
        key, sent = found
        if instead and key is not None:
            self._codes[key] = module["code"]
        return sent

    def _kept(self, root: FetchedModule, shape: tuple[int, bool]) -> list[FetchedModule] | None:
        """The answers `_dependencies` would find for `root`, from the graph kept for it, where that is current."""
        kept = self.environment.kept_graphs.get((root["id"], shape))
        if kept is None or kept.root is not root or not kept.current(self.environment):
            return None
        self._sent.update(node.id for node, _ in kept.modules)
        return list(kept.answers)

    async def _dependencies(self, root: FetchedModule, options: FetchOptions,
                            keep: tuple[int, bool] | None = None) -> list[FetchedModule]:
        """The answers for the static dependencies of `root` this runner was not sent, level by level;
        kept for the next fresh runner (`keep`: the options' shape) where each was answered whole."""
        options = cast("FetchOptions", {key: value for key, value in options.items() if key != "attributes"})
        # Read once per edge of the graph (thousands in a package): the graph's own dict, no call.
        node_at = self.environment.module_graph.url_to_module.get
        sent = self._sent
        found: list[FetchedModule] = []
        whole = True  # every module answered
        level = [root]
        while level:
            # The next level, in import order: as the runner would fetch it.
            wanted: list[tuple[str, str, str]] = []  # (url, importer id, module id)
            for importer in level:
                meta = importer["modrun"]
                deps, resolved, required = meta.get("deps"), meta.get("resolved"), meta.get("required")
                # ES imports and re-exports, and a CommonJS module's requires: what the runner fetches with it.
                urls = [resolved.get(key) for key in deps] if deps and resolved else []
                if required:
                    urls += required.values()
                for url in urls:
                    node = node_at(url) if url else None
                    if node is None or node.id in sent:
                        continue
                    sent.add(node.id)
                    wanted.append((url, importer["id"], node.id))
            level = []
            for (_, _, id), answer in zip(wanted, await self._fetch_level(wanted, options, node_at), strict=True):
                if isinstance(answer, Exception):  # the runner fetches it itself, and reports the error where imported
                    self._sent.discard(id)
                    whole = False
                elif "code" in answer:
                    found.append(cast("FetchedModule", answer))
                    level.append(found[-1])
                else:
                    whole = False
        if keep is not None:
            self._keep(root, found if whole else None, keep)
        return found

    def _keep(self, root: FetchedModule, found: list[FetchedModule] | None, shape: tuple[int, bool]) -> None:
        """Keep the graph found for `root` (None: not whole) for the next fresh runner, from the second time
        it is walked: a process that imports it once (a command-line run) does not pay for checking it."""
        graphs = self.environment.kept_graphs
        key = (root["id"], shape)
        if key not in graphs:
            graphs[key] = None
            return
        graphs[key] = None if found is None else KeptGraph.of(self.environment, root, found, shape)

    async def _fetch_level(self, wanted: list[tuple[str, str, str]], options: FetchOptions,
                           node_at: Callable[[str], ModuleNode | None]) -> list[FetchResult | Exception]:
        """The answers for one level (or what each fetch raised), fetched concurrently as the runner's
        requests were, so that plugins' asynchronous loads overlap; but each fetch starts at once, in
        order, and one that does not suspend (a module the environment holds, or finds on disk) is
        answered without a task or a turn of the event loop, so a level's fetches run in the order,
        and interleave with other requests as, they did one request each. A module whose answer the
        environment keeps, current, is answered without a fetch at all (Environment.kept_answer).

        A fetch that suspended on a future already done by the time the next one starts (the transform
        worker's answer, read as it took a later module: transform_worker.py) goes on at once, in this
        task, rather than after the level's last start: the host then builds the answers the worker made
        while the worker transforms what it holds, where it would otherwise have started the whole level
        first, transforming itself each module the worker had no room for, and built those answers only
        once the worker had run dry."""
        environment = self.environment
        fetch, kept_answer = environment.fetch_module, environment.kept_answer
        shape = _shape(options)
        results: list[FetchResult | Exception | None] = [None] * len(wanted)
        # (index, fetch, what it waits on), in the order they suspended: the worker answers in the order it was asked
        waiting: deque[tuple[int, Coroutine[Any, Any, FetchResult], Any]] = deque()
        for index, (url, importer, _) in enumerate(wanted):
            # (a url that does not start with "/" is resolved again by fetch_module, not looked up)
            node = node_at(url) if shape is not None and url.startswith("/") else None
            kept = kept_answer(node, shape) if node is not None and shape is not None else None
            if kept is not None:
                results[index] = kept
                continue
            _step(index, fetch(url, importer, options), results, waiting)
            while waiting and _done(waiting[0]):
                earlier, going_on, _ = waiting.popleft()
                _step(earlier, going_on, results, waiting)
        # The last start made: what the worker has answered goes on (in the order it was asked, the oldest
        # first, or the one last taken back); where it has answered nothing the host, with nothing else to
        # do, takes back what the worker holds beyond the module it is at, and transforms it.
        worker = environment.server.transform_worker
        while waiting:
            if _done(waiting[0]):
                index, coroutine, _ = waiting.popleft()
            elif _done(waiting[-1]):
                index, coroutine, _ = waiting.pop()
            else:
                worker.read_answers()
                if _done(waiting[0]) or _done(waiting[-1]) or worker.take_back():
                    continue
                break
            _step(index, coroutine, results, waiting)
        suspended = [(index, asyncio.ensure_future(resumed(coroutine, waiting_on)))
                     for index, coroutine, waiting_on in waiting]
        for index, task in suspended:
            try:
                results[index] = await task
            except Exception as error:
                results[index] = error
        return cast("list[FetchResult | Exception]", results)


def _done(waiting: tuple[int, Coroutine[Any, Any, FetchResult], Any]) -> bool:
    """Has what a fetch waits on (a future, as a task would find it) finished?"""
    return isinstance(waiting[2], asyncio.Future) and waiting[2].done()


def _step(index: int, coroutine: Coroutine[Any, Any, FetchResult], results: list[FetchResult | Exception | None],
          waiting: deque[tuple[int, Coroutine[Any, Any, FetchResult], Any]]) -> None:
    """Step a fetch by hand (its first step, or the next once what it waited on is done, as a task would):
    its answer, or what it raised, goes in `results[index]`; a fetch that suspends again joins the end of
    `waiting` with what it waits on now."""
    try:
        waiting.append((index, coroutine, coroutine.send(None)))
    except StopIteration as done:
        results[index] = done.value
    except Exception as error:
        results[index] = error


def _shape(options: FetchOptions) -> tuple[int, bool] | None:
    """What of a fetch's options shapes its answer, as fetch_module reads them (startOffset, inlineSourceMap);
    None with `cached`, whose answer may not be the module's."""
    if options.get("cached"):
        return None
    return int(options.get("startOffset") or 0), bool(options.get("inlineSourceMap", True))
