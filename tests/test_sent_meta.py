"""The link metadata as `fetchModule` sends it counts its own objects (runner/rpc/sent_module.py), so that
the runtime makes them null-prototype without walking its arrays (runner/js/transport.js: sentMeta):
every object of an answer must still end up without a prototype, whatever the metadata holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from runner.rpc.sent_module import sent_meta


def _transport() -> Any:
    """transport.js in a bare context: its own hostData, and a count of the objects left with a prototype."""
    import _quickjs

    source = (Path(__file__).parent.parent / "runner/js/transport.js").read_text()
    context = _quickjs.Context()
    context.eval(source + """
globalThis.strip = (text) => {
  const value = hostData(JSON.parse(text));
  let left = 0;
  const walk = (item) => {
    if (item === null || typeof item !== "object") return;
    if (Array.isArray(item)) { item.forEach(walk); return; }
    if (Object.getPrototypeOf(item) !== null) left++;
    Object.values(item).forEach(walk);
  };
  walk(value);
  return left;
};
globalThis.known = (text) => sentMeta(JSON.parse(text));""")
    return context


def _meta(**extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "deps": ["./a.js", "./b.js"],
        "imports": [{"specifier": "./a.js", "key": "./a.js", "names": ["x"], "line": 1, "column": 0}],
        "exports": {"x": {"kind": "local"}, "v": {"kind": "local", "var": True},
                    "y": {"kind": "indirect", "specifier": "./b.js", "import": "y"}},
        "starExports": ["./b.js"], "constants": ["x"], "hasTLA": False, "awaits": [3, 9],
        "resolved": {"./a.js": "/a.js", "./b.js": "/b.js"},
    }
    return {**meta, **extra}


def _objects(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_objects(item) for item in value.values())
    if isinstance(value, list):
        return sum(_objects(item) for item in value)
    return 0


COMMONJS = {"format": "commonjs", "requires": [{"specifier": "./a.js", "line": 2, "column": 4}],
            "required": {"./a.js": "/a.js"}, "files": {"./c.js": "/c.js"},
            "unresolved": {"./gone.js": {"name": "Error", "message": "gone", "code": "MODULE_NOT_FOUND"}}}


@pytest.mark.parametrize("extra", [{}, COMMONJS], ids=["esm", "commonjs"])
def test_the_count_is_the_objects_sent_and_the_runtime_finds_them_all_without_a_walk(extra: dict[str, Any]) -> None:
    sent = sent_meta(_meta(**extra))  # type: ignore[arg-type]
    text = orjson.dumps(sent).decode()
    assert sent["objects"] == _objects(json.loads(text))
    context = _transport()
    assert context.get("known")(text) is True
    answer = {"code": "", "id": "/m.js", "url": "/m.js", "modrun": sent, "graph": [{"id": "/a.js", "modrun": sent}]}
    assert context.get("strip")(json.dumps([answer])) == 0


@pytest.mark.parametrize("hidden", [
    {"deps": ["./a.js", {"then": 1}]},  # an object where the protocol has strings
    {"imports": [["./a.js", "./a.js", [{"x": 1}], 1, 0]]},
    {"resolved": {"./a.js": {"url": "/a.js"}}},
    {"extra": {"nested": {"deeper": [{}]}}},  # a field the runtime does not know
    {"exports": {"x": [{"kind": "local"}]}},
    {"requires": ["./a.js"]},
], ids=["deps", "imports", "resolved", "unknown field", "exports", "requires"])
def test_objects_the_count_does_not_cover_are_found_by_the_whole_walk(hidden: dict[str, Any]) -> None:
    context = _transport()
    # Counted as sent (the count is right, but some are not where the runtime looks), counted
    # wrong, and not counted at all.
    meta = {**_meta(), **hidden}
    for objects in (_objects(meta), 2, None):
        sent = meta if objects is None else {**meta, "objects": objects}
        text = json.dumps(sent)
        assert context.get("known")(text) is False
        assert context.get("strip")(json.dumps([{"id": "/m.js", "modrun": sent, "graph": [{"modrun": sent}]}])) == 0
