"""Built-in plugins."""

from .json_modules import JsonPlugin
from .resolve import ResolvePlugin
from .virtual import VirtualModules

__all__ = ["JsonPlugin", "ResolvePlugin", "VirtualModules"]
