"""The runtime's event loop under every evaluator: timers driven by the host (HTML's order, nested
clamping, within the wall-time limit, pending ones reported when a run ends), queueMicrotask, and
uncaught errors and unhandled rejections reported on stderr with source-mapped stacks — also
after a called export has returned, and also in --json runs — never silently lost, never ending
the runtime."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner import LimitError, Server, SyncServer

EVALUATORS = ("inprocess", "wasm", "process")
#: every profile has the event loop; the edge profile adds the global object's events
PROFILE = "bare"


def modrun(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "run", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def position(source: str, text: str) -> str:
    """`line:column` (1-based) of `text` in `source`."""
    before = source[:source.index(text)]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


def uncaught(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Uncaught")]


@pytest.fixture(params=EVALUATORS)
def evaluator(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# ---- unhandled rejections and uncaught errors (every profile) ----

REJECTIONS = """\
const late = Promise.reject(new Error("handled within the task"));
await 0;
late.catch(() => {});
Promise.reject(new RangeError("nobody handles me"));
export function afterReturn() {
  Promise.resolve().then(() => { throw new TypeError("after the export returned"); });
  return 7;
}
export async function rejects() { throw new Error("the call's own answer"); }
export function microtask() {
  queueMicrotask(() => { throw new SyntaxError("from a microtask"); });
  return "still running";
}
"""


def test_unhandled_rejection_at_import_is_reported_with_a_mapped_stack(tmp_path, evaluator):
    write(tmp_path, {"main.js": REJECTIONS})
    result = modrun(tmp_path, "main.js", "--json", "--evaluator", evaluator, "--profile", PROFILE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
    assert uncaught(result.stderr) == ["Uncaught (in promise) RangeError: nobody handles me"]
    assert "at <module> (/main.js:4:" in result.stderr.replace(str(tmp_path), "")


def test_rejection_after_the_export_returned_is_reported(tmp_path, evaluator):
    write(tmp_path, {"main.js": REJECTIONS})
    result = modrun(tmp_path, "main.js", "--call", "afterReturn", "--evaluator", evaluator)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "7\n"
    assert "Uncaught (in promise) TypeError: after the export returned" in uncaught(result.stderr)
    assert "main.js:6:" in result.stderr


def test_a_rejected_call_is_its_answer_not_an_unhandled_rejection(tmp_path, evaluator):
    write(tmp_path, {"main.js": REJECTIONS})
    result = modrun(tmp_path, "main.js", "--call", "rejects", "--json", "--evaluator", evaluator)
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["message"] == "the call's own answer"
    assert uncaught(result.stderr) == ["Uncaught (in promise) RangeError: nobody handles me"]


def test_an_exception_in_a_microtask_is_reported_and_the_runtime_goes_on(tmp_path, evaluator):
    write(tmp_path, {"main.js": REJECTIONS})
    result = modrun(tmp_path, "main.js", "--call", "microtask", "--evaluator", evaluator)
    assert result.returncode == 0, result.stderr
    assert result.stdout == '"still running"\n'
    assert "Uncaught SyntaxError: from a microtask" in uncaught(result.stderr)


def test_failures_the_runner_handles_are_not_reported_as_unhandled(tmp_path, evaluator):
    write(tmp_path, {
        "main.js": (
            "export async function dynamic() {\n"
            "  try { await import('./missing.js'); } catch (e) { return e.code; }\n"
            "}\n"
            "export async function throwsInDep() {\n"
            "  try { await import('./thrower.js'); } catch (e) { return e.message; }\n"
            "}\n"
        ),
        "thrower.js": "await 0;\nthrow new Error('top-level');\n",
        "broken.js": "import './missing.js';\n",
    })
    for call, expected in (("dynamic", '"ERR_MODULE_NOT_FOUND"\n'), ("throwsInDep", '"top-level"\n')):
        result = modrun(tmp_path, "main.js", "--call", call, "--evaluator", evaluator)
        assert (result.returncode, result.stdout) == (0, expected), result.stderr
        assert uncaught(result.stderr) == []
    for entry, code in (("broken.js", 3), ("thrower.js", 1)):
        result = modrun(tmp_path, entry, "--json", "--evaluator", evaluator)
        assert result.returncode == code
        assert uncaught(result.stderr) == []


def test_reports_go_through_the_output_limit(tmp_path):
    write(tmp_path, {"main.js": "for (let i = 0; i < 1000; i++) Promise.reject(new Error('x'.repeat(100)));\n"})

    async def main() -> None:
        async with Server(root=tmp_path, on_console=lambda level, text: None,
                          environments={"e": {"limits": {"output_bytes": 10_000}}}) as server:
            with pytest.raises(LimitError) as caught:
                await server.environments["e"].import_module("/main.js")
            assert caught.value.limit == "output"

    asyncio.run(main())


# ---- timers ----

TIMERS = """\
export const log = [];
setTimeout(() => log.push("b 20"), 20);
setTimeout(() => { log.push("a 0"); Promise.resolve().then(() => log.push("microtask after a")); }, 0);
setTimeout(() => log.push("c 0"), 0);
const cleared = setTimeout(() => log.push("cleared"), 5);
clearTimeout(cleared);
await new Promise((resolve) => setTimeout(resolve, 30));
// An interval is due again a period after it ran, whenever that was: it finishes on its own.
let n = 0;
await new Promise((resolve) => {
  const interval = setInterval(() => {
    log.push("interval " + ++n);
    if (n === 3) { clearInterval(interval); resolve(); }
  }, 1);
});
export const order = () => log;

