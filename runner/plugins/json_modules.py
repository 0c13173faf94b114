"""JSON modules: `import data from "./data.json"` gives the parsed value as the default export and
nothing else, as the spec says (Vite also makes each top-level key a named export; where Vite
and the spec differ, modrun follows the spec)."""

from __future__ import annotations

import json
from typing import Any

from ..code_frame import code_frame
from ..errors import Location, ParseError
from ..plugin import Plugin
from .module_types import split_type


class JsonPlugin(Plugin):
    name = "modrun:json"

    def transform(self, code: str, id: str, environment: Any) -> str | None:
        path, module_type = split_type(id)
        if module_type != "json" and (module_type is not None or not path.endswith(".json")):
            return None
        try:
            value = json.loads(code)
        except json.JSONDecodeError as error:
            loc = Location(id, error.lineno, error.colno)
            raise ParseError(f"invalid JSON: {error.msg}", loc=loc, frame=code_frame(code, error.lineno, error.colno),
                             id=id) from None
        # A JSON module is a synthetic module: its `default` binding exists from link on, undefined
        # until the module is evaluated (a `var`), never in a TDZ as `export default` would be.
        return f"var json = {json.dumps(value, ensure_ascii=False)};\nexport {{ json as default }};\n"
