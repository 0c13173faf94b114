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
