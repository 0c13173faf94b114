"""Node's built-in modules. A sandboxed runtime has none: importing one is a load error that says
so, unless the user points the name at a module of their own (an `alias`, or a plugin's
`resolve_id`). A bare built-in name that a package in node_modules provides (`events`,
`buffer`, `punycode`…) resolves to that package, as bundlers do; a `node:` specifier never does."""

from __future__ import annotations

from ..errors import LoadError

# Node 20's `require("module").builtinModules`, without the internal `_…` names.
BUILTINS = frozenset(
    "assert assert/strict async_hooks buffer child_process cluster console constants crypto dgram "
    "diagnostics_channel dns dns/promises domain events fs fs/promises http http2 https inspector "
    "inspector/promises module net os path path/posix path/win32 perf_hooks process punycode querystring "
    "readline readline/promises repl stream stream/consumers stream/promises stream/web string_decoder sys "
    "timers timers/promises tls trace_events tty url util util/types v8 vm wasi worker_threads zlib "
    "test sqlite sea".split())


def builtin_name(source: str) -> str | None:
    """The built-in a specifier names (`fs` for both `fs` and `node:fs`), or None."""
    if source.startswith("node:"):
        return source[5:]
    return source if source in BUILTINS else None


def builtin_error(source: str, importer: str | None, profile: str, verb: str = "imported") -> LoadError:
    name = builtin_name(source) or source
    return LoadError(
        f"'{source}' is a Node.js built-in module, which the {profile} profile does not provide: use Web APIs instead"
        + (f" ({verb} from {importer})" if importer else "") +
        f"; to provide one of your own, point '{name}' at it with the `alias` option or a plugin's resolve_id",
        code="ERR_NODE_BUILTIN", importer=importer, id=source)