export async function nested() {
  // HTML: nested more than five deep, a zero timeout becomes 4 ms.
  const times = [];
  await new Promise((resolve) => {
    const step = () => { times.push(performance.now()); if (times.length < 12) setTimeout(step, 0); else resolve(); };
    setTimeout(step, 0);
  });
  return times.slice(1).map((t, i) => t - times[i]);
}

export async function sleep(ms) {
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return performance.now() - start;
}

export function leave() {
  setTimeout(function later() {}, 60000);
  setInterval(() => {}, 1000);
  setTimeout(() => {}, 0);
  return "left";
}

export function stringHandler() {
  setTimeout("globalThis.ran = 'compiled'", 0);
  return new Promise((resolve) => setTimeout(() => resolve(globalThis.ran), 1));
}

export function throwing() {
  setTimeout(() => { throw new Error("from a timer"); }, 0);
  return new Promise((resolve) => setTimeout(() => resolve("next timer ran"), 5));
}

export const ids = () => [typeof setTimeout(() => {}, 0), setTimeout.length, clearTimeout.length,
  setInterval.name, Object.getOwnPropertyDescriptor(globalThis, "setTimeout").enumerable];
"""


def run_timers(root: Path, evaluator: str, body) -> None:
    async def main() -> None:
        async with Server(root=root, on_console=lambda level, text: None,
                          environments={"e": {"evaluator": evaluator, "profile": PROFILE}}) as server:
            await body(server.environments["e"])

    asyncio.run(main())


def test_timers_run_in_html_order_with_microtasks_between(tmp_path, evaluator):
    write(tmp_path, {"main.js": TIMERS})

    async def body(env) -> None:
        module = await env.import_module("/main.js")
        assert await module.order() == ["a 0", "microtask after a", "c 0", "b 20", "interval 1", "interval 2",
                                        "interval 3"]
        assert await module.ids() == ["number", 1, 0, "setInterval", True]

    run_timers(tmp_path, evaluator, body)


def test_nested_zero_timeouts_are_clamped_after_five_levels(tmp_path, evaluator):
    write(tmp_path, {"main.js": TIMERS})

    async def body(env) -> None:
        gaps = await (await env.import_module("/main.js")).nested()
        assert len(gaps) == 11
        assert all(gap >= 3.9 for gap in gaps[5:]), gaps  # a lower bound only: never how fast

    run_timers(tmp_path, evaluator, body)


def test_awaiting_a_timer_waits_for_it_and_the_wall_limit_stops_the_wait(tmp_path, evaluator):
    write(tmp_path, {"main.js": TIMERS})
    result = modrun(tmp_path, "main.js", "--call", "sleep", "--args", "[30]", "--evaluator", evaluator)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) >= 29.9
    result = modrun(tmp_path, "main.js", "--call", "sleep", "--args", "[600000]", "--timeout", "1", "--json",
                    "--evaluator", evaluator)
    assert result.returncode == 4, result.stderr
    assert json.loads(result.stdout)["error"]["kind"] == "limit"


def test_timers_pending_when_the_run_ends_are_reported(tmp_path, evaluator):
    write(tmp_path, {"main.js": TIMERS})
    result = modrun(tmp_path, "main.js", "--call", "leave", "--json", "--evaluator", evaluator)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "left"
    report = result.stderr[result.stderr.index("modrun: the run ended with"):].splitlines()
    assert report[0] == "modrun: the run ended with 2 timers pending, which did not run:"
    assert report[1].startswith("  setTimeout(later, 60000 ms), due in ")
    assert report[1].endswith("main.js:" + position(TIMERS, "function later"))
    assert report[2].startswith("  setInterval((anonymous), 1000 ms), callback at ")
    assert report[2].endswith("main.js:" + position(TIMERS, "() => {}, 1000"))


def test_an_exception_in_a_timer_is_reported_and_later_timers_still_run(tmp_path, evaluator):
    write(tmp_path, {"main.js": TIMERS})
    result = modrun(tmp_path, "main.js", "--call", "throwing", "--evaluator", evaluator)
    assert result.returncode == 0, result.stderr
    assert result.stdout == '"next timer ran"\n'
    assert "Uncaught Error: from a timer" in uncaught(result.stderr)
    assert "main.js:" + position(TIMERS, "Error(\"from a timer") in result.stderr


def test_a_string_handler_is_compiled_as_global_code_under_bare(tmp_path, evaluator):
    write(tmp_path, {"main.js": TIMERS})
    result = modrun(tmp_path, "main.js", "--call", "stringHandler", "--evaluator", evaluator, "--profile", "bare")
    assert (result.returncode, result.stdout) == (0, '"compiled"\n'), result.stderr


def test_settle_runs_due_timers_and_lists_the_rest(tmp_path, evaluator):
    write(tmp_path, {"main.js": TIMERS})

    async def body(env) -> None:
        module = await env.import_module("/main.js")
        assert await module.leave() == "left"
        pending = await env.settle()
        assert [(t["kind"], t["delay"], t["callback"]) for t in pending] == [
            ("setTimeout", 60000, "later"), ("setInterval", 1000, "(anonymous)")]

    run_timers(tmp_path, evaluator, body)


def test_the_sync_facade_settles_too(tmp_path):
    write(tmp_path, {"main.js": TIMERS})
    with SyncServer(root=tmp_path, on_console=lambda level, text: None) as server:
        environment = server.environments["ssr"]
        assert environment.import_module("/main.js").leave() == "left"
        assert [t["callback"] for t in environment.settle()] == ["later", "(anonymous)"]


def test_a_run_ends_even_with_timers_that_keep_setting_timers(tmp_path, evaluator):
    # Settling runs the timers due when the entry's work settled, not the ones they set in turn.
    write(tmp_path, {"main.js": "setInterval(() => {}, 0);\nconst chain = () => setTimeout(chain, 0);\nchain();\n"})
    result = modrun(tmp_path, "main.js", "--json", "--evaluator", evaluator)
    assert result.returncode == 0, result.stderr
    assert "modrun: the run ended with 2 timers pending, which did not run:" in result.stderr
    assert "  setInterval((anonymous), " in result.stderr and "  setTimeout(chain, " in result.stderr


# ---- the edge profile: the global object's events ----

GLOBAL_EVENTS = """\
const seen = [];
addEventListener("unhandledrejection", (e) => {
  seen.push(["unhandledrejection", e.reason.message, e.promise instanceof Promise, e.cancelable, e.isTrusted]);
  if (e.reason.message === "quiet") e.preventDefault();
});
addEventListener("rejectionhandled", (e) => seen.push(["rejectionhandled", e.reason.message]));
self.onerror = (message, filename, lineno, colno, error) => {
  seen.push(["onerror", message, error.message]);
  return error.message === "hush";
};
const late = Promise.reject(new Error("loud"));
Promise.reject(new Error("quiet"));
queueMicrotask(() => { throw new Error("hush"); });
setTimeout(() => { throw new Error("shown"); }, 0);
reportError(new TypeError("reported"));
await new Promise((resolve) => setTimeout(resolve, 5));
late.catch(() => {});
await new Promise((resolve) => setTimeout(resolve, 5));
export const log = () => seen;
export const handlers = () => [typeof onerror, onunhandledrejection, onrejectionhandled, addEventListener.length,
  dispatchEvent(new Event("custom"))];
