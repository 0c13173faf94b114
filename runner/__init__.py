"""modrun: run JavaScript ES modules in sandboxed runtimes, from Python.

The public names load on first use: `import runner.cli` (the command, which starts a worker
process before anything else when it will need one) or a runtime's worker importing
`runner.errors` must not load the whole server with it.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # (not typing's: the console script runs before typing loads, cli/__init__.py)
if TYPE_CHECKING:
    from .asgi import ModrunASGI
    from .capabilities import Bindings
    from .capabilities.fetch import FetchHandler, FetchRequest, FetchResponse
    from .check.project import assert_edge_compatible
    from .config import EnvironmentConfig
    from .dispatch import DispatchRequest, DispatchResponse
    from .environment import Environment
    from .errors import (
        CrashError,
        JSError,
        LimitError,
        LoadError,
        Location,
        ModrunError,
        ParseError,
        StaleModuleError,
        UsageError,
    )
    from .hmr.channel import HotChannel
    from .hmr.hot_update import HotUpdateContext, HotUpdateResult
    from .hmr.report import HotReport
    from .limits import Limits
    from .module_graph import ModuleGraph, ModuleNode
    from .plugin import LoadResult, Plugin
    from .plugins import VirtualModules
    from .rpc.exports import JSFunction, JSOpaque, ModuleProxy
    from .rpc.payloads import PendingTimer
    from .rpc.transport import RuntimeTransport
    from .rpc.websocket import EnvironmentWebSocketServer, serve_environment
    from .runtimes.lifecycle import ManagedRuntime
    from .runtimes.pool import RuntimePool
    from .server import Server
    from .sync import SyncServer

_MODULES = {
    ".asgi": ("ModrunASGI",),
    ".capabilities": ("Bindings",),
    ".capabilities.fetch": ("FetchHandler", "FetchRequest", "FetchResponse"),
    ".check.project": ("assert_edge_compatible",),
    ".config": ("EnvironmentConfig",),
    ".dispatch": ("DispatchRequest", "DispatchResponse"),
    ".environment": ("Environment",),
    ".errors": ("CrashError", "JSError", "LimitError", "LoadError", "Location", "ModrunError", "ParseError",
                "StaleModuleError", "UsageError"),
    ".hmr.channel": ("HotChannel",),
    ".hmr.report": ("HotReport",),
    ".hmr.hot_update": ("HotUpdateContext", "HotUpdateResult"),
    ".limits": ("Limits",),
    ".module_graph": ("ModuleGraph", "ModuleNode"),
    ".plugin": ("LoadResult", "Plugin"),
    ".plugins": ("VirtualModules",),
    ".rpc.exports": ("JSFunction", "JSOpaque", "ModuleProxy"),
    ".rpc.payloads": ("PendingTimer",),
    ".rpc.transport": ("RuntimeTransport",),
    ".runtimes.lifecycle": ("ManagedRuntime",),
    ".runtimes.pool": ("RuntimePool",),
    ".rpc.websocket": ("EnvironmentWebSocketServer", "serve_environment"),
    ".server": ("Server",),
    ".sync": ("SyncServer",),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "Bindings", "CrashError", "Environment", "EnvironmentConfig", "EnvironmentWebSocketServer", "FetchHandler",
    "FetchRequest", "FetchResponse", "HotChannel", "HotReport", "HotUpdateContext", "HotUpdateResult", "JSError",
    "JSFunction", "JSOpaque", "LimitError", "Limits", "LoadError", "LoadResult", "Location", "ManagedRuntime",
    "ModrunError", "ModuleGraph", "ModuleNode", "ModuleProxy", "ParseError", "PendingTimer", "Plugin", "RuntimePool",
    "RuntimeTransport", "Server", "StaleModuleError", "SyncServer", "UsageError", "VirtualModules",
    "assert_edge_compatible", "serve_environment",
    "DispatchRequest", "DispatchResponse", "ModrunASGI",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'runner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
