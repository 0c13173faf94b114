"""What a lowering pass can be told (kept apart from the passes, which load the parser)."""

from __future__ import annotations

from typing import NamedTuple


class JsxOptions(NamedTuple):  # not a dataclass: every run makes these classes, and a dataclass costs a compile
    runtime: str = "automatic"  # or "classic"
    import_source: str = "react"  # automatic: <import_source>/jsx-runtime
    factory: str = "React.createElement"  # classic
    fragment: str = "React.Fragment"  # classic
    development: bool = False  # automatic: jsxDEV with source positions


class LoweringOptions(NamedTuple):
    jsx: JsxOptions = JsxOptions()  # immutable: one instance serves as every default
    verbatim_module_syntax: bool = False  # TypeScript's option: elide only what is marked `type`
