"""The host's handle on the module runner inside one runtime: drives the transport, answers the
runtime's requests (fetchModule…) while it waits for its own, and enforces the time budget.

It is also the host's half of the runtime's event loop (runner/js/event_loop.js): the runtime
says when it wants its next turn (TIMERS_EVENT); while the host waits for an answer it sleeps
until then, within the wall-time budget, and wakes the runtime (WAKE_EVENT) to run its timers."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import CrashError, JSError, LimitError, RuntimeStopped, error_from_payload
from ..limits import Budget, Limits
from .protocol import (
    CONSOLE_EVENT,
    INVOKE_EVENT,
    LIMIT_EVENT,
    SEED_EVENT,
    TIMERS_EVENT,
    WAKE_EVENT,
    Handler,
    Message,
    answer_invoke,
    check_json,
    invoke_message,
    request_of,
)
from .transport import RuntimeTransport

if TYPE_CHECKING:
    from .payloads import PendingTimer

ConsoleSink = Callable[[str, str], None]


WAKE: Message = {"type": "custom", "event": WAKE_EVENT}


def _print_console(level: str, text: str) -> None:
    print(text, flush=True)


class RunnerClient:
    def __init__(self, transport: RuntimeTransport, handlers: Mapping[str, Handler], *, limits: Limits,
                 on_console: ConsoleSink | None = None) -> None:
        self.transport = transport
        self.handlers = handlers
        self.limits = limits
        self.on_console = on_console or _print_console
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self._seeded = False
        #: where custom events of the runtime go (`import.meta.hot.send`): set by the hot channel
        self.on_custom_event: Callable[[str, Any], None] | None = None
        self._wake: float | None = None  # when the runtime wants its next turn (time.monotonic())
        self._answered = 0  # answers handed to the transport (see _pump)

    @property
    def dead(self) -> bool:
        return self.transport.dead

    async def invoke(self, name: str, args: list[Any], *, deadline: float | None = None,
                     cpu_ms: float | None = None) -> Any:
        """Ask the runtime to run `name(*args)` and wait for its answer; `cpu_ms` is this operation's
        own CPU budget (within the runtime's)."""
        async with self._lock:
            return await self._run(next(self._ids), name, args, deadline, cpu_ms)

    async def settle(self, *, deadline: float | None = None) -> None:
        """Let the runtime finish what it still has under way (dynamic imports, promise jobs, timers
        already due) until it is idle and the host owes it nothing. Later timers are not waited
        for: `pending_timers` lists them."""
        async with self._lock:
            await self._run(None, "", [], deadline)

    async def pending_timers(self) -> list[PendingTimer]:
        """The runtime's timers that have not run yet (none once it is gone)."""
        if self.transport.dead or self._wake is None:
            return []
        timers: list[PendingTimer] = await self.invoke("pendingTimers", [])
        return timers

    async def call(self, url: str, path: list[str | int], args: list[Any], *, deadline: float | None = None,
                   cpu_ms: float | None = None) -> Any:
        """Call an export (or a method reached from one) with JSON arguments. Runtimes that can be
        entered directly run a call that returns a plain value without any message round trip."""
        transport = self.transport
        if not transport.direct_calls or self._lock.locked() or not self._seeded or transport.busy:
            check_json(args)
            return await self.invoke("call", [url, path, args], deadline=deadline, cpu_ms=cpu_ms)
        # No await until the engine has answered, so no other operation can interleave here and
        # the lock is needed only if the answer is a promise still to be awaited (or while an
        # awaited call is under way).
        self._check_alive()
        budget = Budget.start(self.limits, deadline, cpu_ms)
        try:
            if transport.awaited_calls:
                async with self._lock:
                    answer, messages = await transport.call_awaited(budget, url, path, args)
            else:
                answer, messages = transport.call_now(budget, url, path, args)
            self._handle(messages, None)
            if "pending" in answer:  # it returned a promise: wait for it the ordinary way
                async with self._lock:
                    call_id = next(self._ids)
                    await self.transport.send([invoke_message("awaitCall", call_id, [answer["pending"]])])
                    return await self._pump(call_id, budget)
            return self._result(answer)  # inside: an answer that says a limit stopped it discards the runtime too
        except RuntimeStopped as error:
            await self._discard(error)
            raise

    def _check_alive(self) -> None:
        if self.transport.dead:
            raise CrashError("the runtime is no longer available (it hit a limit, crashed or was closed)")

    async def _run(self, call_id: int | None, name: str, args: list[Any], deadline: float | None,
                   cpu_ms: float | None = None) -> Any:
        self._check_alive()
        budget = Budget.start(self.limits, deadline, cpu_ms)  # a bad budget fails before anything is sent
        if not self._seeded:
            # Entropy for crypto.getRandomValues, from the host, before anything can run: a runtime
            # made from a snapshot must not share its random state with its siblings.
            self._seeded = True
            await self.transport.send([{"type": "custom", "event": SEED_EVENT,
                                        "data": {"seed": os.urandom(32).hex()}}])
        if call_id is not None:
            await self.transport.send([invoke_message(name, call_id, args)])
        try:
            return await self._pump(call_id, budget)
        except RuntimeStopped as error:
            await self._discard(error)
            raise

    async def _discard(self, error: RuntimeStopped) -> None:
        for message in error.output:  # what the runtime printed before it stopped
            if message.get("event") == CONSOLE_EVENT:
                self._event(message)
        for task in self._background:
            task.cancel()
        await self.transport.close()  # a runtime that hit a limit is never reused

    @staticmethod
    def _result(answer: dict[str, Any]) -> Any:
        if "error" in answer:
            raise error_from_payload(answer["error"])
        return answer.get("result")

    def _handle(self, messages: list[Message], wanted: str | None) -> dict[str, Any] | None:
        """Dispatch a batch: requests from the runtime start background tasks, events go to their
        sinks, and the answer to `wanted` is returned. Every message is handled, also those after
        the answer (console output printed after it)."""
        answer = None
        for message in messages:
            request = request_of(message)
            if request is not None:
                task = asyncio.ensure_future(self._answer(request))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
                continue
            data = message.get("data")
            if message.get("event") == INVOKE_EVENT and isinstance(data, dict):
                if wanted is not None and data.get("id") == wanted:
                    answer = data.get("data") or {}
                continue
            self._event(message)
        return answer

    async def _pump(self, call_id: int | None, budget: Budget) -> Any:
        # Requests the runtime made stay answered in the background after our own answer came:
        # a pending dynamic import must still complete.
        wanted = f"response:{call_id}" if call_id is not None else None
        tasks = self._background
        # Settling runs the timers due by now, not the ones they set in turn: an interval or a chain
        # of timeouts would keep it going for ever.
        due_by = time.monotonic() if wanted is None else float("inf")
        while True:
            answered = self._answered
            messages = await self.transport.receive(budget)
            answer = self._handle(messages, wanted)
            if answer is not None:
                return self._result(answer)
            # An answer queued while the transport was receiving may have missed that turn: the
            # runtime is idle only after a receive that began with every answer queued.
            if messages or self._answered != answered:
                continue
            # Idle: it waits for the host (requests under way) or for its next timer.
            now = time.monotonic()
            wake = self._wake
            if wake is not None and wake <= now and wake <= due_by:
                await self.transport.send([WAKE])
                continue
            if wanted is None:
                wake = None  # settling: later timers are not waited for
            if not tasks and wake is None:
                if wanted is None:
                    return None
                raise JSError("the runtime went idle before answering: a promise it awaits never settles "
                              "(for example a top-level await on a promise nothing resolves)", name="Error")
            left = budget.wall_left()
            timeout = left if wake is None else wake - now if left is None else min(left, wake - now)
            if tasks:
                done, _ = await asyncio.wait(set(tasks), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
                if done:
                    continue
            else:
                await asyncio.sleep(timeout or 0.0)
            left = budget.wall_left()
            if left is not None and left <= 0:
                during = "the host served the runtime" if tasks else "the runtime waited for its timers"
                raise LimitError(f"wall-time limit exceeded while {during}", limit="wall-time")

    async def _answer(self, request: dict[str, Any]) -> None:
        await self.transport.send([await answer_invoke(self.handlers, request)])
        self._answered += 1

    def _event(self, message: Message) -> None:
        event = message.get("event")
        data = message.get("data") or {}
        if event == CONSOLE_EVENT:
            self.on_console(str(data.get("level", "log")), str(data.get("text", "")))
        elif event == TIMERS_EVENT:
            delay = data.get("delay")
            self._wake = None if delay is None else time.monotonic() + float(delay) / 1000
        elif event == LIMIT_EVENT:
            raise LimitError(str(data.get("message", "limit exceeded")), limit=str(data.get("limit", "output")))
        elif isinstance(event, str) and self.on_custom_event is not None:
            self.on_custom_event(event, message.get("data"))

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
        await self.transport.close()

