"""Plugins: objects with optional hooks, in the manner of Vite's (Rollup's) plugin API.

Hooks may be plain functions or coroutines; each gets the environment it runs for:
- `resolve_id(source, importer, environment[, options]) -> str | None` — the first non-None id
  wins; a hook that takes `options` gets `{"kind": "import" | "require"}` (a CommonJS `require`
  resolves with the require conditions);
- `load(id, environment) -> str | {"code", "map"} | None` — the first non-None wins;
- `transform(code, id, environment) -> str | {"code", "map"} | None` — every plugin, in order;
- `hot_update(ctx) -> list[ModuleNode] | None` — when a file changes, per environment, in order
  (runner/hmr/hot_update.py says what `ctx` holds and what the answer means).
`apply(environment) -> bool` says whether the plugin takes part in an environment at all, and
`enforce` ("pre" / "post") places it before or after the normal ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from .environment import Environment


class Plugin:
    name: str = "plugin"
    enforce: Literal["pre", "post"] | None = None

    def apply(self, environment: Environment) -> bool:
        return True


class LoadResult(NamedTuple):  # not a dataclass: every run makes this class, and a dataclass costs a compile
    """What `load` and `transform` hooks give back, normalised."""

    code: str
    map: dict[str, Any] | None = None

    @classmethod
    def coerce(cls, value: Any, hook: str, plugin: str) -> LoadResult:
        if isinstance(value, LoadResult):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict) and isinstance(value.get("code"), str):
            map_ = value.get("map")
            return cls(value["code"], map_ if isinstance(map_, dict) else None)
        raise TypeError(f"plugin {plugin!r} {hook} returned {type(value).__name__}; "
                        "expected a string or {'code': str, 'map': dict}")
