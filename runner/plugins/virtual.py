"""Virtual modules: ids with no file behind them, served from memory (`virtual:` ids, with the
`\\0` prefix convention so that no other plugin mistakes them for paths)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..plugin import Plugin

Source = str | Callable[[], str]


class VirtualModules(Plugin):
    name = "modrun:virtual"
    enforce = "pre"
    LOADS_ONLY_OWN_IDS = True  # `\0` ids (PluginContainer.files_load_as_read)

    def __init__(self, modules: dict[str, Source]) -> None:
        self.modules = dict(modules)

    def resolve_id(self, source: str, importer: str | None, environment: Any) -> str | None:
        if source in self.modules:
            return "\0" + source
        return None

    def load(self, id: str, environment: Any) -> str | None:
        if id.startswith("\0") and id[1:] in self.modules:
            source = self.modules[id[1:]]
            return source() if callable(source) else source
        return None
