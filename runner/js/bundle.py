"""The JS shipped into every runtime: the files under runner/js, joined into one closure."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from ..rpc.protocol import js_constants

JS_DIR = Path(__file__).parent
# Order matters: each file uses only what comes before it, and runtime.js boots the rest.
FILES = (
    "source_map.js", "stack_trace.js", "namespace.js", "inspect.js", "transport.js", "profile_bare.js",
    "evaluated_modules.js", "linker.js", "esm_evaluator.js", "module_runner.js", "host_api.js", "runtime.js",
)

# The runner keeps its own references to the built-ins it uses, so that module code replacing a
# global (test262 does `globalThis.Promise = …`) cannot break module loading.
INTRINSICS = (
    "const { Promise, Object, Array, JSON, Map, Set, WeakMap, WeakSet, Reflect, Proxy, Symbol, String, Number,"
    " Error, TypeError, SyntaxError, ReferenceError, RangeError, Function } = globalThis;\n"
)


@functools.cache
def runtime_source() -> str:
    """A function expression `(config) => {receive, drain}`; its own text lets the runtime tell
    its frames from user frames in stack traces."""
    body = "\n".join((JS_DIR / name).read_text() for name in FILES)
    protocol = f"const PROTOCOL = {json.dumps(js_constants())};\n"
    return ("(function modrunRuntime(config) {\n\"use strict\";\n" + INTRINSICS + protocol + body +
            "\nreturn bootRuntime(globalThis, config, String(modrunRuntime));\n})")


def boot_expression(config: dict[str, Any]) -> str:
    """Source that boots the runtime and evaluates to its two host entry points."""
    return f"{runtime_source()}({json.dumps(config)})"
