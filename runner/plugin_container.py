"""Runs an environment's plugins, hook by hook, in Vite's order (pre, normal, post)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from .errors import LoadError, ModrunError
from .plugin import LoadResult
from .transform.sourcemap import compose

if TYPE_CHECKING:
    from .environment import Environment


async def _call(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _takes_options(hook: Any) -> bool:
    """Does a resolve_id hook take the optional fourth parameter (Vite's resolve options)?"""
    try:
        parameters = list(inspect.signature(hook).parameters.values())
    except (TypeError, ValueError):
        return False
    return any(p.kind == p.VAR_POSITIONAL for p in parameters) or len(parameters) >= 4


def _order(plugins: list[Any]) -> list[Any]:
    rank = {"pre": 0, None: 1, "post": 2}
    return sorted(plugins, key=lambda p: rank.get(getattr(p, "enforce", None), 1))


class PluginContainer:
    def __init__(self, environment: Environment, plugins: list[Any]) -> None:
        self.environment = environment
        self.plugins = [p for p in _order(plugins)
                        if getattr(p, "apply", None) is None or p.apply(environment)]
        self._resolvers = [(p, _takes_options(p.resolve_id)) for p in self.plugins if hasattr(p, "resolve_id")]
        self._loaders = [p for p in self.plugins if hasattr(p, "load")]
        self._transformers = [p for p in self.plugins if hasattr(p, "transform")]
        self.hot_updaters = [p for p in self.plugins if hasattr(p, "hot_update")]

    def _failure(self, plugin: Any, hook: str, error: Exception, id: str) -> LoadError:
        name = getattr(plugin, "name", type(plugin).__name__)
        if isinstance(error, LoadError):
            if error.plugin is None:
                error.plugin = name
                error.extra["plugin"] = name
            return error
        message = error.message if isinstance(error, ModrunError) else f"{type(error).__name__}: {error}"
        return LoadError(f"[plugin {name}] {hook} failed for {id}: {message}", code="ERR_PLUGIN",
                         plugin=name, id=id)

    async def resolve_id(self, source: str, importer: str | None, kind: str = "import") -> str | None:
        """The first id a plugin gives; `kind` ("import" or "require") reaches the hooks that take a
        fourth `options` parameter as `options["kind"]`."""
        options = {"kind": kind}
        for plugin, takes_options in self._resolvers:
            try:
                hook = plugin.resolve_id
                call = hook(source, importer, self.environment, options) if takes_options else \
                    hook(source, importer, self.environment)
                result = await _call(call)
            except Exception as error:
                raise self._failure(plugin, "resolve_id", error, source) from None
            if result is not None:
                return str(result)
        return None

    async def load(self, id: str) -> LoadResult | None:
        for plugin in self._loaders:
            try:
                result = await _call(plugin.load(id, self.environment))
                if result is not None:
                    return LoadResult.coerce(result, "load", getattr(plugin, "name", "?"))
            except Exception as error:
                raise self._failure(plugin, "load", error, id) from None
        return None

    async def transform(self, loaded: LoadResult, id: str) -> LoadResult:
        code, map_ = loaded.code, loaded.map
        for plugin in self._transformers:
            try:
                result = await _call(plugin.transform(code, id, self.environment))
                if result is None:
                    continue
                step = LoadResult.coerce(result, "transform", getattr(plugin, "name", "?"))
            except Exception as error:
                raise self._failure(plugin, "transform", error, id) from None
            code = step.code
            if step.map is not None:
                map_ = compose(step.map, map_) if map_ is not None else step.map
        return LoadResult(code, map_)
