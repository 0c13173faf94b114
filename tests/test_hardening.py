"""Containment of hostile modules (issue 15), in every evaluator, through the command line's contract
(`modrun run … --json` and its exit codes) and the Python API: whatever the JS does, the host gets a
documented error, never a hang, a crash of its own or a broken runtime."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner import JSError, LimitError, Server

EVALUATORS = ["inprocess", "wasm", "process"]

# Protocol field names a module might write onto Object.prototype, and the prototypes JSON and
# promise resolution read through.
POLLUTE = """
for (const key of ["code", "error", "cache", "externalize", "invalidate", "result", "id", "url", "file", "type",
                   "data", "name", "map", "modrun", "event", "resolved", "exports", "deps", "imports", "starExports",
                   "constants", "hasTLA", "kind", "message", "stack", "loc", "frame", "pending"]) {
  Object.prototype[key] = "polluted";
}
Object.prototype.toJSON = function () { return "polluted"; };
Array.prototype.toJSON = function () { return "polluted"; };
Object.prototype.then = function () {};  // a then that never settles
"""


def modrun(root: Path, *args: str) -> tuple[int, dict]:
    # The hang guard is generous and not a bound on anything: a stop is judged by its error.
    done = subprocess.run([sys.executable, "-m", "runner", "run", *args, "--json"], cwd=root, capture_output=True,
                          text=True, timeout=120)
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_microtask_flood_is_stopped_by_the_timeout(tmp_path: Path, evaluator: str) -> None:
    (tmp_path / "flood.js").write_text("function next() { Promise.resolve().then(next); }\nnext();\n")
    code, out = modrun(tmp_path, "flood.js", "--evaluator", evaluator, "--timeout", "1")
    assert code == 4, out
    assert out["error"]["kind"] == "limit" and out["error"]["limit"] == "wall-time"


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_promise_jobs_are_stopped_by_a_cpu_limit(tmp_path: Path, evaluator: str) -> None:
    (tmp_path / "jobs.js").write_text(
        "export function run() { return new Promise(() => { const f = () => Promise.resolve().then(f); f(); }); }\n"
        "export async function loop() { for (;;) await null; }\n")

    async def main() -> None:
        for name in ("run", "loop"):
            async with Server(root=tmp_path, cache_dir=False,
                              environments={"x": {"evaluator": evaluator, "limits": {"cpu_ms": 100}}}) as server:
                mod = await server.environments["x"].import_module("/jobs.js")
                with pytest.raises(LimitError) as caught:
                    await asyncio.wait_for(getattr(mod, name)(), 120)  # a hang guard only
                assert caught.value.limit == "cpu"
    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_prototype_pollution_does_not_reach_the_protocol(tmp_path: Path, evaluator: str) -> None:
    # lib.js is in a cycle and has top-level await: the runner drives its body as an async generator.
    (tmp_path / "lib.js").write_text("import './cycle.js';\nexport const v = 42;\n"
                                     "export function boom() { throw new TypeError('boom'); }\nawait 0;\n")
    (tmp_path / "cycle.js").write_text("import { v } from './lib.js';\nexport function w() { return v; }\n")
    (tmp_path / "data.json").write_text('{"a": [1, 2]}\n')
    (tmp_path / "main.js").write_text(POLLUTE + """
const lib = await import("./lib.js");
const data = await import("./data.json", { with: { type: "json" } });
export function get() { return lib.v + data.default.a.length; }
export function fail() { lib.boom(); }
""")
    code, out = modrun(tmp_path, "main.js", "--evaluator", evaluator, "--call", "get")
    assert (code, out["ok"], out["result"], out["exports"]) == (0, True, 44, ["fail", "get"]), out
    code, out = modrun(tmp_path, "main.js", "--evaluator", evaluator, "--call", "fail")
    assert code == 1 and out["error"]["name"] == "TypeError" and out["error"]["message"] == "boom", out


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_thrown_proxy_whose_every_trap_throws_is_a_js_error(tmp_path: Path, evaluator: str) -> None:
    (tmp_path / "proxy.js").write_text("""
