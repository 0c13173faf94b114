"""The protocol declared once (runner/rpc/protocol.py): one answer to an invoke request, one error
for a method nobody handles — on the host, in every runtime, and over WebSocket (test_ws_server)."""

from __future__ import annotations

import asyncio

import pytest

from runner import Server, UsageError
from runner.rpc.protocol import RUNTIME_METHODS, UNKNOWN_METHOD, answer_invoke, invoke_message, request_of
from tests.project_files import write

EVALUATORS = ("inprocess", "wasm", "process")


def test_answer_invoke_runs_the_handler_and_answers_every_failure():
    async def handler(x):
        return x * 2

    def broken():
        raise KeyError("oops")

    handlers = {"double": handler, "broken": broken}

    async def answer(name, args):
        request = request_of(invoke_message(name, 7, args))
        assert request is not None
        response = await answer_invoke(handlers, request)
        assert response["data"]["id"] == "response:7" and response["data"]["name"] == name
        return response["data"]["data"]

    assert asyncio.run(answer("double", [21])) == {"result": 42}
    crash = asyncio.run(answer("broken", []))["error"]
    assert (crash["kind"], crash["name"]) == ("crash", "KeyError")
    unknown = asyncio.run(answer("nope", []))["error"]
    assert (unknown["kind"], unknown["code"]) == ("usage", UNKNOWN_METHOD)
    assert "no invoke method named 'nope'" in unknown["message"] and "double" in unknown["message"]


def test_responses_are_not_requests():
    assert request_of({"type": "custom", "event": "vite:invoke", "data": {"id": "response:1"}}) is None
    assert request_of({"type": "custom", "event": "modrun:console", "data": {"id": "send:1"}}) is None


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_the_runtime_answers_an_unknown_method_with_the_same_error(tmp_path, evaluator):
    root = write(tmp_path, {"a.js": "export const x = 1;\n"})

    async def main():
        async with Server(root=root, cache_dir=False, environments={"e": {"evaluator": evaluator}}) as server:
            runner = await server.environments["e"].get_runner()
            with pytest.raises(UsageError) as caught:
                await runner.invoke("noSuchMethod", [])
            assert caught.value.extra["code"] == UNKNOWN_METHOD
            assert "no invoke method named 'noSuchMethod'" in caught.value.message
            for name in RUNTIME_METHODS:  # every declared method is known to the runtime
                assert name in caught.value.message
            mod = await server.environments["e"].import_module("/a.js")  # the runtime is still usable
            assert mod.x == 1

    asyncio.run(main())
