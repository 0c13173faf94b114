"""A pool of runtimes per environment, for hosts that call into JS concurrently (a web server, a
worker queue): N runtimes, each running one call at a time, so N calls run at once.

    server = Server(root, environments={"app": {"pool": 4, "limits": {"cpu_ms": 50}}})
    pool = server.environments["app"].pool
    await pool.start(["/src/app.js"])                     # optional: boot all N now, the module imported
    html = await pool.call("/src/app.js", "render", "/", cpu_ms=10)   # on whichever runtime is free
    async with pool.acquire() as runtime:                 # a ManagedRuntime, yours until the block ends
        app = await runtime.module("/src/app.js")
        await app.render("/")

A call that hits a limit (its own `cpu_ms` / `wall_ms`, or the environment's) or crashes its
runtime raises LimitError / CrashError; that runtime is replaced in the background (booted, and the
pool's modules imported again), so the pool keeps its size and the next call succeeds. Each member
is a ManagedRuntime (runner/runtimes/lifecycle.py): module state lives per runtime and restarts in a
replacement. Waiting callers are served in arrival order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..rpc.exports import JSFunction
from .lifecycle import ManagedRuntime

if TYPE_CHECKING:
    from ..environment import Environment


class RuntimePool:
    def __init__(self, environment: Environment, size: int) -> None:
        if size < 1:
            raise UsageError(f"a runtime pool needs at least one runtime, not {size}")
        self.environment = environment
        self.size = size
        self.members = [ManagedRuntime(environment) for _ in range(size)]
        self._idle: asyncio.Queue[ManagedRuntime] = asyncio.Queue()
        for member in self.members:
            self._idle.put_nowait(member)
        self._urls: list[str] = []  # modules every member imports when it boots
        self._warming: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def replacements(self) -> int:
        """How many runtimes were replaced after a limit or a crash, over the pool's life."""
        return sum(member.replacements for member in self.members)

    async def start(self, urls: Iterable[str] = ()) -> None:
        """Boot every runtime now, each importing `urls`, rather than on first use; replacements
        import them too."""
        self._urls = [url for url in urls if url not in self._urls] + self._urls
        await asyncio.gather(*(self._warm(member) for member in self.members))

    async def _warm(self, member: ManagedRuntime) -> None:
        await member.client()
        for url in self._urls:
            await member.module(url)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[ManagedRuntime]:
        """A runtime of the pool for the block's duration (waiting while all are busy)."""
        if self._closed:
            raise UsageError("the runtime pool is closed")
        member = await self._idle.get()
        try:
            yield member
        finally:
            if not member.alive and not self._closed:
                # Replaced now, not by the next caller: the pool stays booted. A replacement that
                # fails is tried again by whoever acquires the runtime next.
                task = asyncio.ensure_future(self._warm(member))
                self._warming.add(task)
                task.add_done_callback(self._warmed)
            self._idle.put_nowait(member)

    def _warmed(self, task: asyncio.Task[None]) -> None:
        self._warming.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: the next acquirer meets the failure itself

    async def call(self, url: str, export: str, *args: Any, cpu_ms: float | None = None,
                   wall_ms: float | None = None) -> Any:
        """Call `export` of the module `url` (imported on first use in each runtime) on a free
        runtime, with this call's own CPU and wall-time budget (within the environment's limits)."""
        deadline = time.monotonic() + wall_ms / 1000 if wall_ms is not None else None
        async with self.acquire() as member:
            module = await member.module(url)
            try:
                function = module[export]
            except KeyError as error:
                raise UsageError(str(error.args[0])) from None
            if not isinstance(function, JSFunction):
                raise UsageError(f"{module.url}: export {export!r} is not a function")
            return await function(*args, deadline=deadline, cpu_ms=cpu_ms)

    async def close(self) -> None:
        self._closed = True
        for task in self._warming:
            task.cancel()
        await asyncio.gather(*(member.close() for member in self.members))
