"""What importing the transform costs a cold run, before its first module: the records are named tuples
(a dataclass compiles its methods from text as its class is made), and the tables and patterns few
modules need are made on first use, not at import. Checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import json, sys
import runner.transform.ssr_transform
from runner.transform import edits, entries, records, repair
before = {
    "dataclasses": [name for name in ("ImportRecord", "ExportRecord", "TransformResult")
                    if hasattr(getattr(records, name), "__dataclass_fields__")],
    "pairs": len(edits._PAIRS) + len(edits._COMMA_PAIRS),
    "patterns": [fn.__name__ for fn in (repair._with, repair._reserved_name, entries._escape,
                                       entries._string_escape, entries._attr_token) if fn.cache_info().currsize],
}
result = runner.transform.ssr_transform.ssr_transform(
    'import j from "./j.json" with { type: "json" };\\nexport { j as "\\\\u0061" };\\nexport const x = [1, 2];\\n',
    "/p/m.js")
after = {
    "pairs": len(edits._PAIRS),
    "patterns": [fn.__name__ for fn in (repair._with, repair._reserved_name, entries._escape,
                                       entries._string_escape, entries._attr_token) if fn.cache_info().currsize],
}
print(json.dumps({"before": before, "after": after, "exports": sorted(result.exports)}))
"""


def test_importing_the_transform_makes_only_what_every_module_needs() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True).stdout
    found = json.loads(out)
    assert found["before"] == {"dataclasses": [], "pairs": 0, "patterns": []}
    # ... and what a module needs is made when it first does.
    assert found["after"]["pairs"] > 0
    assert found["after"]["patterns"] == ["_string_escape", "_attr_token"]
    assert found["exports"] == ["a", "x"]
