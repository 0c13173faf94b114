"""The JS shipped into every runtime: the files under runner/js, joined into one closure."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..rpc.protocol import js_constants

JS_DIR = Path(__file__).parent
# Each file uses only what the files before it provide (its header says what; `check` holds them
# to it), and runtime.js boots the rest.
FILES = (
    "source_map.js", "stack_trace.js", "namespace.js", "inspect.js", "transport.js", "profile_bare.js",
    "evaluated_modules.js", "linker.js", "esm_evaluator.js", "commonjs.js", "module_runner.js", "host_api.js",
    "runtime.js",
)

# The runner keeps its own references to the built-ins it uses, so that module code replacing a
# global (test262 does `globalThis.Promise = …`) cannot break module loading.
INTRINSICS = (
    "Promise", "Object", "Array", "JSON", "Map", "Set", "WeakMap", "WeakSet", "Reflect", "Proxy", "Symbol", "String",
    "Number", "Error", "TypeError", "SyntaxError", "ReferenceError", "RangeError", "Function",
)
ENTRY = "bootRuntime"


def constants() -> dict[str, Any]:
    """What the prelude defines after the intrinsics, for every file to use."""
    return {"PROTOCOL": js_constants()}


@functools.cache
def runtime_source() -> str:
    """A function expression `(config) => {receive, drain, callNow}`; its own text lets the runtime
    tell its frames from user frames in stack traces."""
    return join(read(JS_DIR, FILES))


def read(directory: Path, files: Sequence[str]) -> list[tuple[str, str]]:
    """The files' names and sources, in bundle order."""
    return [(name, (directory / name).read_text()) for name in files]


def check(sources: Sequence[tuple[str, str]]) -> None:
    """Hold the files to their headers and to their order (order.py); raises BundleOrderError.

    Run by the tests (tests/test_bundle_order.py), not when the bundle is built: the files
    cannot change between the test and their use, and the check (a lexer over every file, in
    Python) would cost tens of milliseconds in every process that builds the bundle, every
    process-evaluator worker included.
    """
    from .order import check_order  # not imported where runtimes are only booted

    check_order(sources, constants(), INTRINSICS, ENTRY)


def join(sources: Sequence[tuple[str, str]]) -> str:
    """The bundle: one closure, the prelude (intrinsics and constants), then the files."""
    prelude = f"const {{ {', '.join(INTRINSICS)} }} = globalThis;\n" + "".join(
        f"const {name} = {json.dumps(value)};\n" for name, value in constants().items())
    body = "\n".join(source for _, source in sources)
    return ("(function modrunRuntime(config) {\n\"use strict\";\n" + prelude + body +
            f"\nreturn {ENTRY}(globalThis, config, String(modrunRuntime));\n}})")


def boot_expression(config: dict[str, Any]) -> str:
    """Source that boots the runtime and evaluates to its host entry points."""
    return f"{runtime_source()}({json.dumps(config)})"
