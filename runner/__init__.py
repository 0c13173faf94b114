"""modrun: run JavaScript ES modules in sandboxed runtimes, from Python."""

from .config import EnvironmentConfig
from .environment import Environment
from .errors import (
    CrashError,
    JSError,
    LimitError,
    LoadError,
    Location,
    ModrunError,
    ParseError,
    UsageError,
)
from .exports_proxy import JSFunction, JSOpaque, ModuleProxy
from .limits import Limits
from .module_graph import ModuleGraph, ModuleNode
from .plugin import LoadResult, Plugin
from .plugins import VirtualModules
from .server import Server, SyncServer
from .transport import RuntimeTransport

__all__ = [
    "CrashError", "Environment", "EnvironmentConfig", "JSError", "JSFunction", "JSOpaque", "LimitError",
    "Limits", "LoadError", "LoadResult", "Location", "ModrunError", "ModuleGraph", "ModuleNode", "ModuleProxy",
    "EnvironmentWebSocketServer", "ParseError", "Plugin", "RuntimeTransport", "Server", "SyncServer", "UsageError",
    "VirtualModules", "serve_environment",
]


def __getattr__(name: str) -> object:
    # The WebSocket server pulls in `websockets`: import it only when asked for.
    if name in ("EnvironmentWebSocketServer", "serve_environment"):
        from . import ws_server

        return getattr(ws_server, name)
    raise AttributeError(f"module 'runner' has no attribute {name!r}")