export const listenerThis = () => {
  const seen = [];
  const listener = function (event) { seen.push(this === globalThis && !event.isTrusted); };
  const object = { handleEvent() { seen.push(this === object); } };
  addEventListener("ping", listener);
  addEventListener("ping", listener); // the same listener twice is one listener
  addEventListener("ping", object);
  dispatchEvent(new Event("ping"));
  removeEventListener("ping", listener);
  dispatchEvent(new Event("ping"));
  return seen;
};
export const listenerErrors = () => new Promise((resolve) => {
  const seen = [];
  const thrown = { name: "not an Error" };
  addEventListener("error", (event) => {
    seen.push(event.error === thrown || event.error.name);
    event.preventDefault();
  });
  const target = new EventTarget();
  target.addEventListener("x", () => { throw thrown; });
  target.addEventListener("x", { handleEvent: 1 });
  target.dispatchEvent(new Event("x"));
  let noType;
  try { new Event(); } catch (error) { noType = error.name; }
  setTimeout(() => resolve([...seen, noType]), 0);
});
export const stringHandler = () => new Promise((resolve) => { setTimeout("1", 0); setTimeout(resolve, 1); });
"""


def test_the_edge_global_is_an_event_target_the_loop_reports_to_first(tmp_path, evaluator):
    write(tmp_path, {"main.js": GLOBAL_EVENTS})
    result = modrun(tmp_path, "main.js", "--call", "log", "--evaluator", evaluator, "--profile", "edge")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        ["onerror", "Uncaught TypeError: reported", "reported"], ["onerror", "Uncaught Error: hush", "hush"],
        ["unhandledrejection", "loud", True, True, True], ["unhandledrejection", "quiet", True, True, True],
        ["onerror", "Uncaught Error: shown", "shown"], ["rejectionhandled", "loud"]]
    # canceled ones are not printed; the others are, with their stacks
    assert uncaught(result.stderr) == ["Uncaught TypeError: reported", "Uncaught (in promise) Error: loud",
                                       "Uncaught Error: shown"]
    result = modrun(tmp_path, "main.js", "--call", "handlers", "--evaluator", evaluator, "--profile", "edge")
    assert json.loads(result.stdout) == ["function", None, None, 2, True]
    # a function listener's `this` is the global, an object listener's the object; removal finds it
    result = modrun(tmp_path, "main.js", "--call", "listenerThis", "--evaluator", evaluator, "--profile", "edge")
    assert json.loads(result.stdout) == [True, True, True], result.stderr
    # what a listener throws reaches the global's error event as thrown; a handleEvent that is not
    # callable is a TypeError there; an Event needs its type
    result = modrun(tmp_path, "main.js", "--call", "listenerErrors", "--evaluator", evaluator, "--profile", "edge")
    assert json.loads(result.stdout) == [True, "TypeError", "TypeError"], result.stderr


def test_a_string_handler_is_code_generation_which_the_edge_profile_refuses(tmp_path, evaluator):
    write(tmp_path, {"main.js": GLOBAL_EVENTS})
    result = modrun(tmp_path, "main.js", "--call", "stringHandler", "--evaluator", evaluator, "--profile", "edge")
    assert result.returncode == 0, result.stderr
    assert "Uncaught EvalError: Code generation from strings disallowed for this context" in uncaught(result.stderr)
