"""The wasm evaluator: QuickJS compiled to WASI under wasmtime, tried the way a hostile user
would. Every case must end contained — with the documented error kind (and, through the
command line, exit code) — without hanging, without the host's memory growing past the limit,
and with the next sandbox in the same process working.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from evaluators.options import RuntimeOptions
from evaluators.wasm import capi
from evaluators.wasm.cache import ModuleCache
from evaluators.wasm.engine import REACTOR, shared_engine
from evaluators.wasm.evaluator import WasmTransport
from evaluators.wasm.guest import GuestTrap
from evaluators.wasm.watchdog import Watchdog
from runner import JSError, LimitError, Server
from runner.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
MODRUN = [sys.executable, "-m", "runner"]


def run(tmp_path: Path, source: str, limits: dict[str, Any] | None = None, *, call: bool = True,
        args: list[Any] | None = None, profile: str = "edge") -> tuple[Any, float, list[str]]:
    """Import `source` as /m.js in a fresh wasm sandbox and call its default export: the result
    (or the exception), the seconds the call took, and the console output."""
    (tmp_path / "m.js").write_text(source)
    output: list[str] = []

    async def main() -> tuple[Any, float]:
        environments = {"e": {"evaluator": "wasm", "limits": limits or {}, "profile": profile}}
        async with Server(root=tmp_path, environments=environments, cache_dir=False,
                          on_console=lambda level, text: output.append(text)) as server:
            started = time.perf_counter()
            try:
                module = await server.environments["e"].import_module("/m.js")
                started = time.perf_counter()
                result = await module.default(*(args or [])) if call else module.exports
            except Exception as error:  # the outcome under test
                result = error
            return result, time.perf_counter() - started

    result, seconds = asyncio.run(main())
    return result, seconds, output


def works(tmp_path: Path) -> None:
    """The next sandbox in this process works."""
    result, _, output = run(tmp_path, "console.log('hi'); export default (a, b) => a + b;", args=[2, 3])
    assert result == 5 and output == ["hi"]


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# ---- it runs what the in-process evaluator runs ----

def test_the_example_gives_the_same_result_as_in_process():
    async def render(evaluator: str) -> Any:
        async with Server(root=ROOT / "examples" / "shop", environments={"e": {"evaluator": evaluator}},
                          cache_dir=False, on_console=lambda level, text: None) as server:
            module = await server.environments["e"].import_module("/src/main.js")
            return await module.default("/")

    assert asyncio.run(render("wasm")) == asyncio.run(render("inprocess"))


def test_sandboxes_share_nothing(tmp_path):
    source = "let n = 0; export default () => [++n, Math.random(), performance.now()];"
    (first, _, _), (second, _, _) = run(tmp_path, source), run(tmp_path, source)
    assert first[0] == second[0] == 1  # module state is per sandbox
    assert first[1] != second[1]  # Math.random is reseeded for every sandbox made from the snapshot
    assert 0 <= first[2] < 5000 and 0 <= second[2] < 5000  # performance.now() counts from the sandbox's start


# ---- no ambient authority ----

ESCAPES = """
export default async () => {
  const out = {};
  for (const name of ["std", "os", "bjson", "print", "scriptArgs", "process", "require", "Deno", "WebAssembly",
                      "fetch"]) out[name] = typeof globalThis[name];
  out.timers = String(setTimeout).includes("[native code]") ? "the engine's" : "the event loop's";
  for (const spec of ["qjs:std", "qjs:os", "qjs:bjson", "/etc/passwd", "node:fs"]) {
    out[spec] = await import(spec).then(() => "imported", (e) => e.name);
  }
  out.evalImport = await (async () => eval("import('qjs:os')"))().then(() => "imported", (e) => e.name);
  out.globals = Object.getOwnPropertyNames(globalThis).sort();
  return out;
};
"""


@pytest.mark.parametrize("profile", ["bare", "edge"])
def test_the_guest_reaches_no_host_api(tmp_path, profile):
    result, _, _ = run(tmp_path, ESCAPES, profile=profile)
    absent = ["std", "os", "bjson", "print", "scriptArgs", "process", "require", "Deno", "WebAssembly"]
    assert all(result[name] == "undefined" for name in absent), result
    # the edge profile's fetch is the host capability (denied by default), never a socket of the guest's
    assert result["fetch"] == ("function" if profile == "edge" else "undefined")
    assert result["timers"] == "the event loop's"  # driven by the host's loop, not a host timer
    assert all(result[spec] != "imported" for spec in ["qjs:std", "qjs:os", "qjs:bjson", "/etc/passwd", "node:fs"])
    # the engine's own loader is not installed (and the edge profile refuses eval altogether)
    assert result["evalImport"] == ("EvalError" if profile == "edge" else "ReferenceError")

    async def inprocess_globals() -> list[str]:
        async with Server(root=tmp_path, cache_dir=False, environments={"ssr": {"profile": profile}}) as server:
            module = await server.environments["ssr"].import_module("/m.js")
            return (await module.default())["globals"]  # type: ignore[no-any-return]

    # The same profile; the reactor is built without Atomics (there is only one thread).
    assert result["globals"] == [name for name in asyncio.run(inprocess_globals()) if name != "Atomics"]


def test_the_c_api_structures_are_wasmtimes_own():
    # capi.py declares the structures it uses itself (wasmtime-py's bindings cost every process
    # about 25 ms to import): they must be the library's, as wasmtime-py's generated ones are.
    from wasmtime import _ffi as ffi

    for ours, theirs in [(capi.ByteVec, ffi.wasm_byte_vec_t), (capi.Func, ffi.wasmtime_func_t),
                         (capi.Memory, ffi.wasmtime_memory_t), (capi.Global, ffi.wasmtime_global_t),
                         (capi.Extern, ffi.wasmtime_extern_t), (capi.Instance, ffi.wasmtime_instance_t),
                         (capi.Val, ffi.wasmtime_val_t), (capi.ValRaw, ffi.wasmtime_val_raw_t)]:
        assert (ctypes.sizeof(ours), ctypes.alignment(ours)) == (ctypes.sizeof(theirs), ctypes.alignment(theirs))
    assert capi.Extern.of.offset == ffi.wasmtime_extern_t.of.offset
    assert capi.Val.of.offset == ffi.wasmtime_val_t.of.offset
    assert capi.LIBRARY == ffi.filename
    assert (capi.STACK_OVERFLOW, capi.MEMORY_OUT_OF_BOUNDS) == (wasmtime.TrapCode.STACK_OVERFLOW.value,
                                                                 wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS.value)


def test_a_guests_writes_are_counted_and_go_nowhere():
    # The linker's fd_write (capi.new_linker) answers as if it wrote every byte of every buffer.
    wasm = bytes(wasmtime.wat2wasm("""(module
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "\\20\\00\\00\\00\\05\\00\\00\\00\\30\\00\\00\\00\\07\\00\\00\\00")
      (func (export "write") (param i32) (result i32)
        (call $write (i32.const 1) (i32.const 16) (i32.const 2) (local.get 0))))"""))
    engine = shared_engine().engine
    store = capi.Store(engine)
    try:
        instance = store.instantiate(capi.new_linker(engine), capi.compile_module(engine, wasm))
        items = {}
        for name in ("memory", "write"):
            items[name] = capi.Extern()
            assert capi.export_get(store.context, ctypes.byref(instance), name.encode(), len(name),
                                   ctypes.byref(items[name]))
        base = capi.memory_data(store.context, ctypes.byref(items["memory"].of.memory))

        def write(written: int) -> int:
            slots = (capi.ValRaw * 1)()
            slots[0].i32 = written
            assert not capi.call_unchecked(ctypes.c_void_p(store.context), ctypes.byref(items["write"].of.func),
                                           slots, ctypes.c_size_t(1), ctypes.byref(ctypes.c_void_p()))
            return int(slots[0].i32)

        assert write(8) == 0 and ctypes.c_uint32.from_address(base + 8).value == 5 + 7
        assert write(65536 - 2) == 21  # its count out of bounds: EFAULT, nothing written
    finally:
        store.close()


def test_a_sandbox_does_not_load_wasmtime_py():
    # Its bindings of the whole C API are what capi.py exists to avoid (tests above import it).
    code = ("import sys; from evaluators.wasm.evaluator import WasmTransport; from evaluators import RuntimeOptions;"
            "WasmTransport(RuntimeOptions()); print(sorted(m for m in sys.modules if m.startswith('wasmtime')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_reactor_imports_five_wasi_functions_none_of_which_can_block():
    module = wasmtime.Module.from_file(wasmtime.Engine(), str(REACTOR))
    imports = sorted((item.module, item.name) for item in module.imports)
    assert imports == [("wasi_snapshot_preview1", name) for name in
                       ("clock_time_get", "fd_close", "fd_fdstat_get", "fd_seek", "fd_write")]


# ---- CPU and wall time ----

@pytest.mark.parametrize("source", [
    "export default () => { for (;;) {} };",
    "export default () => new Promise(() => { Promise.resolve().then(() => { for (;;) {} }); });",
    "export default () => { const spin = () => Promise.resolve().then(spin); spin(); return new Promise(() => {}); };",
], ids=["loop", "busy-promise-job", "microtask-flood"])
def test_cpu_limit_stops_javascript(tmp_path, source):
    result, seconds, _ = run(tmp_path, source, {"cpu_ms": 50})
    assert isinstance(result, LimitError) and result.limit == "cpu", result
    assert seconds >= 0.045, seconds  # not before the limit (bench measures how soon after)
    works(tmp_path)


def test_cpu_limit_stops_c_code_that_never_polls(tmp_path):
    # A typed-array sort runs in C without QuickJS's interrupt check: the stop word at its loop
    # heads ends it, GRACE after the interrupt.
    source = "export default () => new Float64Array(1 << 23).map((_, i) => (i * 7919) % 1000).sort().length;"
    result, _, _ = run(tmp_path, source, {"cpu_ms": 20, "memory_mb": 256})
    assert isinstance(result, LimitError) and result.limit == "cpu", result  # the sort did not finish
    works(tmp_path)


def test_wall_time_limit(tmp_path):
    result, seconds, output = run(tmp_path, "export default () => { console.log('started'); for (;;) {} };",
                                  {"wall_ms": 100})
    assert isinstance(result, LimitError) and result.limit == "wall-time", result
    assert seconds >= 0.095, seconds
    assert output == ["started"]  # what was printed before the stop is kept


# ---- memory ----

@pytest.mark.parametrize("source", [
    "export default () => { let s = 'x'; for (;;) { s = s + s; s.indexOf('y'); } };",
    "export default () => { const a = []; for (;;) a.push({ n: a.length, s: 'x'.repeat(100) }); };",
    "export default () => { const a = []; for (;;) a.push(new ArrayBuffer(1 << 20)); };",
    "export default () => { const a = []; for (;;) a.push(new Uint8Array(1 << 16).fill(1)); };",
], ids=["string-doubling", "objects", "array-buffers", "typed-arrays"])
def test_memory_limit_is_a_hard_cap(tmp_path, source):
    before = rss()
    result, _, _ = run(tmp_path, source, {"memory_mb": 32})
    assert isinstance(result, LimitError) and result.limit == "memory", result
    assert rss() - before < 96 * 1024 * 1024  # the instance is gone, and it never held much more than its cap
    works(tmp_path)


def test_strings_and_array_buffers_count_against_the_limit(tmp_path):
    # The reactor counts what the allocator hands out, so 1 MiB buffers stop just short of the cap.
    source = """export default () => { const a = [];
      try { for (;;) a.push(new ArrayBuffer(1 << 20)); } catch (e) { return [a.length, String(e)]; } };"""
    (count, error), _, _ = run(tmp_path, source, {"memory_mb": 32})
    assert 24 <= count < 32 and error == "InternalError: out of memory"


# ---- stack ----

def test_recursion_reaches_thousands_of_frames_and_ends_in_a_range_error(tmp_path):
    source = """export default () => { let depth = 0; const f = () => { depth++; f(); };
      try { f(); } catch (e) { return [depth, e instanceof RangeError, e.message]; } };"""
    (depth, is_range_error, message), _, _ = run(tmp_path, source)
    assert depth >= 1000 and is_range_error and message == "Maximum call stack size exceeded"
    result, _, _ = run(tmp_path, "function r(n) { return n ? 1 + r(n - 1) : 0; }\nexport default () => r(1e6);")
    assert isinstance(result, JSError) and result.name == "RangeError"  # uncaught: a JS error (exit 1)
    works(tmp_path)


def test_stack_budget_follows_the_limit(tmp_path):
    source = "export default () => { let d = 0; const f = () => { d++; f(); }; try { f(); } catch { return d; } };"
    small, _, _ = run(tmp_path, source, {"stack_kb": 1024})
    large, _, _ = run(tmp_path, source)
    assert 200 < small < large / 2


@pytest.mark.parametrize("source,profile", [
    # eval is the bare profile's (the edge profile refuses code generation from strings)
    ("export default () => eval('['.repeat(100000) + ']'.repeat(100000));", "bare"),
    ("export default () => JSON.parse('['.repeat(100000) + ']'.repeat(100000));", "edge"),
], ids=["parser", "json"])
def test_c_recursion_ends_at_a_guard(tmp_path, source, profile):
    result, _, _ = run(tmp_path, source, profile=profile)
    assert isinstance(result, LimitError) and result.limit == "stack", result
    works(tmp_path)


def test_running_out_of_shadow_stack_traps_without_touching_what_lies_above_it():
    # The link puts the stack first in memory: past address 0 the stack pointer wraps around and
    # the next access is out of bounds, so C code that recurses without QuickJS's check stops at
    # a trap instead of writing over the static data above the stack.
    transport = WasmTransport(RuntimeOptions())
    guest = transport.guest
    top = guest.stack_pointer()
    above = guest.read(top, 65536)
    value = capi.Val(kind=0)
    value.of.i32 = 512  # almost no stack left
    global_set = capi._lib.wasmtime_global_set
    global_set.restype = ctypes.c_void_p
    assert not global_set(ctypes.c_void_p(guest.store.context), ctypes.byref(guest._stack_pointer), ctypes.byref(value))
    assert guest.stack_pointer() == 512
    with pytest.raises(GuestTrap) as trap:
        guest.eval("[1, 2, 3].map(x => x * 2).join()", "<input>")
    assert trap.value.code == capi.MEMORY_OUT_OF_BOUNDS == wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS.value
    assert trap.value.stack_pointer < 512 or trap.value.stack_pointer >= 1 << 31
    assert transport._classify(trap.value, "", None).limit == "stack"  # type: ignore[attr-defined]
    assert guest.read(top, 65536) == above
    asyncio.run(transport.close())


def test_filling_the_heap_with_small_objects_throws_a_real_out_of_memory_error(tmp_path):
    # QuickJS builds its error under the same limit and used to throw `null` when that failed too.
    source = """export default () => { const a = [];
      try { for (;;) a.push({ n: a.length }); } catch (e) { const text = String(e); a.length = 0; return text; } };"""
    result, _, _ = run(tmp_path, source, {"memory_mb": 16})
    assert result == "InternalError: out of memory"


# ---- output ----

def test_console_output_is_capped(tmp_path):
    source = "export default () => { const line = 'y'.repeat(1000); for (let i = 0; i < 1e5; i++) console.log(line); };"
    result, _, output = run(tmp_path, source, {"output_bytes": 100_000})
    assert isinstance(result, LimitError) and result.limit == "output"
    assert sum(len(line) + 1 for line in output) <= 100_000


# ---- after a trap ----

def test_a_trapped_runtime_is_discarded_and_the_host_carries_on(tmp_path):
    (tmp_path / "m.js").write_text("export const deep = () => JSON.parse('['.repeat(1e5) + ']'.repeat(1e5));\n"
                                   "export const ok = () => 1;")

    async def main() -> None:
        async with Server(root=tmp_path, environments={"e": {"evaluator": "wasm"}}, cache_dir=False) as server:
            environment = server.environments["e"]
            module = await environment.import_module("/m.js")
            with pytest.raises(LimitError):
                await module.deep()
            assert await module.ok() == 1  # the instance is gone: the proxy rebinds to a replacement
            runner = await environment.create_runner()
            assert await runner.invoke("import", ["/m.js"])
            await runner.close()

    asyncio.run(main())


# ---- the watchdog and the cache, directly ----

def test_watchdog_interrupts_then_stops_then_forgets():
    words = (ctypes.c_uint32 * 2)()
    watchdog = Watchdog()
    arm = watchdog.register(ctypes.addressof(words), ctypes.addressof(words) + 4)
    armed = time.monotonic()
    watchdog.arm(arm, armed + 0.01, None)
    while list(words) != [1, 1] and time.monotonic() - armed < 30:  # however loaded the machine is
        time.sleep(0.005)
    assert list(words) == [1, 1] and arm.fired == "wall-time"
    watchdog.disarm(arm)
    assert list(words) == [0, 0]  # a guest that finished anyway is not stopped on its next entry
    watchdog.arm(arm, None, 0.05)
    assert watchdog.disarm(arm) < 0.05 and arm.fired is None
    watchdog.unregister(arm)


def test_cpu_time_spent_for_a_guest_on_another_thread_is_charged_to_it():
    """The wrappers a sandbox asked for, compiled on a helper thread (wrappers.py), count against its
    CPU allowance as if it had compiled them itself."""
    words = (ctypes.c_uint32 * 2)()
    watchdog = Watchdog()
    arm = watchdog.register(ctypes.addressof(words), ctypes.addressof(words) + 4)
    watchdog.charge(arm, 5.0)  # not armed: nothing to charge
    watchdog.arm(arm, None, 60.0)
    watchdog.charge(arm, 2.0)
    assert 2.0 <= watchdog.disarm(arm) < 3.0 and arm.fired is None and list(words) == [0, 0]
    watchdog.arm(arm, None, 60.0)
    watchdog.charge(arm, 61.0)  # past the allowance: the watchdog fires at once
    started = time.monotonic()
    while arm.fired is None and time.monotonic() - started < 30:
        time.sleep(0.005)
    assert arm.fired == "cpu" and words[0] == 1
    assert watchdog.disarm(arm) >= 61.0
    watchdog.unregister(arm)


def test_a_corrupt_cache_entry_is_rebuilt(tmp_path):
    cache = ModuleCache(tmp_path)
    (tmp_path / "k.cwasm").write_bytes(b"not a module")
    (tmp_path / "k.json").write_text(json.dumps({}))
    assert cache.load(shared_engine().engine, "k") is None
    assert not (tmp_path / "k.cwasm").exists()


def test_remembered_texts_are_bounded_and_the_newest_kept(tmp_path):
    from evaluators.wasm.cache import KEEP_REMEMBERED

    cache = ModuleCache(tmp_path)
    for i in range(KEEP_REMEMBERED + 6):
        cache.remember(f"k{i}", f"text {i}")
        os.utime(tmp_path / f"k{i}.txt", ns=(i * 10**9, i * 10**9))  # one second apart, however fast the disk
    assert len(list(tmp_path.glob("*.txt"))) <= KEEP_REMEMBERED
    assert cache.remembered(f"k{KEEP_REMEMBERED + 5}") == f"text {KEEP_REMEMBERED + 5}"
    assert cache.remembered("k0") is None


def test_a_fresh_engine_finds_its_snapshot_without_making_the_boot_source(monkeypatch):
    """A new process keys its snapshot by the remembered digest of the boot source: the source (the
    edge profile's libraries read and quoted) is only made when the snapshot has to be built."""
    from evaluators.wasm import engine as wasm_engine

    options = RuntimeOptions(profile="edge")
    WasmTransport(options)  # the snapshot is on disk, its boot source's digest remembered
    fresh = wasm_engine.WasmEngine()
    if fresh.cache.directory is None:
        pytest.skip("the compiled-module cache is off (MODRUN_WASM_CACHE)")

    def made(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("the boot source was made for a snapshot on disk")

    monkeypatch.setattr(wasm_engine, "boot_expression", made)
    snapshot = fresh.snapshot(WasmTransport.runtime_config(options))
    assert snapshot.source == "disk"
    assert snapshot.booted == shared_engine().snapshot(WasmTransport.runtime_config(options)).booted


def test_the_boot_identity_follows_every_file_of_the_bundle(tmp_path, monkeypatch):
    from runner import file_identity
    from runner.js import bundle

    copy = tmp_path / "js"
    for name in bundle.files("bare"):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_text((bundle.JS_DIR / name).read_text())
    monkeypatch.setattr(bundle, "JS_DIR", copy)
    monkeypatch.setattr(file_identity, "RACY_S", 0.0)  # the copies are new: stamped all the same
    config = RuntimeOptions(profile="bare").runtime_config()
    time.sleep(0.1)  # a tick of the filesystem's clock: the edits below get new change times
    before = bundle.boot_identity(config)
    assert before is not None and before == bundle.boot_identity(config)
    assert bundle.boot_identity({**config, "preload": True}) != before
    last = copy / bundle.files("bare")[-1]
    text, info = last.read_text(), last.stat()
    last.write_text(text.replace("\n", " ", 1))  # the same size, its modification time put back
    os.utime(last, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert bundle.boot_identity(config) != before
    last.write_text(last.read_text() + "\n// changed\n")
    assert bundle.boot_identity(config) != before
    last.unlink()
    assert bundle.boot_identity(config) is None  # boot_expression says what is missing


# ---- the command line ----

@pytest.mark.parametrize("source,options,code,kind", [
    ("for (;;) {}", ["--timeout", "0.3"], 4, "limit"),
    ("const a = []; for (;;) a.push(new ArrayBuffer(1 << 20));", ["--memory", "32"], 4, "limit"),
    ("function r(n) { return n ? 1 + r(n - 1) : 0; } r(1e6);", [], 1, "js"),
    ("export const x = typeof std + typeof os + typeof process;", [], 0, None),
], ids=["infinite-loop", "array-buffer-bomb", "deep-recursion", "no-escape"])
def test_command_line_exit_codes(tmp_path, source, options, code, kind):
    (tmp_path / "m.js").write_text(source)
    completed = subprocess.run([*MODRUN, "run", str(tmp_path / "m.js"), "--evaluator", "wasm", "--json", *options],
                               capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert completed.returncode == code, completed.stderr
    payload = json.loads(completed.stdout)
    assert payload["ok"] == (code == 0)
    if kind:
        assert payload["error"]["kind"] == kind
    else:
        assert payload["exports"] == ["x"]


def test_limits_are_reported_before_work_when_the_budget_is_spent():
    transport = WasmTransport(RuntimeOptions(limits=Limits(wall_ms=1)))
    from runner.limits import Budget

    with pytest.raises(LimitError):
        transport.call_now(Budget(deadline=time.monotonic() - 1), "/nope.js", ["f"], [])
    asyncio.run(transport.close())


def test_a_thread_with_a_small_stack_still_runs_deep_recursion_safely(tmp_path):
    # Wasm frames run on the calling thread's stack; a thread too small for wasmtime's native
    # allowance hands the work to a helper thread instead of crashing the process.
    import threading

    source = "export default () => { let d = 0; const f = () => { d++; f(); }; try { f(); } catch { return d; } };"
    outcome: list[Any] = []
    previous = threading.stack_size(1 << 20)
    try:
        thread = threading.Thread(target=lambda: outcome.append(run(tmp_path, source)))
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join()
    depth, _, _ = outcome[0]
    assert depth >= 1000
