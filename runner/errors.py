"""Errors raised by the server side and by runtimes, and how they travel as data.

Every error that crosses the transport is a plain dict `{name, message, stack, ...}`; these
classes turn such dicts into Python exceptions and back. `kind` is the command-line
classification: js, usage, load, limit or crash.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class ModrunError(Exception):
    """Base of every error modrun raises on purpose."""

    kind = "js"

    def __init__(self, message: str, *, name: str | None = None, stack: str | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.name = name or type(self).__name__
        self.stack = stack or f"{self.name}: {message}"
        self.extra = extra

    def to_payload(self) -> dict[str, Any]:
        """The error as transport data (Vite's `{name, message, stack}` plus extras)."""
        payload: dict[str, Any] = {"name": self.name, "message": self.message, "stack": self.stack,
                                   "kind": self.kind}
        payload.update(self.extra)
        return payload


class UsageError(ModrunError):
    """Bad arguments or configuration (exit code 2)."""

    kind = "usage"


def config_mapping(value: object, known: set[str], what: str) -> dict[str, Any]:
    """A config mapping with only known keys, or a UsageError that says what `what` accepts."""
    if not isinstance(value, dict):
        raise UsageError(f"{what} must be a mapping, not {type(value).__name__}")
    unknown = sorted(set(value) - known)
    if unknown:
        raise UsageError(f"{what}: unknown option {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return value


class Location(NamedTuple):  # not a dataclass: every run imports this module, and a dataclass costs a compile
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class LoadError(ModrunError):
    """A module could not be resolved, loaded, parsed, transformed or linked (exit code 3)."""

    kind = "load"

    def __init__(self, message: str, *, name: str = "Error", code: str = "ERR_LOAD",
                 loc: Location | None = None, frame: str | None = None, importer: str | None = None,
                 plugin: str | None = None, id: str | None = None, stack: str | None = None) -> None:
        self.code = code
        self.loc = loc
        self.frame = frame
        self.importer = importer
        self.plugin = plugin
        self.id = id
        extra: dict[str, Any] = {"code": code}
        if loc is not None:
            extra["loc"] = {"file": loc.file, "line": loc.line, "column": loc.column}
        if frame:
            extra["frame"] = frame
        if importer:
            extra["importer"] = importer
        if plugin:
            extra["plugin"] = plugin
        if id:
            extra["id"] = id
        where = f"\n    at {loc}" if loc else ""
        full_stack = stack or f"{name}: {message}{where}" + (f"\n\n{frame}" if frame else "")
        super().__init__(message, name=name, stack=full_stack, **extra)


class ParseError(LoadError):
    """Source text that is not a valid ES module (a SyntaxError at parse time)."""

    def __init__(self, message: str, *, loc: Location, frame: str, id: str | None = None,
                 code: str = "ERR_PARSE") -> None:
        super().__init__(message, name="SyntaxError", code=code, loc=loc, frame=frame, id=id or loc.file)


class RuntimeStopped(ModrunError):
    """The runtime is gone. `output` holds the console messages it sent before it stopped, so that
    what a module printed before a limit or a crash is still shown."""

    def __init__(self, message: str, *, output: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.output: list[dict[str, Any]] = list(output or ())


class LimitError(RuntimeStopped):
    """The runtime was stopped by a CPU, wall-time, memory, stack or output limit (exit code 4)."""

    kind = "limit"

    def __init__(self, message: str, *, limit: str, stack: str | None = None,
                 output: list[dict[str, Any]] | None = None) -> None:
        self.limit = limit
        super().__init__(message, name="LimitError", stack=stack, output=output, limit=limit)


class CrashError(RuntimeStopped):
    """The runtime died or the transport failed (exit code 5)."""

    kind = "crash"


class StaleModuleError(CrashError):
    """A module proxy whose runtime was replaced, where the environment's proxy_policy is "stale"
    (runner/runtimes/lifecycle.py)."""


class JSError(ModrunError):
    """An exception thrown by JavaScript code, carried to the host with its mapped stack."""

    kind = "js"


_BY_KIND: dict[str, type[ModrunError]] = {
    "js": JSError, "usage": UsageError, "limit": LimitError, "crash": CrashError,
}


def error_from_payload(payload: dict[str, Any]) -> ModrunError:
    """Rebuild an exception from transport data; unknown shapes become JSError."""
    kind = payload.get("kind") or "js"
    name = str(payload.get("name") or "Error")
    message = str(payload.get("message") if payload.get("message") is not None else "")
    stack = payload.get("stack")
    stack = str(stack) if stack else f"{name}: {message}"
    if kind == "load":
        loc = payload.get("loc")
        location = (Location(str(loc.get("file")), int(loc.get("line", 0)), int(loc.get("column", 0)))
                    if isinstance(loc, dict) else None)
        return LoadError(message, name=name, code=str(payload.get("code") or "ERR_LOAD"), loc=location,
                         frame=payload.get("frame"), importer=payload.get("importer"),
                         plugin=payload.get("plugin"), id=payload.get("id"), stack=stack)
    if kind == "limit":
        return LimitError(message, limit=str(payload.get("limit") or "unknown"), stack=stack)
    extra = {k: v for k, v in payload.items() if k not in ("name", "message", "stack", "kind")}
    return _BY_KIND.get(kind, JSError)(message, name=name, stack=stack, **extra)
