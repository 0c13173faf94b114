"""TypeScript and JSX files lowered to JavaScript (Vite's esbuild plugin, with the lowering of
runner/transform/lowering): .ts, .mts, .cts, .tsx and .jsx, by extension.

The JSX options come, in increasing precedence, from the defaults (automatic runtime from
`react`, development helpers in development mode), the nearest tsconfig.json, the server's `jsx`
config, and pragma comments in the file. The lowered code is kept in the transform cache.

It also resolves what TypeScript projects write: a relative `.js` (`.jsx`, `.mjs`, `.cjs`)
specifier in a TypeScript file that names a `.ts` (`.tsx`, `.mts`, `.cts`) file, when no
JavaScript file of that name exists (TypeScript's own rule for such imports, which Vite follows).
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import UsageError, config_mapping
from ..ids import file_of, split_query
from ..plugin import LoadResult, Plugin
from ..transform.lowering.options import JsxOptions, LoweringOptions
from .module_types import split_type
from .tsconfig import TsconfigReader

JSX_KEYS = {"runtime", "import_source", "factory", "fragment", "development"}
LOWERED_EXTENSIONS = (".ts", ".mts", ".cts", ".tsx", ".jsx")
TYPESCRIPT_EXTENSIONS = (".ts", ".mts", ".cts", ".tsx")
_TS_FOR_JS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}
_TSCONFIG_JSX: dict[str, dict[str, Any]] = {"react": {"runtime": "classic"}, "react-jsx": {"runtime": "automatic"},
                 "react-jsxdev": {"runtime": "automatic", "development": True}}


def jsx_config(value: Any) -> dict[str, Any]:
    """The server's `jsx` config, checked: runtime "automatic" | "classic", import_source,
    factory, fragment (strings), development (bool)."""
    if value is None:
        return {}
    config = config_mapping(value, JSX_KEYS, "jsx")
    if config.get("runtime", "automatic") not in ("automatic", "classic"):
        raise UsageError(f"jsx: runtime must be 'automatic' or 'classic', not {config['runtime']!r}")
    for key in ("import_source", "factory", "fragment"):
        if key in config and (not isinstance(config[key], str) or not config[key]):
            raise UsageError(f"jsx: {key} must be a non-empty string")
    if "development" in config and not isinstance(config["development"], bool):
        raise UsageError("jsx: development must be true or false")
    return dict(config)


class TypeScriptJsxPlugin(Plugin):
    name = "modrun:typescript-jsx"

    def __init__(self, jsx: dict[str, Any], mode: str, tsconfig: TsconfigReader) -> None:
        self.jsx = jsx
        self.mode = mode
        self.tsconfig = tsconfig

    def resolve_id(self, source: str, importer: str | None, environment: Any) -> str | None:
        if importer is None or not file_of(importer).endswith(TYPESCRIPT_EXTENSIONS):
            return None
        path, query = split_query(source)
        if not path.startswith(("./", "../")):
            return None
        base, ext = os.path.splitext(path)
        alternatives = _TS_FOR_JS.get(ext)
        if alternatives is None:
            return None
        target = os.path.normpath(os.path.join(os.path.dirname(file_of(importer)), path))
        if os.path.isfile(target):
            return None  # the JavaScript file exists: the resolver takes it as it is
        stem = target[: -len(ext)]
        for alternative in alternatives:
            if os.path.isfile(stem + alternative):
                return stem + alternative + query
        return None

    def passes(self, source: str, importer: str | None) -> bool:
        """Does resolve_id answer None? Yes for any importer but a TypeScript file
        (PluginContainer.passes_before)."""
        return importer is None or not file_of(importer).endswith(TYPESCRIPT_EXTENSIONS)

    def transform(self, code: str, id: str, environment: Any) -> LoadResult | None:
        path, module_type = split_type(id)
        file = file_of(path)
        if module_type is not None or id.startswith("\0") or not file.endswith(LOWERED_EXTENSIONS):
            return None
        from ..transform.lowering.lower import lower  # the parser loads only when a file needs lowering

        options = self._options(file)
        cache = environment.server.transform_cache
        key = cache.key(id, f"lowering\0{options!r}\0{code}")
        stored = cache.get(key)
        if stored is None:
            lowered = lower(code, file, options)
            assert lowered is not None
            stored = {"code": lowered[0], "map": lowered[1]}
            cache.put(key, stored)
        return LoadResult(stored["code"], stored["map"])

    def _options(self, file: str) -> LoweringOptions:
        tsconfig = self.tsconfig.options_for(file)
        settings: dict[str, Any] = {"development": self.mode == "development"}
        settings.update(_TSCONFIG_JSX.get(tsconfig.get("jsx", ""), {}))
        for option, key in (("jsxFactory", "factory"), ("jsxFragmentFactory", "fragment"),
                            ("jsxImportSource", "import_source")):
            if isinstance(tsconfig.get(option), str):
                settings[key] = tsconfig[option]
        settings.update(self.jsx)
        return LoweringOptions(jsx=JsxOptions(**settings),
                       verbatim_module_syntax=tsconfig.get("verbatimModuleSyntax") is True)
