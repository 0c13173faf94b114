"""Server and environment configuration, validated up front: a bad value is a UsageError that
says which key and what was expected, never a failure deep inside a run."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from .errors import UsageError, config_mapping
from .js.profiles import DEFAULT_PROFILE, PROFILES
from .limits import Limits

MODES = ("production", "development")
#: package.json `exports` conditions by name: a profile's own set, or one chosen with `conditions`
CONDITION_SETS: dict[str, tuple[str, ...]] = {
    name: (*profile.conditions, "import", "module", "default") for name, profile in PROFILES.items()
}
#: (compiled by `re` when a define is first checked: most runs have none)
_DEFINE_KEY = r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*"
_ENVIRONMENT_KEYS = {"evaluator", "profile", "limits", "conditions", "plugins", "define", "alias", "fetch", "bindings",
                     "pool", "proxy_policy", "entry"}
#: what a module proxy does once the runtime it was imported in is replaced (runner/runtimes/lifecycle.py)
PROXY_POLICIES = ("rebind", "stale")


#: the default `define` and `alias`: read-only, so no two configs can share a mapping one of them changes
_NONE: Mapping[str, str] = MappingProxyType({})


class EnvironmentConfig(NamedTuple):  # not a dataclass: every run makes it before its runtime starts (cli/run.py)
    evaluator: str = "inprocess"
    profile: str = DEFAULT_PROFILE
    limits: Limits = Limits()
    #: extra conditions added to the profile's set
    conditions: tuple[str, ...] = ()
    #: the named set the conditions start from (None: the profile's)
    condition_set: str | None = None
    plugins: tuple[Any, ...] = ()
    define: Mapping[str, str] = _NONE
    alias: Mapping[str, str] = _NONE
    #: what the runtime's `fetch` may do (a FetchPolicy, built from a handler or {allow, handler});
    #: None: the server's default
    fetch: Any = None
    #: what JS sees as `env` (runner/capabilities/bindings.py: a Bindings, built from a mapping)
    bindings: Any = None
    #: how many runtimes `Environment.pool` keeps (runner/runtimes/pool.py)
    pool: int = 1
    #: what a module proxy does after its runtime is replaced: "rebind" to the new one, or "stale"
    proxy_policy: str = "rebind"
    #: the module whose fetch handler `Environment.dispatch_fetch` calls (runner/dispatch.py)
    entry: str | None = None

    @classmethod
    def from_config(cls, name: str, value: EnvironmentConfig | dict[str, Any] | None) -> EnvironmentConfig:
        if value is None:
            return cls()
        if isinstance(value, EnvironmentConfig):
            return value
        value = config_mapping(value, _ENVIRONMENT_KEYS, f"environment {name!r}")
        profile = value.get("profile", DEFAULT_PROFILE)
        if profile not in PROFILES:
            raise UsageError(f"environment {name!r}: unknown profile {profile!r}; available: {', '.join(PROFILES)}")
        evaluator = value.get("evaluator", "inprocess")
        if not isinstance(evaluator, str):
            raise UsageError(f"environment {name!r}: evaluator must be a name")
        condition_set, conditions = _conditions(name, value.get("conditions", ()))
        fetch = value.get("fetch")
        if fetch is not None:
            from .capabilities import FetchPolicy

            fetch = FetchPolicy.from_config(fetch, f"environment {name!r}")
        from .capabilities import Bindings

        bindings = Bindings.from_config(value.get("bindings"), f"environment {name!r}")
        pool = value.get("pool", 1)
        if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
            raise UsageError(f"environment {name!r}: pool must be a positive number of runtimes, not {pool!r}")
        proxy_policy = value.get("proxy_policy", "rebind")
        if proxy_policy not in PROXY_POLICIES:
            raise UsageError(f"environment {name!r}: proxy_policy must be one of {', '.join(PROXY_POLICIES)}, "
                             f"not {proxy_policy!r}")
        return cls(evaluator=evaluator, profile=profile, limits=Limits.from_config(value.get("limits")),
                   conditions=conditions, condition_set=condition_set, plugins=tuple(value.get("plugins", ())),
                   define=check_define(value.get("define"), f"environment {name!r}"),
                   alias=check_alias(value.get("alias"), f"environment {name!r}"), fetch=fetch,
                   bindings=bindings, pool=pool, proxy_policy=proxy_policy, entry=_entry(name, value.get("entry")))


def _entry(name: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UsageError(f"environment {name!r}: entry must be a module url such as '/src/app.js'")
    return value


def _conditions(name: str, value: Any) -> tuple[str | None, tuple[str, ...]]:
    """`conditions`: a set's name ("bare", "edge"), or a list of extra conditions, which may start
    with a set's name to build on that set instead of the profile's."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(c, str) for c in value):
        raise UsageError(f"environment {name!r}: conditions must be a list of strings or the name of a condition "
                         f"set ({', '.join(CONDITION_SETS)})")
    items = list(value)
    condition_set = items.pop(0) if items and items[0] in CONDITION_SETS else None
    return condition_set, tuple(items)


