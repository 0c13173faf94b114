"""The server: the config, the plugin list, the environments, the transform cache.

    async with Server(root="app", environments={"ssr": {"limits": {"cpu_ms": 50}}}) as server:
        mod = await server.environments["ssr"].import_module("/src/entry.js")
        html = await mod.render("/")

`fetch` is what the runtimes' `fetch()` may do (a handler, or `{"allow": [origins], "handler": …}`),
for environments that do not say; by default it is denied.

`SyncServer` (sync.py) is the same for hosts that do not run asyncio.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .capabilities import FetchPolicy
from .config import MODES, EnvironmentConfig, check_alias, check_define
from .environment import Environment
from .errors import UsageError
from .plugins import VirtualModules
from .plugins.tsconfig import TsconfigReader
from .plugins.typescript_jsx import jsx_config
from .rpc.client import ConsoleSink
from .transform_cache import TransformCache, default_cache_dir

DEFAULT_ENVIRONMENT = "ssr"


class Server:
    def __init__(self, root: str | Path = ".", environments: dict[str, Any] | None = None, *,
                 plugins: Iterable[Any] = (), mode: str = "production",
                 virtual_modules: dict[str, Any] | None = None, cache_dir: str | Path | None | bool = None,
                 on_console: ConsoleSink | None = None, jsx: dict[str, Any] | None = None,
                 define: dict[str, Any] | None = None, alias: dict[str, str] | None = None,
                 fetch: Any = None) -> None:
        root_path = Path(root).resolve()
        if not root_path.is_dir():
            raise UsageError(f"root {root_path} is not a directory")
        if mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.root = root_path
        self.mode = mode
        #: constants replaced in every environment's modules (each environment may add its own)
        self.define = check_define(define, "server")
        #: specifiers replaced in every environment (each environment may add its own)
        self.alias = check_alias(alias, "server")
        self.on_console = on_console
        # How .jsx and .tsx files are lowered (see runner/plugins/typescript_jsx.py), over tsconfig.json.
        self.jsx = jsx_config(jsx)
        self.tsconfig = TsconfigReader(root_path)
        #: what runtimes' `fetch` does where an environment does not say (runner/capabilities/fetch.py):
        #: denied unless a handler serves it or its origin is allowed
        self.fetch = FetchPolicy.from_config(fetch, "server")
        self.plugins: list[Any] = list(plugins)
        if virtual_modules:
            self.plugins.insert(0, VirtualModules(virtual_modules))
        if cache_dir is False:
            directory = None
        elif cache_dir is None or cache_dir is True:
            directory = default_cache_dir(root_path)
        else:
            directory = Path(cache_dir)
        self.transform_cache = TransformCache(directory)
        configs = environments if environments is not None else {DEFAULT_ENVIRONMENT: {}}
        if not isinstance(configs, dict) or not configs:
            raise UsageError("environments must be a non-empty mapping of name to config")
        self.environments: dict[str, Environment] = {
            name: Environment(name, EnvironmentConfig.from_config(name, config), self)
            for name, config in configs.items()
        }

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        for environment in self.environments.values():
            await environment.close()
        self.transform_cache.close()
