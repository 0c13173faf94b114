"""JSON modules: `import data from "./data.json"` gives the parsed value as the default export,
and each top-level key that is a valid identifier as a named export (as Vite does)."""

from __future__ import annotations

import json
import re
from typing import Any

from ..code_frame import code_frame
from ..errors import Location, ParseError
from ..plugin import Plugin

_IDENTIFIER = re.compile(r"^[A-Za-z_$][\w$]*$")
_RESERVED = frozenset(
    "break case catch class const continue debugger default delete do else enum export extends false "
    "finally for function if import in instanceof new null return super switch this throw true try "
    "typeof var void while with yield let static implements interface package private protected public "
    "await arguments eval".split())


class JsonPlugin(Plugin):
    name = "modrun:json"

    def transform(self, code: str, id: str, environment: Any) -> str | None:
        if not id.split("?", 1)[0].endswith(".json"):
            return None
        try:
            value = json.loads(code)
        except json.JSONDecodeError as error:
            loc = Location(id, error.lineno, error.colno)
            raise ParseError(f"invalid JSON: {error.msg}", loc=loc, frame=code_frame(code, error.lineno, error.colno),
                             id=id) from None
        literal = json.dumps(value, ensure_ascii=False)
        lines = [f"const __json__ = {literal};", "export default __json__;"]
        if isinstance(value, dict):
            for key in value:
                if _IDENTIFIER.match(key) and key not in _RESERVED:
                    lines.append(f"export const {key} = __json__[{json.dumps(key)}];")
        return "\n".join(lines) + "\n"
