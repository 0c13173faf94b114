"""A module's prologue (the imports and export declarations the transform puts first, ended by the
gate `await __vite_ssr_import_meta__;`) is found by the runtime's evaluator (esm_evaluator.js,
prologueAwaits), which blanks its `await`s: here, strings in the prologue that hold `await `, quotes,
backslashes and the gate's own text, in every kind of wrapper (no top-level await, top-level await,
top-level await in a cycle), in every evaluator. Values, evaluation order and source-mapped positions
must come out as if the prologue were read by a parser."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from runner import JSError, Server
from tests.project_files import write

EVALUATORS = ("inprocess", "wasm", "process")

# Export names and a file name that look like prologue text (ES2022 string export names).
NAMES = '''export { one as "await __vite_ssr_import_meta__;", two as "say \\"await \\" twice", three as "\\\\" };
'''

LIB = '''globalThis.order = (globalThis.order || []).concat("lib");
const one = 1, two = 2, three = 3;
''' + NAMES

# The entry reads the names, then throws from line 8 of its own source, where QuickJS places a `new`
# expression at its callee: column 13.
ENTRY = '''import { "await __vite_ssr_import_meta__;" as a, "say \\"await \\" twice" as b,
  "\\\\" as c } from "./await x.js";
import * as all from "./await x.js";
globalThis.order.push("entry");
export const sum = a + b + c;
export const names = Object.keys(all);
export function fail() {
  throw new Error("from the entry");
}
'''


async def imported(root: Path, evaluator: str) -> tuple[Any, Any]:
    async with Server(root=root, cache_dir=False, environments={"ssr": {"evaluator": evaluator}}) as server:
        env = server.environments["ssr"]
        mod = await env.import_module("/entry.js")
        with pytest.raises(JSError) as raised:
            await mod.fail()
        order = (await env.import_module("/order.js")).order
        return (mod.sum, mod.names, order), raised.value


ORDER = "export const order = globalThis.order;\n"


def check(root: Path, evaluator: str, expected_order: list[str]) -> None:
    (total, names, order), error = asyncio.run(imported(root, evaluator))
    assert total == 6
    assert names == sorted(["await __vite_ssr_import_meta__;", 'say "await " twice', "\\"])
    assert order == expected_order
    assert "entry.js:8:13)" in str(error.stack), error.stack


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_strings_that_look_like_the_prologue(tmp_path: Path, evaluator: str) -> None:
    check(write(tmp_path, {"await x.js": LIB, "entry.js": ENTRY, "order.js": ORDER}), evaluator, ["lib", "entry"])


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_strings_that_look_like_the_prologue_with_top_level_await(tmp_path: Path, evaluator: str) -> None:
    lib = LIB + 'await null;\nglobalThis.order.push("lib after await");\n'
    entry = ENTRY + "await null;\n"
    check(write(tmp_path, {"await x.js": lib, "entry.js": entry, "order.js": ORDER}), evaluator,
          ["lib", "lib after await", "entry"])


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_strings_that_look_like_the_prologue_in_a_cycle_with_top_level_await(tmp_path: Path, evaluator: str) -> None:
    # The library imports the entry back: both are started early, as async generators.
    lib = 'import { sum } from "./entry.js";\n' + LIB + 'await null;\nglobalThis.order.push("lib after await");\n'
    entry = ENTRY + "await null;\n"
    check(write(tmp_path, {"await x.js": lib, "entry.js": entry, "order.js": ORDER}), evaluator,
          ["lib", "lib after await", "entry"])


# The host finds the prologue's awaits once per transform (runner/transform_request.py) and sends
# them with the module; the runner's evaluator takes them where they match its code. Both walks must
# agree, in the runner's string indexes (UTF-16 code units: characters beyond the BMP take two).
SOURCES = {
    "strings": LIB,
    "entry": ENTRY,
    "astral": 'import { "\U0001f600 await " as smile } from "./\U0001f600 await x.js";\n'
              'export { smile as "\U0001f389" };\nexport const s = smile + "\U0001f600";\n',
    "astral in a string after the gate": 'import x from "./x.js";\nexport const s = "\U0001f600" + x;\n',
    "no imports": "export const one = 1;\n",
}


def _evaluator_scan() -> Any:
    """esm_evaluator.js in a bare context: its own prologueAwaits and awaitsOf, callable."""
    import _quickjs

    source = (Path(__file__).parent.parent / "runner/js/module_runner/esm_evaluator.js").read_text()
    context = _quickjs.Context()
    context.eval(source + "\nglobalThis.scan = (code) => JSON.stringify(prologueAwaits(code));"
                 "\nglobalThis.given = (code, awaits) =>"
                 " JSON.stringify(awaitsOf(code, { awaits: JSON.parse(awaits) }));")
    return context


@pytest.mark.parametrize("name", list(SOURCES))
def test_the_host_finds_the_awaits_the_runner_would(name: str) -> None:
    import json

    from runner.transform.ssr_transform import ssr_transform
    from runner.transform_request import prologue_awaits, runner_meta

    result = ssr_transform(SOURCES[name], "/src/m.js")
    context = _evaluator_scan()
    found = json.loads(context.get("scan")(result.code))
    assert prologue_awaits(result.code) == found
    assert runner_meta(result).get("awaits") == found
    if name == "astral":  # the offsets are the runner's, not Python's
        assert found[-1] > result.code.index("await __vite_ssr_import_meta__;")
    if found:
        assert json.loads(context.get("given")(result.code, json.dumps(found))) == found
        # Offsets that do not match the code (another server's, or code changed since): found again.
        assert json.loads(context.get("given")(result.code, json.dumps([0, found[-1] - 1]))) == found
        assert json.loads(context.get("given")(result.code, json.dumps([*found[:-1], found[-1] + 1]))) == found


# Code as the walk may meet it, not only as the transform writes it: strings never closed, escaped
# quotes and backslashes, the gate inside a string, no gate at all. The host's walk (one regex) must
# give what the runner's (a loop over indexOf) gives, None included.
RAW = ['', 'await ', 'await __vite_ssr_import_meta__;', '"await __vite_ssr_import_meta__;" await x',
       'await a; "x\\"await " await __vite_ssr_import_meta__; await b', '"never closed await __vite_ssr_import_meta__;',
       'await a; "\\\\" await __vite_ssr_import_meta__;', 'await a; "\\\\\\" await __vite_ssr_import_meta__;"',
       'await "\\\nawait " await __vite_ssr_import_meta__;',
       '\U0001f600await "\U0001f600" await __vite_ssr_import_meta__;',
       'xawait awaitawait __vite_ssr_import_meta__;']


def test_the_host_walks_raw_code_as_the_runner_does() -> None:
    import json
    import random

    from runner.transform_request import prologue_awaits

    scan = _evaluator_scan().get("scan")
    parts = ['"', "\\", "a", "await ", "await", " ", "await __vite_ssr_import_meta__;", "\n", "\U0001f600", "é"]
    rng = random.Random(8)
    fuzzed = ["".join(rng.choice(parts) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    for code in RAW + fuzzed:
        assert prologue_awaits(code) == json.loads(scan(code)), code
