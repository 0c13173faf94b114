"""The link metadata as `fetchModule` sends it says how many objects it holds at most (runner/rpc/sent_module.py),
so that the runtime makes them null-prototype without walking its arrays (runner/js/transport.js: fetchAnswer,
sentMeta): every object of an answer must still end up without a prototype, whatever the metadata holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from runner.rpc.sent_module import sent_meta


def _transport() -> Any:
    """transport.js in a bare context: `strip`, the objects of an answer left with a prototype once
    fetchAnswer made it host data; `known`, whether sentMeta found every object of a metadata."""
    import _quickjs

    source = (Path(__file__).parent.parent / "runner/js/transport.js").read_text()
    context = _quickjs.Context()
    context.eval(source + """
globalThis.strip = (text) => {
  const value = fetchAnswer(JSON.parse(text));
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


def _answer(sent: dict[str, Any]) -> str:
    """A batch's answer: the module, and two more in its graph, each with the metadata."""
    module = {"code": "", "id": "/m.js", "url": "/m.js", "invalidate": False, "modrun": sent}
    return json.dumps({**module, "graph": [{**module, "id": "/a.js"}, {**module, "id": "/b.js", "map": "{}"}]})


UNRESOLVED = {"name": "Error", "message": "gone", "code": "MODULE_NOT_FOUND",
              "loc": {"file": "/m.js", "line": 3, "column": 1}}
COMMONJS = {"format": "commonjs", "requires": [{"specifier": "./a.js", "line": 2, "column": 4}],
            "required": {"./a.js": "/a.js"}, "files": {"./c.js": "/c.js"}, "unresolved": {"./gone.js": UNRESOLVED}}


OWN_EXPORTS = {"exports": {"x": {"kind": "local"}, "v": {"kind": "local", "var": True}}}  # none stays an object


@pytest.mark.parametrize("extra", [{}, OWN_EXPORTS, COMMONJS], ids=["esm", "own exports", "commonjs"])
def test_the_count_is_the_objects_sent_and_the_runtime_finds_them_all_without_a_walk(extra: dict[str, Any]) -> None:
    sent = sent_meta(_meta(**extra))  # type: ignore[arg-type]
    text = orjson.dumps(sent).decode()
    assert sent["objects"] == _objects(json.loads(text))
    context = _transport()
    assert context.get("known")(text) is True
    assert context.get("strip")(_answer(sent)) == 0


def test_braces_in_strings_count_more_objects_than_there_are_and_the_metadata_is_walked_whole() -> None:
    sent = sent_meta(_meta(deps=["./{a}.js"], resolved={"./{a}.js": "/{a}.js"}))  # type: ignore[arg-type]
    text = orjson.dumps(sent).decode()
    assert sent["objects"] == _objects(json.loads(text)) + 3
    context = _transport()
    assert context.get("known")(text) is False
    assert context.get("strip")(_answer(sent)) == 0


@pytest.mark.parametrize("hidden", [
    {"deps": ["./a.js", {"then": 1}]},  # an object where the protocol has strings
    {"imports": [["./a.js", "./a.js", [{"x": 1}], 1, 0]]},
    {"resolved": {"./a.js": {"url": "/a.js"}}},
    {"extra": {"nested": {"deeper": [{}]}}},  # a field the runtime does not know
    {"exports": {"x": [{"kind": "local"}]}},
    {"requires": ["./a.js", [{}]]},
], ids=["deps", "imports", "resolved", "unknown field", "exports", "requires"])
def test_objects_the_runtime_does_not_look_for_are_found_by_the_whole_walk(hidden: dict[str, Any]) -> None:
    context = _transport()
    # Counted as sent (the count is right, but some are not where the runtime looks), counted
    # wrong, and not counted at all.
    meta = {**_meta(), **hidden}
    for objects in (_objects(meta), 2, None):
        sent = meta if objects is None else {**meta, "objects": objects}
        assert context.get("known")(json.dumps(sent)) is False
        assert context.get("strip")(_answer(sent)) == 0


def test_a_lone_surrogate_leaves_the_metadata_uncounted_and_walked_whole() -> None:
    sent = sent_meta(_meta(constants=["\ud800"]))  # type: ignore[arg-type]
    assert "objects" not in sent
    assert _transport().get("strip")(_answer(sent)) == 0


def test_only_fetch_module_answers_are_read_as_the_protocol_shapes_them() -> None:
    """A count is believed in fetchModule's answers only (the host's, counted as sent_module.py does):
    in any other method's answer a `modrun` field is host data like any other, walked whole."""
    import _quickjs

    source = (Path(__file__).parent.parent / "runner/js/transport.js").read_text()
    context = _quickjs.Context()
    context.eval("const PROTOCOL = { invokeEvent: 'vite:invoke' };\n" + source + """
globalThis.answered = (name, text) => {
  const transport = new MailboxTransport();
  transport.invoke(name, []).then((result) => {
    globalThis.kept = Object.getPrototypeOf(result.modrun.deps[0]) !== null;
  });
  transport.receive(JSON.stringify({ type: "custom", event: "vite:invoke",
                                     data: { name, id: "response:1", data: { result: JSON.parse(text) } } }));
};""")
    # A count too low for what it holds: only a fetchModule answer would take it at its word.
    wrong = json.dumps({"modrun": {"objects": 2, "exports": {}, "deps": [{"then": 1}]}})
    kept = {}
    for name in ("fetchModule", "bindings"):
        context.get("answered")(name, wrong)
        while context.execute_pending_job():
            pass
        kept[name] = context.get("kept")
    assert kept == {"fetchModule": True, "bindings": False}


def test_every_export_is_sent_as_a_string_or_an_array_and_the_runtime_walks_none_of_them() -> None:
    """A barrel's index re-exports hundreds of names: none of them is an object for the runtime to
    parse and make null-prototype (linker.js reads [specifier, import])."""
    exports = {"x": {"kind": "local"}, "v": {"kind": "local", "var": True},
               "y": {"kind": "indirect", "specifier": "./b.js", "import": "y"},
               "ns": {"kind": "indirect", "specifier": "./b.js", "import": "*"}}
    sent = sent_meta(_meta(exports=exports))  # type: ignore[arg-type]
    assert sent["exports"] == {"x": "local", "v": "var", "y": ["./b.js", "y"], "ns": ["./b.js", "*"]}
    assert sent["objects"] == 3  # itself, its exports and its resolutions
    assert _transport().get("known")(orjson.dumps(sent).decode()) is True
