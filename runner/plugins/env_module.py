"""`modrun:env`: the virtual module of an environment's bindings (runner/capabilities/bindings.py).
Its default export is the `env` object; each binding whose name is a JS identifier is also a named
export. The generated code holds the names only, never the values: transforms are cached on disk."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..plugin import Plugin
from ..rpc.protocol import ENV_MODULE, ENV_MODULE_ID

if TYPE_CHECKING:
    from ..capabilities import Bindings


class EnvModule(Plugin):
    name = "modrun:env"
    enforce = "pre"
    LOADS_ONLY_OWN_IDS = True  # ENV_MODULE_ID (PluginContainer.files_load_as_read)

    def __init__(self, bindings: Bindings) -> None:
        self.bindings = bindings

    def resolve_id(self, source: str, importer: str | None, environment: object) -> str | None:
        return ENV_MODULE_ID if source == ENV_MODULE else None

    def passes(self, source: str, importer: str | None) -> bool:
        """Does resolve_id answer None? (PluginContainer.passes_before)"""
        return source != ENV_MODULE

    def load(self, id: str, environment: object) -> str | None:
        if id != ENV_MODULE_ID:
            return None
        # import.meta.modrunEnv exists only in this module, and only in modrun's runner
        # (runner/js/module_runner/module_runner.js).
        lines = ['if (typeof import.meta.modrunEnv !== "function") throw new Error("modrun:env: this module runner '
                 'has no bindings (only modrun\'s own runtimes have)");',
                 "const env = await import.meta.modrunEnv();", "export default env;"]
        for i, name in enumerate(self.bindings.export_names()):
            lines.append(f"const binding{i} = env[{name!r}];\nexport {{ binding{i} as {name} }};")
        return "\n".join(lines) + "\n"
