"""A module's link metadata and source map in the form `fetchModule` sends them to the runner.

The runtime turns every object of an answer into a null-prototype object, which costs it a walk
of each object's keys (runner/js/transport.js: hostData), about a microsecond an object in QuickJS:
more than parsing it. A fresh runtime importing a graph receives every module at once, and most
of its objects were small ones made once per import and export. So they are sent as something
that is not an object (linker.js reads them in this form):

- an export that is a binding of the module itself: "local" (or "var", a `var`, which is undefined
  before the module runs rather than in its temporal dead zone); a re-export: `[specifier, import]`
  (a barrel's index re-exports hundreds of names, each an object to make and walk otherwise);
- an import: `[specifier, key, names, line, column]` (ImportEntry's fields, in that order);
- the source map: its JSON text (runner/js/source_map.js parses it when an error is first mapped).

The metadata also says how many objects it holds, at most (`objects`, from its JSON text: a brace
opens each, and a string may hold braces too): the runtime makes null-prototype those where the
protocol puts them and, finding that many, walks none of its arrays (transport.js: sentMeta). Counted
once per answer, as the environment builds it and keeps it (environment.py): a sent metadata is not
changed afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from . import wire

if TYPE_CHECKING:
    from .payloads import LinkMeta


def sent_meta(meta: LinkMeta) -> dict[str, Any]:
    """`meta` with its imports and exports in the sent form."""
    exports = {name: ("var" if entry.get("var") else "local") if entry["kind"] == "local"
               else [entry["specifier"], entry["import"]] for name, entry in meta["exports"].items()}
    imports = [[entry["specifier"], entry["key"], entry["names"], entry["line"], entry["column"]]
               for entry in meta["imports"]]
    sent = {**meta, "exports": exports, "imports": imports}
    try:
        # Each object opens with a brace: never fewer braces than objects
        sent["objects"] = orjson.dumps(sent).count(b"{")
    except orjson.JSONEncodeError:
        pass  # a lone surrogate (wire.dumps sends it escaped): no count, and the runtime walks it whole
    return sent


def sent_map(source_map: dict[str, Any]) -> str:
    """The map's JSON text, positions only: the runner maps stack frames, and code frames are the
    host's (from the module's source), so the source text does not cross again."""
    return wire.dumps({key: value for key, value in source_map.items() if key != "sourcesContent"})