const traps = new Proxy({}, { get() { throw new Error("trap"); } });
export function f() { throw new Proxy({}, traps); }
throw new Proxy({}, traps);
""")
    code, out = modrun(tmp_path, "proxy.js", "--evaluator", evaluator)
    assert code == 1, out
    assert out["error"]["kind"] == "js" and "cannot be inspected" in out["error"]["message"]


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_heap_filled_with_small_objects_is_a_memory_limit(tmp_path: Path, evaluator: str) -> None:
    (tmp_path / "oom.js").write_text("const keep = [];\nfor (;;) keep.push({ n: keep.length });\n")
    code, out = modrun(tmp_path, "oom.js", "--evaluator", evaluator, "--memory", "32")
    assert code == 4, out
    assert out["error"]["kind"] == "limit" and out["error"]["limit"] == "memory"


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_syntax_error_names_the_token_and_its_place(tmp_path: Path, evaluator: str) -> None:
    (tmp_path / "syntax.js").write_text("const y = 1;\nconst x = ;\n")
    code, out = modrun(tmp_path, "syntax.js", "--evaluator", evaluator)
    assert code == 3, out
    file = str((tmp_path / "syntax.js").resolve())
    assert out["error"]["message"] == f"Unexpected token ';' ({file}:2:11)"
    assert out["error"]["loc"] == {"file": file, "line": 2, "column": 11}


HOSTILE = """
const evil = new Proxy({}, {
  get() { throw new Error("trap"); }, getPrototypeOf() { throw new Error("proto"); },
  ownKeys() { throw new Error("keys"); }, has() { throw new Error("has"); },
  getOwnPropertyDescriptor() { throw new Error("desc"); },
});
export const evilExport = evil;
export function proxyResult() { return evil; }
export function getterResult() { return { get x() { throw new Error("getter"); } }; }
export function toJSONThrows() { return { toJSON() { throw new Error("toJSON"); } }; }
export function thenGetter() { return { get then() { throw new Error("then"); } }; }
export function errorWithEvilFields() {
  const e = new Error("fields");
  e.extra = evil;
  e.code = { toJSON() { throw 1; } };
  throw e;
}
export function errorWithEvilStack() {
  const e = new Error("stack");
  Object.defineProperty(e, "stack", { get() { throw new Error("no"); } });
  throw e;
}
export function throwSymbol() { throw Symbol("s"); }
export function logEvil() { console.log(evil); console.log({ a: evil }); return "logged"; }
"""


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_hostile_results_and_errors_are_js_errors(tmp_path: Path, evaluator: str) -> None:
    """Getters, traps, toJSON and then on results and on thrown errors: each call is a JS error that
    says what threw, and the runtime stays usable."""
    (tmp_path / "hostile.js").write_text(HOSTILE)

    async def main() -> None:
        async with Server(root=tmp_path, cache_dir=False, environments={"x": {"evaluator": evaluator}}) as server:
            mod = await server.environments["x"].import_module("/hostile.js")
            for name, message in [("proxyResult", "trap"), ("getterResult", "getter"), ("toJSONThrows", "toJSON"),
                                  ("thenGetter", "then"), ("errorWithEvilFields", "fields"),
                                  ("errorWithEvilStack", "stack"), ("throwSymbol", "Symbol(s)")]:
                with pytest.raises(JSError) as caught:
                    await getattr(mod, name)()
                assert caught.value.message == message, name
            assert await mod.logEvil() == "logged"
    asyncio.run(main())


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_an_allocation_loop_under_a_cpu_limit_is_that_limit(tmp_path: Path, evaluator: str) -> None:
    """QuickJS can lose its interrupt in an allocation and throw null instead (which JS code may catch):
    the runtime's limit still stopped it, every time."""
    (tmp_path / "alloc.js").write_text(
        "export function run() { let keep = []; for (;;) { keep.push({ n: keep.length });"
        " if (keep.length > 1e5) keep = []; } }\n")

    async def main() -> None:
        for _ in range(5):
            async with Server(root=tmp_path, cache_dir=False,
                              environments={"x": {"evaluator": evaluator, "limits": {"cpu_ms": 10}}}) as server:
                mod = await server.environments["x"].import_module("/alloc.js")
                with pytest.raises(LimitError) as caught:
                    await asyncio.wait_for(mod.run(), 120)  # a hang guard only
                assert caught.value.limit == "cpu"
    asyncio.run(main())


def test_the_engine_interrupt_stops_on_its_own_clocks_only() -> None:
    # The binding's own limit counts this process's CPU time from each entry; ours is a wall deadline
    # or a deadline on the engine thread's CPU clock. A deadline already passed stops even code that
    # has used no CPU yet, whichever clock it is on; a disarmed handler lets code run to its end, and
    # an unarmed one is not installed at all (the interrupt never fires on an idle runtime).
    import time

    import quickjs

    from evaluators.quickjs_interrupt import EngineInterrupt

    context = quickjs.Context()
    interrupt = EngineInterrupt(context)
    for wall, cpu, limit in ((0.0, None, "wall-time"), (None, time.thread_time(), "cpu")):
        interrupt.arm(wall, cpu)
        with pytest.raises(quickjs.JSException, match="interrupted"):
            context.eval("for (;;) {}")
        assert interrupt.expired() == limit
        interrupt.disarm()
        assert interrupt.expired() is None
        assert context.eval("(() => { let n = 0; for (let i = 0; i < 100000; i++) n += i; return n; })()") == 4999950000
    # Far deadlines on both clocks: armed, the code runs to its end all the same.
    interrupt.arm(time.monotonic() + 3600, time.thread_time() + 3600)
    assert context.eval("(() => { let n = 0; for (let i = 0; i < 100000; i++) n += i; return n; })()") == 4999950000
    assert interrupt.expired() is None
    interrupt.disarm()



@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_setters_on_object_prototype_see_nothing_of_the_runners_requests(tmp_path: Path, evaluator: str) -> None:
    # The runner's requests to its host are made after module code ran: a setter module code put on
    # Object.prototype must not be handed their fields (the runner's own state among them), nor drop them.
    (tmp_path / "lib.js").write_text("import { b } from './b.js';\nexport const v = b + 1;\n")
    (tmp_path / "b.js").write_text("export const b = 41;\n")
    (tmp_path / "data.json").write_text('{"a": [1, 2]}\n')
    (tmp_path / "main.js").write_text("""
const seen = [];
for (const key of ["graph", "codeKeys", "attributes", "cached", "startOffset", "inlineSourceMap", "type"]) {
  Object.defineProperty(Object.prototype, key, { set(value) { seen.push(key); }, configurable: true });
}
const lib = await import("./lib.js");
const data = await import("./data.json", { with: { type: "json" } });
export function get() { return [lib.v + data.default.a.length, seen]; }
""")
    code, out = modrun(tmp_path, "main.js", "--evaluator", evaluator, "--call", "get")
    assert (code, out["ok"], out["result"]) == (0, True, [44, []]), out
