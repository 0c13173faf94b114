"""Runs an environment's plugins, hook by hook, in Vite's order (pre, normal, post)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import LoadError, ModrunError
from .plugin import LoadResult
from .transform.sourcemap import compose

if TYPE_CHECKING:
    from .environment import Environment


#: what hooks answer when they answer at once: never awaited
_PLAIN = (str, dict, LoadResult)


def _pending(result: Any, is_async: bool) -> bool:
    """Must a hook's answer be awaited? Always for a coroutine function (known when the container is
    built); for a plain function only when it hands back an awaitable, checked only for answers that
    are not plain values. Hooks are called inline, not through a coroutine of ours: a warm module
    passes through a dozen of them."""
    return is_async or (result is not None and not isinstance(result, _PLAIN) and inspect.isawaitable(result))


def _hooks(plugins: list[Any], name: str) -> list[tuple[Any, Any, bool]]:
    """(plugin, its hook, is the hook a coroutine function) for the plugins that have the hook:
    looked up once, so that dispatch costs no attribute lookups or inspection per module."""
    out = []
    for plugin in plugins:
        hook = getattr(plugin, name, None)
        if hook is not None:
            out.append((plugin, hook, inspect.iscoroutinefunction(hook)))
    return out


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
        self._resolvers = [(plugin, hook, is_async, _takes_options(hook))
                           for plugin, hook, is_async in _hooks(self.plugins, "resolve_id")]
        self._loaders = _hooks(self.plugins, "load")
        #: does every load hook answer None for a file's plain id (not `\0…`, no type query)? modrun's own
        #: plugins' do (their LOADS_ONLY_OWN_IDS); a user's plugin's may answer for any id
        #: (Environment.kept_answer then leaves each module to fetch_module)
        self.files_load_as_read = all(_loads_only_own_ids(plugin) for plugin, _, _ in self._loaders)
        self._transformers = _hooks(self.plugins, "transform")
        self.hot_updaters = [p for p in self.plugins if hasattr(p, "hot_update")]

    def passes_before(self, resolver: Any) -> list[Callable[[str, str | None], bool]] | None:
        """The `passes(source, importer)` of each plugin whose resolve_id runs before `resolver`'s: a
        built-in plugin's word that its hook answers None for a specifier, known without looking at
        files. None where a plugin before it has no such word (a user's plugin, or a subclass that
        overrides resolve_id but not passes): that one sees every resolution, and nothing goes past it."""
        passes: list[Callable[[str, str | None], bool]] = []
        for plugin, _, _, _ in self._resolvers:
            if plugin is resolver:
                return passes
            if not _answers_for_its_hook(plugin):
                return None
            passes.append(plugin.passes)
        return None

    def resolve_only(self, resolver: Any, source: str, importer: str | None, kind: str) -> str | None:
        """`resolver`'s resolve_id alone (a plain function), its failures reported as resolve_id reports
        them: for a resolution every plugin before it passes (passes_before)."""
        try:
            result = resolver.resolve_id(source, importer, self.environment, {"kind": kind})
        except Exception as error:
            raise self._failure(resolver, "resolve_id", error, source) from None
        return None if result is None else str(result)

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
        environment = self.environment
        for plugin, hook, is_async, takes_options in self._resolvers:
            try:
                result = hook(source, importer, environment, options) if takes_options else \
                    hook(source, importer, environment)
                if _pending(result, is_async):
                    result = await result
            except Exception as error:
                raise self._failure(plugin, "resolve_id", error, source) from None
            if result is not None:
                return str(result)
        return None

    async def load(self, id: str) -> LoadResult | None:
        for plugin, hook, is_async in self._loaders:
            try:
                result = hook(id, self.environment)
                if _pending(result, is_async):
                    result = await result
                if result is not None:
                    return LoadResult.coerce(result, "load", getattr(plugin, "name", "?"))
            except Exception as error:
                raise self._failure(plugin, "load", error, id) from None
        return None

    async def transform(self, loaded: LoadResult, id: str) -> LoadResult:
        code, map_ = loaded.code, loaded.map
        for plugin, hook, is_async in self._transformers:
            try:
                result = hook(code, id, self.environment)
                if _pending(result, is_async):
                    result = await result
                if result is None:
                    continue
                step = LoadResult.coerce(result, "transform", getattr(plugin, "name", "?"))
            except Exception as error:
                raise self._failure(plugin, "transform", error, id) from None
            code = step.code
            if step.map is not None:
                map_ = compose(step.map, map_) if map_ is not None else step.map
        return LoadResult(code, map_)


def _loads_only_own_ids(plugin: Any) -> bool:
    """Whether the class that defines `plugin`'s load hook says that it answers only for ids of its own
    (LOADS_ONLY_OWN_IDS): a subclass that changes the hook cannot inherit a word given for another."""
    for cls in type(plugin).__mro__:
        if "load" in cls.__dict__:
            return cls.__dict__.get("LOADS_ONLY_OWN_IDS") is True
    return False


def _answers_for_its_hook(plugin: Any) -> bool:
    """Whether the class that defines `plugin`'s resolve_id defines its `passes` too: a subclass that
    changes resolve_id cannot inherit a word given for another hook."""
    for cls in type(plugin).__mro__:
        if "resolve_id" in cls.__dict__:
            return "passes" in cls.__dict__
    return False
