"""A module's exports as seen from Python: data as Python values (read when the module was
imported), functions as callables that run inside the runtime."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .payloads import ImportAnswer


class Caller(Protocol):
    """What proxies call through: a RunnerClient, or a handle that follows a runtime's replacements
    (runner/runtimes/lifecycle.py)."""

    def call(self, url: str, path: list[str | int], args: list[Any], *, deadline: float | None = None,
             cpu_ms: float | None = None) -> Coroutine[Any, Any, Any]: ...

    def invoke(self, name: str, args: list[Any], *, deadline: float | None = None,
               cpu_ms: float | None = None) -> Coroutine[Any, Any, Any]: ...


class JSFunction:
    """An exported JS function (or a method of an exported object). Awaiting a call runs it in the
    runtime; arguments and the result must be JSON-serialisable. `deadline` (time.monotonic()) and
    `cpu_ms` bound this call, within the runtime's own limits."""

    def __init__(self, runner: Caller, url: str, path: list[str | int], name: str) -> None:
        self._runner = runner
        self._url = url
        self._path = path
        self.__name__ = name or str(path[-1])

    def __call__(self, *args: Any, deadline: float | None = None,
                 cpu_ms: float | None = None) -> Coroutine[Any, Any, Any]:
        # Returns the client's coroutine itself: one coroutine frame less on a hot path.
        return self._runner.call(self._url, self._path, list(args), deadline=deadline, cpu_ms=cpu_ms)

    def __repr__(self) -> str:
        return f"<JSFunction {'.'.join(map(str, self._path))} of {self._url}>"


class JSOpaque:
    """A value JSON cannot carry (a BigInt, a symbol, a cycle…), shown but not usable as data."""

    def __init__(self, type: str, text: str) -> None:
        self.type = type
        self.text = text

    def __repr__(self) -> str:
        return f"<JS {self.type} {self.text}>"


def from_wire(value: Any, runner: Caller, url: str) -> Any:
    if isinstance(value, dict):
        marker = value.get("$modrun")
        if marker == "function":
            return JSFunction(runner, url, list(value["path"]), str(value.get("name") or ""))
        if marker == "opaque":
            return JSOpaque(str(value.get("type")), str(value.get("text")))
        return {k: from_wire(v, runner, url) for k, v in value.items()}
    if isinstance(value, list):
        return [from_wire(v, runner, url) for v in value]
    return value


class ModuleProxy:
    """`mod.name` or `mod["name"]` for an export; `mod.exports` lists their names."""

    def __init__(self, runner: Caller, url: str, exports: list[str], values: dict[str, Any]) -> None:
        self._runner = runner
        self._url = url
        self._exports = exports
        self._values = {name: from_wire(values.get(name), runner, url) for name in exports}

    @classmethod
    async def load(cls, runner: Caller, url: str, *, deadline: float | None = None) -> ModuleProxy:
        answer: ImportAnswer = await runner.invoke("import", [url], deadline=deadline)
        return cls(runner, answer["url"], list(answer["exports"]), answer["values"])

    @property
    def url(self) -> str:
        return self._url

    @property
    def exports(self) -> list[str]:
        return list(self._exports)

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            raise KeyError(self._missing(name))
        return self._values[name]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._values:
            raise AttributeError(self._missing(name))
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __dir__(self) -> list[str]:
        return [*self._exports, "exports", "url", "get"]

    async def get(self, name: str) -> Any:
        """The export's current value (exports are live bindings; attributes are a snapshot)."""
        if name not in self._values:
            raise AttributeError(self._missing(name))
        value = await self._runner.invoke("get", [self._url, [name]])
        return from_wire(value, self._runner, self._url)

    def _missing(self, name: str) -> str:
        listed = ", ".join(self._exports) or "none"
        return f"{self._url} has no export named {name!r} (exports: {listed})"

    def __repr__(self) -> str:
        return f"<ModuleProxy {self._url} exports={self._exports}>"
