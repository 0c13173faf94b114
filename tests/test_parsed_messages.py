"""Large messages to in-process runtimes delivered from a kept parse (evaluators/quickjs_parsed.py): a
graph's answer sent again to fresh runtimes is read from the value kept the second time it was seen,
with what module code put on the prototypes reaching nothing, as when it is parsed; and where the
kept value cannot be read, or compiled code is off, the text is delivered as before."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from evaluators.compiled_code import CODE_CACHE
from evaluators.quickjs_bytecode import engine_build
from evaluators.quickjs_parsed import MIN_CHARS, ParsedMessages
from runner import Server
from runner.rpc.exports import ModuleProxy
from tests.project_files import write
from tests.test_hardening import POLLUTE

MODULES = 60
NAMES = 40  # exports per module: link metadata enough for a graph answer over MIN_CHARS


def project(root: Path) -> Path:
    files = {f"big/m{i}.js": "".join(f"export const value{i}_{n} = {n};\n" for n in range(NAMES))
             for i in range(MODULES)}
    files["big/index.js"] = "".join(f'import * as m{i} from "./m{i}.js";\n' for i in range(MODULES)) + \
        "export const total = [" + ", ".join(f"Object.keys(m{i}).length" for i in range(MODULES)) + \
        "].reduce((a, b) => a + b);\n"
    # Module code that, before the graph's answer comes, puts data and setters where the answer's fields go.
    files["entry.js"] = POLLUTE + """
globalThis.leaked = [];
for (const key of ["codeKey", "objects", "awaits", "importMeta", "hasTLA"]) {
  Object.defineProperty(Object.prototype, key, { configurable: true, get() { return "polluted"; },
                                                 set(value) { globalThis.leaked.push(key); } });
}
export async function run() {
  const big = await import("./big/index.js");
  return `${big.total}:${globalThis.leaked.length}`;
}
"""
    return write(root, files)


def imports(root: Path, runtimes: int, before_each: Any = None) -> list[str]:
    """What `run()` answers in each of `runtimes` fresh in-process runtimes of one server."""

    async def main() -> list[str]:
        answers = []
        async with Server(root=root, cache_dir=False, on_console=lambda level, text: None) as server:
            env = server.environments["ssr"]
            for _ in range(runtimes):
                if before_each is not None:
                    before_each()
                runner = await env.create_runner()
                try:
                    proxy = await ModuleProxy.load(runner, "/entry.js")
                    answers.append(str(await proxy["run"]()))
                finally:
                    await runner.close()
        return answers

    return asyncio.run(main())


class Delivered:
    """The large messages delivered (their texts), and how many were read from a kept parse."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.texts: list[str] = []
        self.read = 0
        call, read = ParsedMessages.__call__, ParsedMessages._deliver_read

        def called(messages: ParsedMessages, text: str) -> None:
            if len(text) >= MIN_CHARS:
                self.texts.append(text)
            call(messages, text)

        def counted(messages: ParsedMessages, code: bytes) -> bool:
            done = read(messages, code)
            self.read += done
            return done

        monkeypatch.setattr(ParsedMessages, "__call__", called)
        monkeypatch.setattr(ParsedMessages, "_deliver_read", counted)


@pytest.fixture
def clean_cache() -> Any:
    CODE_CACHE.clear()
    yield CODE_CACHE
    CODE_CACHE.clear()


def test_a_graph_answer_sent_again_is_read_from_its_kept_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               clean_cache: Any) -> None:
    delivered = Delivered(monkeypatch)
    answers = imports(project(tmp_path), 6)
    assert answers == [f"{MODULES * NAMES}:0"] * 6  # nothing module code put on the prototypes was reached
    # Once the host keeps the wrappers by key, each runtime is sent the same text (keys in place of code).
    assert len(delivered.texts) == 6 and len(set(delivered.texts[-4:])) == 1
    assert delivered.read >= 2  # from the third sighting of that text


def test_a_kept_parse_that_cannot_be_read_delivers_the_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            clean_cache: Any) -> None:
    delivered = Delivered(monkeypatch)

    def damage() -> None:  # each text seen so far kept as what no JS_ReadObject reads
        for text in delivered.texts:
            clean_cache.put(engine_build(), text, b"\xff not a value")

    answers = imports(project(tmp_path), 4, damage)
    assert answers == [f"{MODULES * NAMES}:0"] * 4
    assert delivered.read == 0 and len(delivered.texts) == 4


def test_without_compiled_code_the_text_is_delivered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     clean_cache: Any) -> None:
    delivered = Delivered(monkeypatch)
    monkeypatch.setattr(clean_cache, "max_bytes", 0)
    assert imports(project(tmp_path), 3) == [f"{MODULES * NAMES}:0"] * 3
    assert delivered.texts == []  # no runtime delivered through a kept parse
