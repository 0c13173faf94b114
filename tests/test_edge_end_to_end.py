"""End to end under the edge profile in every evaluator: a hono app (the real package from npm)
answering `app.fetch(new Request(...))` with JSON, text, a body streamed through a TransformStream
and a 404, read back by the host and compared with the same app run by Node; and a rejection nobody
handles after the call has returned, reported on stderr. (fetch, crypto.subtle and the Node globals
are tests/test_edge_profile.py's.)"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner import Server
from tests.npm_cache import NODE, install

EVALUATORS = ("inprocess", "wasm", "process")
PATHS = ("/json", "/text/edge", "/stream", "/missing")

APP = """\
import { Hono } from "hono";
import { stream } from "hono/streaming";

const app = new Hono();
app.get("/json", (c) => c.json({ framework: "hono", items: [1, 2, 3] }));
app.get("/text/:name", (c) => c.text(`hello ${c.req.param("name")}`));
app.get("/stream", (c) => {
  const upper = new TransformStream({
    transform(chunk, controller) {
      controller.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase()));
    },
  });
  c.header("content-type", "text/plain");
  return stream(c, async (out) => {
    const writer = upper.writable.getWriter();
    (async () => {
      for (const word of ["streamed ", "through ", "a transform"]) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        await writer.write(new TextEncoder().encode(word));
      }
      await writer.close();
    })();
    await out.pipe(upper.readable);
  });
});
app.get("/leaky", (c) => {
  setTimeout(() => Promise.reject(new Error("rejected after the response")), 0);
  return c.text("answered");
});

export async function handle(path) {
  const response = await app.fetch(new Request(`http://app.test${path}`));
  const chunks = [];
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(new TextDecoder().decode(value));
  }
  return { status: response.status, type: response.headers.get("content-type"), chunks };
}
"""


@pytest.fixture(scope="module")
def root() -> Path:
    installed = install("hono")
    shutil.rmtree(installed / "app", ignore_errors=True)
    (installed / "app").mkdir()
    (installed / "app" / "main.js").write_text(APP)
    (installed / "app" / "main.mjs").write_text(APP)  # the same module for Node, which needs the extension
    return installed


@pytest.fixture(scope="module")
def node_answers(root: Path) -> list[dict]:
    done = subprocess.run([str(NODE), "handle.mjs", "app/main.mjs", *PATHS], cwd=root, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_hono_app_answers_requests_as_in_node(root: Path, node_answers: list[dict], evaluator: str) -> None:
    async def main() -> list[dict]:
        async with Server(root=root, cache_dir=False, on_console=lambda level, text: None,
                          environments={"edge": {"evaluator": evaluator, "profile": "edge"}}) as server:
            app = await server.environments["edge"].import_module("/app/main.js")
            return [await app.handle(path) for path in PATHS]

    answers = asyncio.run(main())
    assert answers == node_answers
    json_answer, text, streamed, missing = answers
    assert json.loads("".join(json_answer["chunks"])) == {"framework": "hono", "items": [1, 2, 3]}
    assert (text["status"], "".join(text["chunks"])) == (200, "hello edge")
    assert streamed["chunks"] == ["STREAMED ", "THROUGH ", "A TRANSFORM"]  # in pieces, as written
    assert (missing["status"], "".join(missing["chunks"])) == (404, "404 Not Found")


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_rejection_after_the_response_is_reported_on_stderr(root: Path, evaluator: str) -> None:
    done = subprocess.run([sys.executable, "-m", "runner", "run", "app/main.js", "--call", "handle",
                           "--args", '["/leaky"]', "--json", "--evaluator", evaluator, "--profile", "edge"],
                          cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"]["chunks"] == ["answered"]
    assert "Uncaught (in promise) Error: rejected after the response" in done.stderr
    assert "app/main.js:" in done.stderr.split("rejected after the response", 1)[1]
