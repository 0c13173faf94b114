"""Bindings: named values and Python callables an environment hands to its runtimes, which JS sees
as the `env` object (`import env from "modrun:env"`, and a fetch handler's second argument).

    Server(root, environments={"app": {"bindings": {
        "config": {"region": "eu", "flags": ["a"]},     # data: deep-frozen in JS
        "secret": b"\\x00\\x01",                          # bytes: a Uint8Array (a fresh copy per read)
        "lookup": lookup,                               # def lookup(key: str) -> dict | None
        "fetch_user": fetch_user,                       # async def fetch_user(id: int) -> dict
    }}})

In JS every callable is an async function: `await env.lookup("k")`. Arguments and results cross as
JSON plus bytes (Uint8Array / ArrayBuffer / any view in JS, bytes / bytearray / memoryview in
Python); anything else is a TypeError naming where it is. A callable's exception rejects the JS
promise with an Error whose `name` is the exception's type name and whose `message` is its text,
nothing more (no traceback, no host paths). A synchronous callable runs in a worker thread, so a
slow one never stalls the event loop (other runtimes, the wall-time limit); an async one runs on
the loop. While a call is pending the runtime waits in the host: its CPU limit is not spent, its
wall-time limit is, and a call still pending when the wall time runs out is cancelled (an async
callable gets CancelledError; a thread cannot be stopped and finishes on its own, its result
dropped). A runtime reaches the callables listed here and nothing else.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import JSError, UsageError

#: the largest integer JS numbers hold exactly
MAX_SAFE_INTEGER = 2**53 - 1
#: names that can be a named export of `modrun:env` (others are reached through the default export)
_EXPORT_NAME = re.compile(r"[A-Za-z_$][\w$]*\Z")


def to_wire(value: Any, where: str) -> Any:
    """A Python value as wire data (JSON plus the bytes marker), or a TypeError naming where in it
    the value that cannot cross is."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise TypeError(f"{where} is {value}, larger than JS numbers hold exactly (2**53 - 1): pass it as a string")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{where} is {value}, which JSON cannot carry")
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$modrun": "bytes", "latin1": bytes(value).decode("latin-1")}
    if isinstance(value, list | tuple):
        return [to_wire(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has the key {key!r}: object keys must be strings")
            out[key] = to_wire(item, f"{where}.{key}")
        return {"$modrun": "object", "value": out} if "$modrun" in out else out
    raise TypeError(f"{where} is a {type(value).__name__}, which cannot cross to JS "
                    "(JSON values and bytes can)")


def from_wire(value: Any) -> Any:
    """Wire data from JS as Python values: bytes markers as bytes."""
    if isinstance(value, list):
        return [from_wire(item) for item in value]
    if isinstance(value, dict):
        marker = value.get("$modrun")
        if marker == "bytes":
            return str(value["latin1"]).encode("latin-1")
        source = value["value"] if marker == "object" else value
        return {key: from_wire(item) for key, item in source.items()}
    return value


class Bindings:
    """An environment's bindings, answering the runtime's `bindings` requests:
    `("describe",)` -> `{values, functions}` and `("call", name, args)` -> the callable's result."""

    def __init__(self, bindings: Mapping[str, Any] | None = None, what: str = "bindings") -> None:
        self.callables: dict[str, Callable[..., Any]] = {}
        values: dict[str, Any] = {}
        for name, value in (bindings or {}).items():
            if not isinstance(name, str) or not name:
                raise UsageError(f"{what}: binding names must be non-empty strings, not {name!r}")
            if callable(value):
                self.callables[name] = value
            else:
                try:
                    values[name] = to_wire(value, f"{what}: {name}")
                except TypeError as error:
                    raise UsageError(str(error)) from None
        self._description = {"values": values, "functions": list(self.callables)}

    @classmethod
    def from_config(cls, value: Any, what: str) -> Bindings:
        if value is None or isinstance(value, Bindings):
            return value or cls()
        if not isinstance(value, Mapping):
            raise UsageError(f"{what}: bindings must be a mapping of names to values and callables")
        return cls(value, what)

    @property
    def names(self) -> list[str]:
        """Every binding's name, data first."""
        return [*self._description["values"], *self.callables]

    def export_names(self) -> list[str]:
        """The names `modrun:env` also exports by name (those that are JS identifier names)."""
        return [name for name in self.names if _EXPORT_NAME.match(name) and name != "default"]

    async def __call__(self, operation: str, *args: Any) -> Any:
        if operation == "describe" and not args:
            return self._description
        if operation == "call" and len(args) == 2 and isinstance(args[1], list):
            return await self.call(str(args[0]), from_wire(args[1]))
        raise JSError(f"bindings: no operation {operation!r} with these arguments", name="TypeError")

    async def call(self, name: str, args: list[Any]) -> Any:
        # asyncio is loaded by now; not at import: `modrun run` builds its config (and so imports this file)
        # before it loads asyncio, without TLS (cli/run.py), and before its process-evaluator worker starts.
        import asyncio

        function = self.callables.get(name)
        if function is None:  # only a forged request can name one: the env object has no other
            raise JSError(f"env.{name} is not a binding of this environment", name="TypeError")
        try:
            if inspect.iscoroutinefunction(function):
                result = await function(*args)
            else:
                result = await asyncio.to_thread(function, *args)
                if inspect.isawaitable(result):
                    result = await result
        except Exception as error:  # the callable's failure is the JS caller's rejection, type and text only
            raise JSError(str(error), name=type(error).__name__) from None
        try:
            return to_wire(result, f"the result of env.{name}")
        except TypeError as error:
            raise JSError(str(error), name="TypeError") from None
