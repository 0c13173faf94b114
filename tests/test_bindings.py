"""Bindings (runner/capabilities/bindings.py, runner/js/bindings.js, runner/plugins/env_module.py):
host values and Python callables seen from JS as `env`, in every evaluator."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

from runner import Bindings, JSError, LimitError, Server, UsageError
from runner.rpc.protocol import ENV_MODULE
from tests.project_files import write

EVALUATORS = ("inprocess", "wasm", "process")

MAIN = """
import env, { config, secret, lookup, fetchUser, fail, echo, boom } from "modrun:env";

export async function calls() {
  return {
    sync: await lookup("a"),
    async: await fetchUser(7),
    same: env.lookup === lookup && env.config === config,
    keys: Object.keys(env),
  };
}

export async function failure(kind) {
  try {
    await (kind === "sync" ? boom() : fail("no such user"));
  } catch (error) {
    return { name: error.name, message: error.message, isError: error instanceof Error,
             stack: String(error.stack), own: Object.keys(error) };
  }
}

export async function bytes() {
  const back = await echo(new Uint8Array([0, 1, 254, 255]), new Uint8Array([9, 8, 7]).buffer,
                          new DataView(new Uint8Array([5, 6, 7, 8]).buffer, 1, 2), { $modrun: "mine", n: [1, null] });
  const first = secret;
  first[0] = 99;  // a copy: the next read is unchanged
  return {
    types: back.slice(0, 3).map((b) => b.constructor.name),
    values: back.slice(0, 3).map((b) => Array.from(b)),
    object: back[3],
    secret: Array.from(env.secret),
    fresh: env.secret !== env.secret,
    made: Array.from(await lookup("bytes")),
  };
}

export function frozen() {
  const attempts = [];
  for (const write of [() => { env.extra = 1; }, () => { config.region = "us"; }, () => { config.flags.push("c"); },
                       () => { config.nested.deep.x = 2; }, () => { env.lookup = null; }]) {
    try { write(); attempts.push("written"); } catch (error) { attempts.push(error.constructor.name); }
  }
  return { attempts, deep: Object.isFrozen(config.nested.deep), config };
}
"""


def lookup(key: str) -> object:
    if key == "bytes":
        return b"\x01\x02"
    return {"key": key, "thread": threading.current_thread() is not threading.main_thread()}


async def fetch_user(user_id: int) -> dict[str, object]:
    await asyncio.sleep(0)
    return {"id": user_id, "name": "ada"}


async def fail(message: str) -> None:
    raise LookupError(message)


def boom() -> None:
    raise ValueError("bad value")


def echo(*args: object) -> list[object]:
    assert isinstance(args[0], bytes) and isinstance(args[1], bytes) and isinstance(args[2], bytes)
    return [args[0], bytearray(args[1]), memoryview(args[2]), args[3]]


BINDINGS = {"config": {"region": "eu", "flags": ["a", "b"], "nested": {"deep": {"x": 1}}}, "secret": b"\x00\xff",
            "lookup": lookup, "fetchUser": fetch_user, "fail": fail, "boom": boom, "echo": echo}


def server(root: Path, evaluator: str, bindings: object = BINDINGS, **environment: object) -> Server:
    return Server(root=root, cache_dir=False, on_console=lambda level, text: None,
                  environments={"app": {"evaluator": evaluator, "bindings": bindings, **environment}})


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write(tmp_path / "app", {"main.js": MAIN})


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_bindings_called_from_js(app: Path, evaluator: str) -> None:
    async def main() -> None:
        async with server(app, evaluator) as s:
            mod = await s.environments["app"].import_module("/main.js")
            answer = await mod.calls()
            # A sync callable runs in a worker thread, an async one on the loop.
            assert answer["sync"] == {"key": "a", "thread": True}
            assert answer["async"] == {"id": 7, "name": "ada"}
            assert answer["same"] is True  # named exports are the default export's members
            assert answer["keys"] == ["config", "secret", "lookup", "fetchUser", "fail", "boom", "echo"]
    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_python_exceptions_reject_with_type_and_message_only(app: Path, evaluator: str) -> None:
    async def main() -> None:
        async with server(app, evaluator) as s:
            mod = await s.environments["app"].import_module("/main.js")
            for kind, name, message in (("async", "LookupError", "no such user"), ("sync", "ValueError", "bad value")):
                error = await mod.failure(kind)
                assert (error["name"], error["message"], error["isError"]) == (name, message, True)
                assert error["own"] == []  # nothing of the host's error payload (kind, code…) rides along
                # The stack is the JS caller's: no Python traceback, no host file.
                assert "main.js" in error["stack"]
                assert "Traceback" not in error["stack"] and __file__ not in error["stack"]
                assert "bindings.py" not in error["stack"]
    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_bytes_cross_both_ways_and_data_is_deep_frozen(app: Path, evaluator: str) -> None:
    async def main() -> None:
        async with server(app, evaluator) as s:
            mod = await s.environments["app"].import_module("/main.js")
            answer = await mod.bytes()
            assert answer["types"] == ["Uint8Array"] * 3
            assert answer["values"] == [[0, 1, 254, 255], [9, 8, 7], [6, 7]]  # a view crosses as its own range
            assert answer["object"] == {"$modrun": "mine", "n": [1, None]}  # a caller's own $modrun key survives
            assert answer["secret"] == [0, 255] and answer["fresh"] is True
            assert answer["made"] == [1, 2]
            frozen = await mod.frozen()
            assert frozen["attempts"] == ["TypeError"] * 5  # module code is strict: a frozen write throws
            assert frozen["deep"] is True
            assert frozen["config"] == BINDINGS["config"]
    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_what_cannot_cross_is_a_type_error_naming_where(tmp_path: Path, evaluator: str) -> None:
    root = write(tmp_path / "app", {"main.js": """
