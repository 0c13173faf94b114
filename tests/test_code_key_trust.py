"""Module code cannot file code under another module's wrapper key (evaluators/keyed_wrapper.py): a
module that replaces the built-ins the runner's compile requests are made with changes what its own
runtime runs, and nothing a later, fresh run of another entry takes from the compiled-code cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evaluators.compiled_code import may_compile
from evaluators.keyed_wrapper import PROBE, WrapperShapes
from evaluators.quickjs_bytecode import unavailable
from runner.rpc import code_keys
from runner.rpc.code_keys import code_key
from tests.project_files import write

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=unavailable() or "")

# The request's text, as the host reads it, comes through String.prototype.slice (host_compiler.js).
TAMPER = """
const slice = String.prototype.slice;
let other = null;
String.prototype.slice = function (...args) {
  const text = slice.apply(this, args);
  if (!text.startsWith("K")) return text;
  const newline = text.indexOf("\\n");
  if (text.includes('"other"')) other = slice.call(text, newline);
  if (!text.includes('"victim"')) return text;
  return MODE === "edit" ? text.replace('"victim"', '"poisoned"') : slice.call(text, 0, newline) + other;
};
// The wasm evaluator takes all requests as one string (host_compiler.js: takeAll), joined by Array.prototype.join:
// the victim's source edited there, its length kept (the string starts with the sources' lengths).
const join = Array.prototype.join;
Array.prototype.join = function (...args) {
  const text = join.apply(this, args);
  return /^[0-9,]+\\nK/.test(text) ? text.replace('"victim"', '"VICTIM"') : text;
};
"""

PROJECT = {
    "node_modules/.keep": "",
    "src/dep.js": 'export const tag = "!";\n',
    "src/victim.js": 'import { tag } from "./dep.js";\nexport const who = "victim" + tag;\n',
    "src/other.js": 'import { tag } from "./dep.js";\nexport const who = "other" + tag;\n',
    "src/innocent.js": 'import { who } from "./victim.js";\nexport default () => who;\n',
}


def attacker(mode: str) -> str:
    return (f"const MODE = {json.dumps(mode)};\n{TAMPER}await import('./other.js');\n"
            "const { who } = await import('./victim.js');\nexport default () => who;\n")


def run(root: Path, entry: str, evaluator: str) -> object:
    done = subprocess.run([sys.executable, "-m", "runner", "run", entry, "--evaluator", evaluator, "--call", "default"],
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "XDG_CACHE_HOME": str(root.parent / "user-cache")})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("mode", ("edit", "swap"))
@pytest.mark.parametrize("evaluator", ("inprocess", "process", "wasm"))
def test_module_code_cannot_file_code_under_another_modules_key(tmp_path: Path, evaluator: str, mode: str) -> None:
    root = write(tmp_path / "app", {**PROJECT, "src/attacker.js": attacker(mode)})
    # the host compiles no forged source (without the check the attacker's own runtime ran it): the runner
    # compiles the module itself
    assert run(root, "src/attacker.js", evaluator) == "victim!"
    assert (root / "node_modules/.modrun/code.sqlite").exists()
    # fresh runs of another entry, the first with the wrappers on disk, the second by key from them
    assert [run(root, "src/innocent.js", evaluator) for _ in range(2)] == ["victim!", "victim!"]


def shapes(engine: str) -> WrapperShapes:
    if engine == "wasm":  # the reactor's own text, asked of its compiler guest
        from evaluators.options import RuntimeOptions
        from evaluators.wasm.engine import shared_engine
        from evaluators.wasm.evaluator import WasmTransport
        from evaluators.wasm.wrappers import shared_compiler

        wasm = shared_engine()
        return shared_compiler(wasm, wasm.snapshot(WasmTransport.runtime_config(RuntimeOptions())))._shapes()
    import _quickjs

    return WrapperShapes(str(_quickjs.Context().eval(PROBE)))


@pytest.mark.parametrize("keyed_here", (True, False), ids=("compared", "hashed"))
@pytest.mark.parametrize("engine", ("inprocess", "wasm"))
def test_a_keyed_source_is_the_wrapper_of_the_code_its_key_names(engine: str, keyed_here: bool,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    code = 'await __vite_ssr_import__("./a.js");\nawait __vite_ssr_import_meta__;\nf();\n'
    at = [0, code.index("await __vite_ssr_import_meta__")]
    meta = {"imports": [["./a.js", "./a.js", [], 1, 0]], "awaits": at, "hasTLA": False}
    key = code_key({"code": code, "modrun": meta})  # type: ignore[typeddict-item]
    assert key is not None
    # the check compares with the code where this process keyed it, else (another process's key) takes its digest
    assert code_keys.code_named(key[:40]) == code
    if not keyed_here:
        monkeypatch.setattr(code_keys, "_codes", {})
    checked = shapes(engine)
    head = "0,function* anonymous(" + ",".join(
        ("__vite_ssr_exports__", "__vite_ssr_import_meta__", "__vite_ssr_import__", "__vite_ssr_dynamic_import__",
         "__vite_ssr_exportAll__", "__vite_ssr_exportName__")) + '\n) {\n"use strict";\n'
    body = code.replace("await __vite_ssr_import__", "      __vite_ssr_import__").replace(
        "await __vite_ssr_import_meta__", "yield __vite_ssr_import_meta__")
    source = head + body + "\n}"
    assert checked.names(f"Kf00:l:{key}", source)
    # another body, the gate left an await, another kind, another key's digest, a mangled key: no
    assert not checked.names(f"Kf00:l:{key}", source.replace("f();", "g();"))
    assert not checked.names(f"Kf00:l:{key}", source.replace("yield __vite", "await __vite"))
    assert not checked.names(f"Kf00:l:{key}", source.replace("0,function*", "0,async function"))
    assert not checked.names(f"Kf00:l:{'0' * 40}{key[40:]}", source)
    assert not checked.names(f"Kf00:l:{key.replace(':s:', ':t:')}", source)
    assert not checked.names(f"Kf00:l:{key}:", source)
    assert not checked.names(f"Kf00:l:{key[:-2]}x", source)
    # code in place of a blanked await (the code the key names comes back either way), awaits out of order
    assert not checked.names(f"Kf00:l:{key}", source.replace("      __vite_ssr_import__", "f();  __vite_ssr_import__"))
    assert not checked.names(f"Kf00:l:{key.replace(f'{at[0]},{at[1]}', f'{at[1]},{at[0]}')}", source)


def test_the_wasm_check_takes_the_reactors_own_text_and_remembers_it(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from evaluators.options import RuntimeOptions
    from evaluators.wasm.cache import ModuleCache
    from evaluators.wasm.engine import shared_engine
    from evaluators.wasm.evaluator import WasmTransport
    from evaluators.wasm.wrappers import WasmCompiler

    wasm = shared_engine()
    snapshot = wasm.snapshot(WasmTransport.runtime_config(RuntimeOptions()))
    monkeypatch.setattr(wasm, "cache", ModuleCache(tmp_path))
    made = WasmCompiler(wasm, snapshot)._shapes()  # asked of a fresh runtime (the edge profile's locks its own)
    [remembered] = tmp_path.glob("*.txt")
    texts = json.loads(remembered.read_text())
    assert [text.split("(")[0] for text in texts] == ["async function anonymous", "function* anonymous",
                                                      "async function* anonymous"]
    assert made.prefixes == ["0," + text[:text.index("/*code*/")] + '"use strict";\n' for text in texts]
    # a later process reads it (so marked here, to tell it from one made again)
    remembered.write_text(json.dumps([texts[0] + " ", *texts[1:]]))
    again = WasmCompiler(wasm, snapshot)._shapes()
    assert (again.prefixes, again.suffix) == (made.prefixes, made.suffix + " ")


def test_both_engines_compile_a_keyed_source_only_where_it_is_the_keys_wrapper() -> None:
    code = "export default 1;\n"
    key = code_key({"code": code, "modrun": {"imports": [], "awaits": None, "hasTLA": False}})  # type: ignore[typeddict-item]
    checked = shapes("inprocess")
    source = checked.prefixes[1] + code + checked.suffix

    def never() -> WrapperShapes:
        raise AssertionError("a source kept under itself needs no check")

    # a source kept under itself, or the runner bundle's name: compiled without asking for the engine's texts
    assert may_compile("(source)", "(source)", never) and may_compile("\0runner bundle\0[]", "(text)", never)
    assert may_compile(f"Kf00:l:{key}", source, lambda: checked)
    assert not may_compile(f"Kf00:l:{key}", source.replace("1;", "2;"), lambda: checked)
