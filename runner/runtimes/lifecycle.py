"""A runtime that outlives its failures: after a call hits a limit or the runtime crashes, the failing
call gets its LimitError or CrashError, the runtime is discarded (a stopped engine is never reused),
and the next operation runs on a fresh one.

A replacement starts from nothing: every module's state restarts (counters, caches, timers), as a
Worker's isolate does when it is recycled. What a module proxy does then is the environment's
`proxy_policy`:

- "rebind" (the default): the modules the host had imported are imported again in the new runtime,
  in the same order, and existing proxies call into them;
- "stale": existing proxies raise StaleModuleError; import the module again for a new proxy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from ..errors import LoadError, StaleModuleError
from ..rpc.exports import ModuleProxy

if TYPE_CHECKING:
    from ..environment import Environment
    from ..rpc.client import RunnerClient


class ManagedRuntime:
    """One runtime of an environment, replaced when it stops. `generation` counts replacements."""

    def __init__(self, environment: Environment, policy: str | None = None) -> None:
        self.environment = environment
        self.policy = policy or environment.config.proxy_policy
        self.generation = 0
        self.replacements = 0
        self.current: RunnerClient | None = None
        self._entries: list[str] = []  # urls the host imported, in order (what a rebind imports again)
        self._proxies: dict[str, ModuleProxy] = {}
        self._booting: asyncio.Future[RunnerClient] | None = None

    @property
    def alive(self) -> bool:
        return self.current is not None and not self.current.dead

    async def client(self) -> RunnerClient:
        """The live runtime: the current one, or a replacement booted now (one boot however many
        callers wait for it)."""
        if self.current is not None and not self.current.dead:
            return self.current
        if self._booting is None:
            self._booting = asyncio.ensure_future(self._boot())
        booting = self._booting
        try:
            return await asyncio.shield(booting)
        finally:
            if self._booting is booting and booting.done():
                self._booting = None

    async def _boot(self) -> RunnerClient:
        if self.current is not None:  # a replacement
            await self.current.close()
            self.current = None
            self.generation += 1
            self.replacements += 1
            if self.policy == "stale":
                self._entries.clear()
                self._proxies.clear()
        client = await self.environment.create_runner()
        try:
            for url in self._entries:  # rebinding: what the host had imported, again
                await client.invoke("import", [url])
        except BaseException:
            await client.close()  # the next operation tries again from a fresh runtime
            raise
        self.current = client
        return client

    async def import_module(self, url: str, *, deadline: float | None = None) -> ModuleProxy:
        """Import `url` here and return its exports, through a handle that follows this runtime's
        replacements (or reports itself stale, by the policy). Remembered per url."""
        await self.client()  # booted (or replaced) first, so that the handle holds the generation it imports in
        try:
            proxy = await ModuleProxy.load(RuntimeHandle(self, self.generation), url, deadline=deadline)
        except LoadError as error:
            from ..compile_errors import located_compile_error  # (only a failed import needs them)
            from ..import_sites import located_load_error

            # the runtime that refused a module, where it is still there, says where a regular expression fails
            invoke = self.current.invoke if self.current is not None and self.alive else None
            error = await located_compile_error(error, self.environment, invoke)
            raise located_load_error(error, self.environment) from None
        if proxy.url not in self._entries:
            self._entries.append(proxy.url)
        self._proxies[url] = proxy
        return proxy

    async def module(self, url: str) -> ModuleProxy:
        """The proxy of an imported module (imported now if it was not yet, or not since a replacement)."""
        proxy = self._proxies.get(url)
        if proxy is None or not self.alive:
            proxy = await self.import_module(url)
        return proxy

    async def invoke(self, name: str, args: list[Any], *, deadline: float | None = None,
                     cpu_ms: float | None = None) -> Any:
        """A runtime method (runner/rpc/protocol.py RUNTIME_METHODS) on the live runtime."""
        return await (await self.client()).invoke(name, args, deadline=deadline, cpu_ms=cpu_ms)

    async def close(self) -> None:
        if self._booting is not None:
            self._booting.cancel()
            self._booting = None
        if self.current is not None:
            await self.current.close()
            self.current = None


class RuntimeHandle:
    """What a module proxy calls through: the managed runtime, as of the generation it was imported in."""

    __slots__ = ("runtime", "generation")

    def __init__(self, runtime: ManagedRuntime, generation: int) -> None:
        self.runtime = runtime
        self.generation = generation

    def call(self, url: str, path: list[str | int], args: list[Any], *, deadline: float | None = None,
             cpu_ms: float | None = None) -> Coroutine[Any, Any, Any]:
        runtime = self.runtime
        current = runtime.current
        if current is not None and not current.dead and runtime.generation == self.generation:
            return current.call(url, path, args, deadline=deadline, cpu_ms=cpu_ms)  # the hot path: no extra frame
        return self._after_replacement(url, path, args, deadline, cpu_ms)

    def invoke(self, name: str, args: list[Any], *, deadline: float | None = None,
               cpu_ms: float | None = None) -> Coroutine[Any, Any, Any]:
        return self._invoke(name, args, deadline, cpu_ms)

    async def _invoke(self, name: str, args: list[Any], deadline: float | None, cpu_ms: float | None) -> Any:
        client = await self._client()
        return await client.invoke(name, args, deadline=deadline, cpu_ms=cpu_ms)

    async def _after_replacement(self, url: str, path: list[str | int], args: list[Any], deadline: float | None,
                                 cpu_ms: float | None) -> Any:
        client = await self._client()
        self.generation = self.runtime.generation  # rebound: the hot path again from now on
        return await client.call(url, path, args, deadline=deadline, cpu_ms=cpu_ms)

    async def _client(self) -> RunnerClient:
        runtime = self.runtime
        if runtime.policy == "stale" and (runtime.generation != self.generation or not runtime.alive):
            raise StaleModuleError("this module was imported in a runtime that has since been replaced (it hit a "
                                   "limit or crashed), and the environment's proxy_policy is 'stale': import the "
                                   "module again")
        return await runtime.client()
