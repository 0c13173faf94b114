"""`modrun run ENTRY …`: import a module in a fresh runtime, optionally call an export (README,
"Command line"). With --json, stdout carries exactly one JSON object and the module's console
output goes to stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..config import MODES
from ..entry_file import check_entry, real_path
from ..errors import LimitError, ModrunError, UsageError
from ..js.profiles import DEFAULT_PROFILE, PROFILES
from . import loading
from .common import check_args, choose_root, entry_url, report_error

if TYPE_CHECKING:
    import argparse

    from evaluators import RuntimeOptions

    from ..rpc.payloads import PendingTimer
    from ..server import Server

# The rest of modrun (asyncio, the server, the engines) is imported once the arguments are checked
# and a runtime that is slow to start has been started (see `_start_early`).


#: `modrun run`'s options, as argparse's add_argument takes them: add_parser gives them to argparse, and
#: quick_args.py parses a plain command line with them, without loading argparse.
OPTIONS: dict[str, dict[str, Any]] = {
    "--root": {"help": "project root (default: the current directory when ENTRY is inside it, else ENTRY's "
               "directory)"},
    "--evaluator": {"default": "inprocess", "metavar": "NAME",
                    "help": "the runtime: inprocess (default), wasm, process, or a registered evaluator"},
    "--profile": {"default": DEFAULT_PROFILE, "choices": list(PROFILES),
                  "help": f"the runtime's globals: {', '.join(PROFILES)} (default {DEFAULT_PROFILE})"},
    "--call": {"metavar": "EXPORT", "help": "call this export (`default` for the default export)"},
    "--args": {"metavar": "JSON_ARRAY", "default": "[]", "help": "arguments for --call, as a JSON array"},
    "--json": {"action": "store_true", "help": "print one JSON object: the result or the error"},
    "--timeout": {"type": float, "metavar": "S", "help": "wall-clock limit for the whole run, in seconds"},
    "--memory": {"type": float, "metavar": "MB", "help": "cap on the runtime's heap, in MiB"},
    "--conditions": {"metavar": "SET_OR_LIST",
                     "help": "package.json export conditions: a set (bare, edge), extra conditions, or both, "
                     "comma-separated (e.g. edge or edge,react-server)"},
    "--mode": {"default": "production", "choices": MODES,
               "help": "production (default) or development: process.env.NODE_ENV, import.meta.env and the "
               "production/development export conditions"},
}


def add_parser(commands: Any) -> None:
    run = commands.add_parser("run", help="import a module in a fresh runtime, optionally call an export")
    run.add_argument("entry", metavar="ENTRY", help="the module to import (a file path)")
    for name, spec in OPTIONS.items():
        run.add_argument(name, **spec)


def _environment_config(ns: argparse.Namespace) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    if ns.memory:
        limits["memory_mb"] = ns.memory
    config: dict[str, Any] = {"evaluator": ns.evaluator, "profile": ns.profile, "limits": limits}
    if ns.conditions:
        config["conditions"] = [c.strip() for c in ns.conditions.split(",") if c.strip()]
    return config


def _runtime_options(ns: argparse.Namespace) -> RuntimeOptions:
    """The options the environment will create its runtime with (Environment.create_runner)."""
    from evaluators import RuntimeOptions

    from ..config import default_cache_dir
    from ..limits import Limits

    # As EnvironmentConfig.from_config makes them, without what it checks besides (the command line's
    # profile is one of the choices): its capabilities would load before the worker starts.
    limits = Limits.from_config(_environment_config(ns)["limits"])
    # The server's cache directory (Server: cache_dir), so the early worker matches its runtime.
    directory = default_cache_dir(choose_root(real_path(ns.entry), ns.root))
    return RuntimeOptions(profile=ns.profile, limits=limits, mode=ns.mode, code_cache=str(directory))


def _start_early(ns: argparse.Namespace) -> None:
    """The command needs exactly one runtime: an evaluator that can start it ahead (a worker process
    booting on another core) does so now, before the host loads the rest of itself."""
    from evaluators import get_evaluator

    start = getattr(get_evaluator(ns.evaluator), "start_early", None)
    if start is not None:
        start(_runtime_options(ns))


def _asyncio() -> ModuleType:
    """asyncio, loaded without its TLS support when nothing has loaded it or ssl yet: asyncio imports
    ssl (with OpenSSL's libraries, about 4 ms) for TLS connections and servers, which `modrun run`
    never opens. ssl itself stays importable: a runtime's fetch goes through urllib, which imports it
    when it needs it."""
    if "asyncio" not in sys.modules and "ssl" not in sys.modules:
        sys.modules["ssl"] = None  # type: ignore[assignment]  # `import ssl` fails: asyncio goes without TLS
        try:
            import asyncio
        finally:
            del sys.modules["ssl"]
    import asyncio

    return asyncio


def _plain(value: Any, where: str = "the result") -> Any:
    from ..rpc.exports import JSFunction, JSOpaque

    if isinstance(value, JSFunction):
        raise ModrunError(f"{where} is a function, which JSON cannot carry", name="TypeError")
    if isinstance(value, JSOpaque):
        raise ModrunError(f"{where} is a {value.type} ({value.text}), which JSON cannot carry", name="TypeError")
    if isinstance(value, dict):
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


async def _run(ns: argparse.Namespace, args: list[Any], console_stream: Any,
               held: list[Server] | None, loaded: Callable[[], None] | None = None) -> dict[str, Any]:
    from ..rpc.exports import JSFunction
    from ..server import Server

    entry = real_path(ns.entry)
    root = choose_root(entry, ns.root)
    deadline = time.monotonic() + ns.timeout if ns.timeout else None

    def on_console(level: str, text: str) -> None:
        stream = sys.stderr if level in ("warn", "error") else console_stream
        stream.write(text + "\n")
        stream.flush()

    environments = {"cli": _environment_config(ns)}
    check_entry(entry)
    server = Server(root=root, environments=environments, on_console=on_console, mode=ns.mode)
    if held is not None:
        held.append(server)  # left open for the caller, which ends the process without teardown
    try:
        environment = server.environments["cli"]
        module = await environment.import_module(entry_url(entry, root), deadline=deadline)
        if loaded is not None:
            loaded()
        result: Any = None
        if ns.call is not None:
            if ns.call not in module.exports:
                listed = ", ".join(module.exports) or "none"
                raise UsageError(f"--call {ns.call}: {module.url} has no export named {ns.call!r} (exports: {listed})")
            target = module[ns.call]
            if not isinstance(target, JSFunction):
                raise UsageError(f"--call {ns.call}: the export {ns.call!r} is not a function")
            result = await target(*args, deadline=deadline)
        outcome = {"ok": True, "result": _plain(result), "exports": sorted(module.exports)}
        # The run ends when its own work has: timers still pending are said, not silently dropped.
        _report_pending(await environment.settle(deadline=deadline))
        return outcome
    finally:
        if held is None:
            await server.close()
        else:
            server.transform_cache.flush()


def _report_pending(timers: list[PendingTimer]) -> None:
    if not timers:
        return
    count = f"{len(timers)} timer{'s' if len(timers) > 1 else ''}"
    lines = [f"modrun: the run ended with {count} pending, which did not run:"]
    for timer in timers:
        line = f"  {timer.get('kind')}({timer.get('callback')}, {timer.get('delay'):g} ms)"
        if timer.get("kind") == "setTimeout":
            line += f", due in {timer.get('remaining'):g} ms"
        if timer.get("at"):
            line += f", callback at {timer.get('at')}"
        lines.append(line)
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def command(ns: argparse.Namespace, held: list[Server] | None = None) -> int:
    """Run the command and answer its exit code. The server is closed at the end, unless `held` is
    given: then the server is appended to it, open (its transform cache flushed), for a caller that
    ends the process right away (see `main` in __init__.py)."""
    as_json = bool(ns.json)
    # Only in a process that ends with the run (`held`, see main): collections resume after the import.
    loaded = None
    if held is not None:
        loading.begin()  # (begun already where the console script runs the command)
        loaded = loading.loaded
    try:
        args = check_args(ns)
        _start_early(ns)
        asyncio = _asyncio()
        console_stream = sys.stderr if ns.json else sys.stdout
        timeout = ns.timeout + 1.0 if ns.timeout else None  # the runtime's own deadline comes first
        outcome = asyncio.run(asyncio.wait_for(_run(ns, args, console_stream, held, loaded), timeout))
    except TimeoutError:
        return report_error(LimitError("wall-time limit exceeded", limit="wall-time"), as_json)
    except ModrunError as error:
        return report_error(error, as_json)
    from ..rpc import wire

    if ns.json:
        sys.stdout.write(wire.dumps(outcome) + "\n")
    elif ns.call is not None:
        sys.stdout.write(wire.dumps(outcome["result"]) + "\n")
    sys.stdout.flush()
    return 0
