"""Module types chosen with import attributes: `with { type: "json" | "text" | "bytes" }`.

A typed module is its own module (the spec keys modules by specifier and type): its id is the
file's id with `?type=<type>`. Text modules export the file's text as default, bytes modules a
Uint8Array over an immutable ArrayBuffer, JSON modules the parsed value (and nothing else).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from ..errors import LoadError
from ..ids import file_of
from ..plugin import Plugin

MODULE_TYPES = ("json", "text", "bytes")
_QUERY = "?type="


def typed_id(id: str, module_type: str | None) -> str:
    if not module_type or (module_type == "json" and id.endswith(".json")):
        return id
    return f"{id}{_QUERY}{module_type}"


def split_type(id: str) -> tuple[str, str | None]:
    base, sep, module_type = id.partition(_QUERY)
    return (base, module_type) if sep else (id, None)


def check_type(module_type: str | None, specifier: str) -> None:
    if module_type is not None and module_type not in MODULE_TYPES:
        raise LoadError(f"import of '{specifier}' asks for module type {module_type!r}; supported types are "
                        f"{', '.join(MODULE_TYPES)} (and JavaScript, with no type)",
                        name="TypeError", code="ERR_IMPORT_ATTRIBUTE_UNSUPPORTED", id=specifier)


class ModuleTypesPlugin(Plugin):
    name = "modrun:module-types"
    enforce = "pre"
    LOADS_ONLY_OWN_IDS = True  # typed ids (PluginContainer.files_load_as_read)

    def load(self, id: str, environment: Any) -> Coroutine[Any, Any, str] | None:
        # A plain function: most modules are untyped, and answer None without a coroutine.
        path, module_type = split_type(id)
        if module_type is None or id.startswith("\0"):
            return None
        return self._load(path, module_type, id)

    async def _load(self, path: str, module_type: str, id: str) -> str:
        try:
            data = await asyncio.to_thread(Path(file_of(path)).read_bytes)
        except OSError as error:
            raise LoadError(f"cannot read {path}: {error.strerror}", code="ERR_LOAD", id=id) from None
        if module_type == "bytes":
            import base64  # here: every run loads this plugin, few import bytes

            encoded = base64.b64encode(data).decode()
            return (f'const bytes = Uint8Array.from(atob("{encoded}"), (c) => c.charCodeAt(0));\n'
                    "export default new Uint8Array(bytes.buffer.transferToImmutable ? "
                    "bytes.buffer.transferToImmutable() : bytes.buffer);\n")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise LoadError(f"{path} is not UTF-8 text (import it with type: 'bytes')", code="ERR_LOAD",
                            id=id) from None
        if module_type == "text":
            return f"export default {json.dumps(text)};\n"
        return text  # json: parsed by the JSON plugin's transform
