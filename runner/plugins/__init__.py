"""Built-in plugins."""

from .define import DefinePlugin
from .json_modules import JsonPlugin
from .resolve import ResolvePlugin
from .virtual import VirtualModules

__all__ = ["DefinePlugin", "JsonPlugin", "ResolvePlugin", "VirtualModules"]
