"""What a lowering pass can be told (kept apart from the passes, which load the parser)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class JsxOptions:
    runtime: str = "automatic"  # or "classic"
    import_source: str = "react"  # automatic: <import_source>/jsx-runtime
    factory: str = "React.createElement"  # classic
    fragment: str = "React.Fragment"  # classic
    development: bool = False  # automatic: jsxDEV with source positions


@dataclass(frozen=True)
class LoweringOptions:
    jsx: JsxOptions = field(default_factory=JsxOptions)
    verbatim_module_syntax: bool = False  # TypeScript's option: elide only what is marked `type`
