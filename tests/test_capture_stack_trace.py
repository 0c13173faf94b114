"""Error.captureStackTrace, as npm code uses it (custom error classes call it in their constructor,
with the constructor to leave out), gives its target a stack as V8 writes it, source-mapped as
every other stack here, in every evaluator. Node, on the same module, is the reference for the
header and for which frames are left out."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from runner import Server

EVALUATORS = ["inprocess", "wasm", "process"]

MODULE = """
class HttpError extends Error {
  constructor(message) {
    super(message);
    this.name = "HttpError";
    Error.captureStackTrace(this, HttpError);
  }
}
function notFound() { return new HttpError("not found"); }
function plain() {
  const target = { name: "Plain", message: "an object" };
  Error.captureStackTrace(target);
  return target;
}
function frames(stack) {
  const names = stack.split("\\n").slice(1).map((line) => line.trim().split(" ")[1]);
  return names.filter((name) => name !== "Module.default");
}
export default function () {
  const error = notFound();
  const target = plain();
  const bare = {};
  Error.captureStackTrace(bare);
  return {
    header: error.stack.split("\\n")[0], frames: frames(error.stack).slice(0, 1),
    plainHeader: target.stack.split("\\n")[0], plainFrames: frames(target.stack).slice(0, 1),
    bareHeader: bare.stack.split("\\n")[0],
    own: Object.getOwnPropertyNames(error).includes("stack"),
  };
}
"""

EXPECTED = {"header": "HttpError: not found", "frames": ["notFound"], "plainHeader": "Plain: an object",
            "plainFrames": ["plain"], "bareHeader": "Error", "own": True}


def test_node_agrees_with_the_expected_result(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    (tmp_path / "m.mjs").write_text(MODULE)
    script = f"import('{(tmp_path / 'm.mjs').as_posix()}').then((m) => console.log(JSON.stringify(m.default())))"
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=60).stdout
    assert json.loads(out) == EXPECTED


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_capture_stack_trace_gives_a_stack_as_v8(tmp_path: Path, evaluator: str) -> None:
    (tmp_path / "m.js").write_text(MODULE)

    async def main() -> None:
        async with Server(root=tmp_path, cache_dir=False, environments={"x": {"evaluator": evaluator}}) as server:
            mod = await server.environments["x"].import_module("/m.js")
            assert await mod.default() == EXPECTED

    asyncio.run(main())
