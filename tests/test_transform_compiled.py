"""The transform compiled by mypyc at install time (runner/transform/compiled.py, setup.py): the install
compiled it, its output is the pure modules' byte for byte, the forked transform worker runs it too, and an
extension older than its edited .py is never loaded."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from runner import Server, transform_worker
from runner.transform import compiled
from tests.conformance import CONFORMANCE, TEST262, VITE_FIXTURES
from tests.test_transform_sieve import CASES
from tests.test_transform_worker import MODULES, _graph

PROJECT = Path(__file__).resolve().parents[1]


def _corpus() -> list[tuple[str, str]]:
    """(name, source): the sieve's cases, the project's own JS, and the conformance modules when present."""
    files = sorted(path for folder in ("tests", "examples") for path in (PROJECT / folder).rglob("*.js")
                   if "node_modules" not in path.parts)
    if CONFORMANCE.is_dir():
        files += sorted((VITE_FIXTURES / "ssr-transform-cases").glob("*.input.js"))
        for folder in ("module-code", "import", "export", "expressions/dynamic-import", "expressions/import.meta"):
            files += sorted((TEST262 / "test" / "language" / folder).rglob("*.js"))
    return [*CASES.items(), *((str(path), path.read_text(errors="surrogateescape")) for path in files)]


def outputs() -> dict[str, str]:
    """name -> a digest of the runner-format transform's whole result, or of the error it raised."""
    from runner.errors import ParseError
    from runner.transform.ssr_transform import ssr_transform

    out = {}
    for name, source in _corpus():
        try:
            r = ssr_transform(source, "/" + Path(name).name)
            text = repr((r.code, r.map, r.deps, r.dynamic_deps, r.imports, r.exports, r.star_exports, r.has_tla))
        except ParseError as error:
            text = repr(("error", str(error), error.__dict__))
        out[name] = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return out


def _run(code: str, *, pure: bool = False, cwd: Path = PROJECT) -> str:
    env = {k: v for k, v in os.environ.items() if k != compiled.PURE_ENV}
    if pure:
        env[compiled.PURE_ENV] = "1"
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def test_the_install_compiled_the_transform() -> None:
    # CI's `pip install -e` must have built them (setup.py): the speed of a cold run depends on it.
    from runner.transform import ssr_transform, walker

    assert compiled.active(), "the transform is not compiled: no mypyc or no C compiler at install time?"
    assert all(Path(module.__file__ or "").suffix == ".so" for module in (ssr_transform, walker))


def test_compiled_and_pure_transforms_agree_byte_for_byte() -> None:
    here = outputs()
    assert len(here) > 30
    pure = json.loads(_run("import json; from tests.test_transform_compiled import outputs; "
                           "from runner.transform import compiled, walker; assert not compiled.active(); "
                           "assert walker.__file__.endswith('.py'); print(json.dumps(outputs()))", pure=True))
    assert pure == here


def test_an_edited_source_is_loaded_instead_of_its_stale_extension(tmp_path: Path) -> None:
    # An editable install keeps the extensions beside the .py files: an edit must win over them.
    shutil.copytree(PROJECT / "runner", tmp_path / "runner", ignore=shutil.ignore_patterns("__pycache__", "js"))
    for group in PROJECT.glob("modrun_transform__mypyc*"):
        shutil.copy(group, tmp_path)
    # … nor an extension of a module that is not compiled (a stale build directory can put one in a wheel).
    (tmp_path / "runner" / "transform" / f"sourcemap{EXTENSION_SUFFIXES[0]}").write_bytes(b"not a library")
    probe = ("from runner.transform import compiled, walker, sourcemap; "
             "print(compiled.active(), walker.__file__.rsplit('.', 1)[1], sourcemap.__file__.rsplit('.', 1)[1])")
    assert _run(probe, cwd=tmp_path).split() == ["True", "so", "py"]
    walker = tmp_path / "runner" / "transform" / "walker.py"
    walker.write_text(walker.read_text() + "\n# edited\n")
    assert _run(probe, cwd=tmp_path).split() == ["False", "py", "py"]


def _record_walker(payload: bytes) -> bytes | None:
    from runner.transform import walker

    with open(os.environ["MODRUN_TEST_WORKER_LOG"], "a") as log:
        log.write(f"{os.getpid()} {walker.__file__}\n")
    return _transform(payload)


_transform = transform_worker._transform


def test_the_forked_worker_transforms_with_the_compiled_modules(tmp_path, monkeypatch) -> None:
    log = tmp_path / "worker.log"
    monkeypatch.setenv("MODRUN_TEST_WORKER_LOG", str(log))
    monkeypatch.setattr(transform_worker, "MIN_SPARE", 0.0)
    monkeypatch.setattr(transform_worker, "_transform", _record_walker)  # the forked child inherits it
    root = _graph(tmp_path / "app")

    async def main() -> object:
        async with Server(root=root, cache_dir=tmp_path / "cache") as server:
            return (await server.environments["ssr"].import_module("/m.js")).total

    assert asyncio.run(main()) == sum(range(MODULES))
    lines = log.read_text().split()
    assert lines and int(lines[0]) != os.getpid()
    assert {Path(file).suffix for file in lines[1::2]} == {".so"}


def test_without_a_c_compiler_the_build_leaves_the_pure_modules(tmp_path: Path) -> None:
    # setup.py's build_ext on a machine with no working compiler: a warning, no extension, no failure.
    shutil.copy(PROJECT / "setup.py", tmp_path)
    for package in ("runner", "evaluators"):  # (mypyc type-checks what the modules import)
        shutil.copytree(PROJECT / package, tmp_path / package, ignore=shutil.ignore_patterns(
            "__pycache__", "*.so", "compiled_sources.json", "node_modules", "vendor", "*.wasm"))
    env = {**os.environ, "CC": "false", "LDSHARED": "false"}
    done = subprocess.run([sys.executable, "setup.py", "build_ext", "--build-lib", "out", "--build-temp", "tmp"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "the transform is not compiled" in done.stderr
    assert list((tmp_path / "out").rglob("*.so")) == [] and list((tmp_path / "out").rglob("*.json")) == []


def test_a_run_that_transforms_nothing_loads_no_compiled_code() -> None:
    # Every run imports the environment (and sourcemap.py with it); only a transform loads the group's library.
    loaded = _run("import sys, runner.environment; from runner.transform import compiled; "
                  "print(sorted(m for m in sys.modules if 'mypyc' in m), compiled.active.cache_info().currsize)")
    assert loaded.split() == ["[]", "0"]
