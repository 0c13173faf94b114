"""modrun: run JavaScript ES modules in sandboxed runtimes, from Python."""

from .capabilities import FetchHandler, FetchRequest, FetchResponse
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
from .limits import Limits
from .module_graph import ModuleGraph, ModuleNode
from .plugin import LoadResult, Plugin
from .plugins import VirtualModules
from .rpc.exports import JSFunction, JSOpaque, ModuleProxy
from .rpc.protocol import PendingTimer
from .rpc.transport import RuntimeTransport
from .server import Server
from .sync import SyncServer

__all__ = [
    "CrashError", "Environment", "EnvironmentConfig", "FetchHandler", "FetchRequest", "FetchResponse", "JSError",
    "JSFunction", "JSOpaque", "LimitError",
    "Limits", "LoadError", "LoadResult", "Location", "ModrunError", "ModuleGraph", "ModuleNode", "ModuleProxy",
    "EnvironmentWebSocketServer", "ParseError", "PendingTimer", "Plugin", "RuntimeTransport", "Server", "SyncServer",
    "UsageError", "VirtualModules", "serve_environment",
]


def __getattr__(name: str) -> object:
    # The WebSocket server pulls in `websockets`: import it only when asked for.
    if name in ("EnvironmentWebSocketServer", "serve_environment"):
        from .rpc import websocket

        return getattr(websocket, name)
    raise AttributeError(f"module 'runner' has no attribute {name!r}")
