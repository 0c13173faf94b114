"""The JS shipped into every runtime: the files under runner/js, joined into one closure: the
runner's core around the files of the runtime's profile (profiles.py). The closure takes the
runtime's config and its profile's third-party libraries (LIBRARIES: data, libraries.py), which an
engine may hand over however is cheapest (quickjs_engine.py puts the sources in as strings: QuickJS
would take milliseconds to parse them as literals)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..file_identity import stamps
from ..rpc.protocol import js_constants
from . import libraries
from .profiles import PROFILES, get_profile

JS_DIR = Path(__file__).parent
# Each file uses only what the files before it provide (its header says what; `check` holds them
# to it), and runtime.js boots the rest. A profile's files come between the two halves: they may
# use the transport and the event loop, and the last one provides the `installProfile` that runtime.js calls.
CORE_BEFORE = ("source_map.js", "stack_trace.js", "module_runner/namespace.js", "inspect.js", "transport.js",
               "event_loop.js", "bindings.js")
# The module runner proper (module_runner/), as Vite's module-runner folder: its store, linker,
# evaluators and the runner.
CORE_AFTER = ("module_runner/evaluated_modules.js", "module_runner/linker.js", "module_runner/esm_evaluator.js",
              "module_runner/commonjs.js", "module_runner/host_compiler.js", "module_runner/module_runner.js",
              "hmr_client.js", "host_api.js", "runtime.js")

# The runner keeps its own references to the built-ins it uses, so that module code replacing a
# global (test262 does `globalThis.Promise = …`) cannot break module loading.
INTRINSICS = (
    "Promise", "Object", "Array", "JSON", "Map", "Set", "WeakMap", "WeakSet", "Reflect", "Proxy", "Symbol", "String",
    "Number", "Error", "TypeError", "SyntaxError", "ReferenceError", "RangeError", "Function",
)
ENTRY = "bootRuntime"
#: the closure's parameters besides `config`, for every file to use
PARAMETERS = ("LIBRARIES",)
NO_LIBRARIES: dict[str, Any] = {"units": {}, "versions": {}}


def constants() -> dict[str, Any]:
    """What the prelude defines after the intrinsics, for every file to use."""
    return {"PROTOCOL": js_constants()}


def files(profile: str) -> tuple[str, ...]:
    """The bundle's files for a profile, in order."""
    return CORE_BEFORE + get_profile(profile).files + CORE_AFTER


@functools.cache
def runtime_source(profile: str) -> str:
    """A function expression `(config, LIBRARIES) => {receive, drain, callNow, outbox, track}`; its own
    text lets the runtime tell its frames from user frames in stack traces."""
    return join(read(JS_DIR, files(profile)))


def runtime_identity(profile: str) -> str | None:
    """What runtime_source(profile)'s text is made from, without reading it: the stamps of this module
    and of the profile's files (file_identity.py: they stand for the files' contents), and the constants.
    It keys the bundle's compiled code (evaluators/quickjs_bytecode.py), so that a start need not read and
    hash the text; None where the stamps do not stand for the contents (a file changed in the last seconds)."""
    taken = stamps([Path(__file__), *(JS_DIR / name for name in files(profile))])
    # Starts with a NUL: no wrapper's source (they start with `0,`) is keyed the same.
    return None if taken is None else "\0runner bundle\0" + json.dumps([profile, constants(), taken])


def runtime_source_of(profile: str, identity: str) -> str | None:
    """runtime_source(profile)'s text as its files hold it now, where they still have `identity` once
    read (None where they changed since: what is compiled under an identity is its text)."""
    text = join(read(JS_DIR, files(profile)))
    return text if runtime_identity(profile) == identity else None


def profile_libraries(profile: str) -> dict[str, Any]:
    """The LIBRARIES a profile's runtimes get: `{units: {name: {provides, source}}, versions}`. Built
    at install time (libraries.py): missing or stale, it is a usage error that says how to build it."""
    if not get_profile(profile).libraries:
        return NO_LIBRARIES
    try:
        return libraries.load()
    except libraries.LibrariesMissing as error:
        raise UsageError(str(error)) from None


def read(directory: Path, names: Sequence[str]) -> list[tuple[str, str]]:
    """The files' names and sources, in bundle order."""
    return [(name, (directory / name).read_text()) for name in names]


def check_profiles() -> None:
    """Check the bundle of every profile (raises BundleOrderError)."""
    for name in PROFILES:
        check(read(JS_DIR, files(name)))


def check(sources: Sequence[tuple[str, str]]) -> None:
    """Hold the files to their headers and to their order (order.py); raises BundleOrderError.

    Run by the tests (tests/test_bundle_order.py), not when the bundle is built: the files
    cannot change between the test and their use, and the check (a lexer over every file, in
    Python) would cost tens of milliseconds in every process that builds the bundle, every
    process-evaluator worker included.
    """
    from .order import check_order  # not imported where runtimes are only booted

    check_order(sources, [*constants(), *PARAMETERS], INTRINSICS, ENTRY)


def join(sources: Sequence[tuple[str, str]]) -> str:
    """The bundle: one closure, the prelude (intrinsics and constants), then the files."""
    prelude = f"const {{ {', '.join(INTRINSICS)} }} = globalThis;\n" + "".join(
        f"const {name} = {json.dumps(value)};\n" for name, value in constants().items())
    body = "\n".join(source for _, source in sources)
    return (f"(function modrunRuntime(config, {', '.join(PARAMETERS)}) {{\n\"use strict\";\n" + prelude + body +
            f"\nreturn {ENTRY}(globalThis, config, String(modrunRuntime));\n}})")


def boot_expression(config: dict[str, Any], unit_source: Callable[[str], str] | None = None,
                    runtime: str | None = None) -> str:
    """Source that boots the runtime (of `config["profile"]`) and evaluates to its host entry points.
    `unit_source(name)` is the JS expression of a library unit's source (by default its text);
    `runtime`, that of the function runtime_source() evaluates to (by default that source)."""
    profile = str(config["profile"])
    units = profile_libraries(profile)["units"]
    listed = ", ".join(
        f"{json.dumps(name)}: {{provides: {json.dumps(unit['provides'])}, "
        f"source: {unit_source(name) if unit_source else json.dumps(unit['source'])}}}"
        for name, unit in units.items())
    return f"{runtime or runtime_source(profile)}({json.dumps(config)}, {{units: {{{listed}}}}})"


def boot_identity(config: dict[str, Any]) -> str | None:
    """What `boot_expression(config)`'s text is made from, cheaply: the config, the constants, and the
    stamps (file_identity.py) of every file the text comes from (this module's own templates, the
    profile's files, its libraries). For keying what is built from the text without making it (the wasm
    evaluator's snapshots, in a fresh process); None when a file is missing (boot_expression says why)
    or changed in the last seconds (the text is made)."""
    profile = get_profile(str(config["profile"]))
    paths = [Path(__file__), *(JS_DIR / name for name in files(profile.name))]
    if profile.libraries:
        paths.append(libraries.OUTPUT)
    taken = stamps(paths)
    return None if taken is None else json.dumps([config, constants(), taken], sort_keys=True)