import { echo, odd } from "modrun:env";
export async function send(what) {
  const cyclic = {}; cyclic.self = cyclic;
  const values = { fn: () => 1, map: new Map(), cycle: cyclic, nan: NaN, big: 1n };
  try { await echo({ inner: [values[what]] }); return "sent"; } catch (e) { return `${e.name}: ${e.message}`; }
}
export async function receive() {
  try { await odd(); return "received"; } catch (e) { return `${e.name}: ${e.message} (${e instanceof TypeError})`; }
}
"""})

    async def main() -> None:
        async with server(root, evaluator, {"echo": lambda value: value, "odd": lambda: {1, 2}}) as s:
            mod = await s.environments["app"].import_module("/main.js")
            assert await mod.send("fn") == "TypeError: the arguments of env.echo[0].inner[0] is a function, " \
                "which cannot cross to the host"
            assert "is a Map, which cannot cross" in await mod.send("map")
            assert "refers back to itself" in await mod.send("cycle")
            assert "is NaN, which JSON cannot carry" in await mod.send("nan")
            assert "is a bigint" in await mod.send("big")
            assert await mod.receive() == ("TypeError: the result of env.odd is a set, which cannot cross to JS "
                                           "(JSON values and bytes can) (true)")
    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_wall_limit_applies_while_a_binding_is_pending(tmp_path: Path, evaluator: str) -> None:
    """The runtime waits in the host: its CPU budget is not spent meanwhile, its wall time is, and a
    call still pending at the wall limit is cancelled."""
    root = write(tmp_path / "app", {"main.js": (
        'import { nap, hang } from "modrun:env";\n'
        "export const napping = (s) => nap(s);\nexport const hanging = () => hang();\n"
        "export const ok = () => 'ok';\n")})
    cancelled = asyncio.Event()

    async def nap(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "rested"

    async def hang() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cancelled.set()

    async def main() -> None:
        async with server(root, evaluator, {"nap": nap, "hang": hang}, limits={"cpu_ms": 50, "wall_ms": 1500}) as s:
            mod = await s.environments["app"].import_module("/main.js")
            assert await mod.napping(0.3) == "rested"  # 300 ms waiting, 50 ms of CPU: within the CPU limit
            with pytest.raises(LimitError, match="wall-time limit exceeded while the host served the runtime"):
                await mod.hanging()
            await asyncio.wait_for(cancelled.wait(), 10)
            assert await mod.ok() == "ok"  # the next call runs on a replacement
    asyncio.run(main())


def test_wall_limit_while_a_sync_binding_blocks(tmp_path: Path) -> None:
    """A sync binding runs in a thread: the wall limit still stops the call; the thread, which cannot
    be stopped, finishes on its own and its result is dropped."""
    root = write(tmp_path / "app", {"main.js": (
        'import { block } from "modrun:env";\nexport const go = () => block();\nexport const ok = () => "ok";\n')})
    release, finished = threading.Event(), threading.Event()

    def block() -> str:
        release.wait(30)
        finished.set()
        return "late"

    async def main() -> None:
        async with server(root, "inprocess", {"block": block}, limits={"wall_ms": 300}) as s:
            mod = await s.environments["app"].import_module("/main.js")
            with pytest.raises(LimitError, match="wall-time limit exceeded while the host served the runtime"):
                await mod.go()
            assert not finished.is_set()
            release.set()
            assert await mod.ok() == "ok"
            await asyncio.to_thread(finished.wait, 10)
            assert finished.is_set()
    asyncio.run(main())


def test_a_blocking_sync_binding_does_not_stall_the_loop(tmp_path: Path) -> None:
    root = write(tmp_path / "app", {"main.js": 'import { block } from "modrun:env";\nexport const go = () => block();'})
    release = threading.Event()

    def block() -> str:
        release.wait(30)
        return "done"

    async def main() -> None:
        async with server(root, "inprocess", {"block": block}) as s:
            mod = await s.environments["app"].import_module("/main.js")
            call = asyncio.ensure_future(mod.go())
            ticks = 0
            while ticks < 5:  # the loop keeps turning while the binding blocks its thread
                await asyncio.sleep(0.01)
                ticks += 1
            assert not call.done()
            release.set()
            assert await call == "done"
    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_bindings_are_the_only_new_way_out(tmp_path: Path, evaluator: str) -> None:
    """With bindings a runtime gains `env` and nothing else: the same globals, the same host
    methods besides `bindings`, and only the declared callables behind it."""
    root = write(tmp_path / "app", {"main.js": (
        'import env from "modrun:env";\n'
        "export const globals = () => Object.getOwnPropertyNames(globalThis).sort();\n"
        "export const names = () => Object.getOwnPropertyNames(env);\n"
        "export const props = () => Object.getOwnPropertyNames(env.f).sort();\n")})

    async def main() -> dict[str, object]:
        seen: dict[str, object] = {}
        for bindings in ({}, {"f": len}):
            async with server(root, evaluator, bindings, profile="bare") as s:
                environment = s.environments["app"]
                mod = await environment.import_module("/main.js")
                seen[f"globals{len(bindings)}"] = await mod.globals()
                seen[f"names{len(bindings)}"] = await mod.names()
                seen[f"handlers{len(bindings)}"] = sorted(environment.invoke_handlers())
                if bindings:
                    seen["props"] = await mod.props()
                    with pytest.raises(JSError, match="env.__class__ is not a binding"):
                        await environment.bindings("call", "__class__", [])
                    with pytest.raises(JSError, match="no operation 'getattr'"):
                        await environment.bindings("getattr", "f")
        return seen

    seen = asyncio.run(main())
    assert seen["globals0"] == seen["globals1"]
    assert "fetch" not in seen["globals1"]  # type: ignore[operator]
    assert seen["names0"] == [] and seen["names1"] == ["f"]
    assert seen["handlers0"] == seen["handlers1"] == ["bindings", "fetchCode", "fetchModule"]
    assert seen["props"] == ["length", "name"]


def test_values_never_reach_the_generated_module(tmp_path: Path) -> None:
    """The transform of `modrun:env` is cached on disk: it holds names, never values."""
    root = write(tmp_path / "app", {"main.js": "export {};\n"})

    async def main() -> None:
        async with server(root, "inprocess", {"token": "s3cr3t-value", "odd-name": 1, "default": 2}) as s:
            fetched = await s.environments["app"].fetch_module(ENV_MODULE)
            assert "s3cr3t-value" not in fetched["code"]  # type: ignore[typeddict-item]
            assert fetched["modrun"]["exports"].keys() == {"default", "token"}  # type: ignore[typeddict-item]
    asyncio.run(main())


def test_bad_bindings_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="bindings must be a mapping"):
        Server(root=tmp_path, environments={"app": {"bindings": ["f"]}})
    with pytest.raises(UsageError, match="app': data.when is a datetime, which cannot cross to JS"):
        Server(root=tmp_path, environments={"app": {"bindings": {"data": {"when": datetime.now()}}}})
    with pytest.raises(UsageError, match="larger than JS numbers hold exactly"):
        Bindings({"n": 2**60})
    with pytest.raises(UsageError, match="binding names must be non-empty strings"):
        Bindings({"": 1})



def test_the_readme_example_runs_as_written() -> None:
    """README's "Bindings, runtime pools and recovery": its Python runs (in a process of its own, from the
    repository's root) and prints what its comments say; its JS is examples/bindings/src/app.js."""
    repo = Path(__file__).resolve().parents[1]
    section = (repo / "README.md").read_text().split("### Bindings, runtime pools and recovery", 1)[1]
    python = section.split("```python\n", 1)[1].split("```", 1)[0]
    js = section.split("```js\n", 1)[1].split("```", 1)[0]
    assert (repo / "examples/bindings/src/app.js").read_text() == js
    expected = [line.split("# ", 1)[1].strip() for line in python.splitlines()
                if "print(" in line and "# " in line]
    done = subprocess.run([sys.executable, "-c", python], cwd=repo, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected


def test_prototype_pollution_does_not_change_what_crosses(tmp_path: Path) -> None:
    root = write(tmp_path / "app", {"main.js": (
        'import { echo } from "modrun:env";\n'
        "export async function go() {\n"
        '  Object.prototype.$modrun = "bytes"; Object.prototype.latin1 = "zz"; Object.prototype.value = 1;\n'
        "  const back = await echo({ a: [1, { b: 2 }] }, new Uint8Array([7]));\n"
        "  return [JSON.stringify(back[0]), back[1].constructor.name, back[1][0]];\n"
        "}\n")})

    async def main() -> None:
        async with server(root, "inprocess", {"echo": lambda *args: list(args)}) as s:
            mod = await s.environments["app"].import_module("/main.js")
            assert await mod.go() == ['{"a":[1,{"b":2}]}', "Uint8Array", 7]
    asyncio.run(main())