def check_define(value: Any, what: str) -> dict[str, str]:
    """`define`: identifiers or member chains (`process.env.NODE_ENV`, `import.meta.env.API`,
    `__DEV__`) to JavaScript expressions. A string value is the expression's source (as in Vite:
    `'"text"'` for a string); any other JSON value stands for itself."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"{what}: define must be a mapping of names to values")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not re.fullmatch(_DEFINE_KEY, key.replace("import.meta.", "import_meta.", 1)):
            raise UsageError(f"{what}: define key {key!r} must be an identifier or a member chain such as "
                             "process.env.NODE_ENV")
        if isinstance(item, str):
            out[key] = item
        else:
            from .rpc import wire  # not loaded before the command line has started its runtime (cli/run.py)

            try:
                out[key] = wire.dumps(item)
            except TypeError:
                raise UsageError(f"{what}: define value for {key!r} must be a string of JavaScript or a JSON "
                                 f"value, not {type(item).__name__}") from None
    return out


def check_alias(value: Any, what: str) -> dict[str, str]:
    """`alias`: specifiers (or specifier prefixes) to replacements, resolved from the root."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and k and v
                                              for k, v in value.items()):
        raise UsageError(f"{what}: alias must be a mapping of specifiers to specifiers or paths")
    return dict(value)


def resolve_conditions(config: EnvironmentConfig, mode: str) -> list[str]:
    """Conditions for package.json `exports` and `imports` when modules are imported: the set's,
    the mode, and the environment's own. Never `node`: a sandboxed runtime is not Node."""
    base = [*CONDITION_SETS[config.condition_set or config.profile], mode]
    return base + [c for c in config.conditions if c not in base and c != "node"]


def require_conditions(import_conditions: list[str]) -> list[str]:
    """The same for CommonJS `require`: `require` in place of `import`, and without the
    bundlers' `module` (Node's choice, so that a package's CommonJS code gets its CommonJS build)."""
    return [("require" if c == "import" else c) for c in import_conditions if c != "module"]


def default_define(mode: str) -> dict[str, str]:
    """What every module sees replaced: the mode, as `process.env.NODE_ENV` (so that React and
    friends choose their production builds with no `process` global) and as `import.meta.env`."""
    from .rpc import wire

    dev = "true" if mode == "development" else "false"
    prod = "false" if mode == "development" else "true"
    return {"process.env.NODE_ENV": wire.dumps(mode), "import.meta.env.MODE": wire.dumps(mode),
            "import.meta.env.DEV": dev, "import.meta.env.PROD": prod, "import.meta.env.SSR": "true"}


def default_cache_dir(root: Path) -> Path:
    """Vite keeps its cache in node_modules/.vite; ours is node_modules/.modrun, or the user's
    cache directory when the root is not writable."""
    if os.access(root, os.W_OK):
        return root / "node_modules" / ".modrun"
    import hashlib  # OpenSSL's libraries: not loaded where the root is writable, the common case

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "modrun" / hashlib.sha256(str(root).encode()).hexdigest()[:16]
