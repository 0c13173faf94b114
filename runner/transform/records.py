"""The runner-format transform's results: plain Python classes, never compiled (runner/transform/compiled.py),
so that they are the same objects whether the transform that builds them is compiled or not.

Named tuples, not frozen dataclasses: every process that transforms makes these classes, and a dataclass
compiles its methods from text as it is made (about 3 ms for the three, on a cold run's path to its first
transform); a named tuple is made in a tenth of that, and built faster too."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple


class ImportRecord(NamedTuple):
    """One static import declaration or `export … from`, in source order."""

    specifier: str
    imported_names: list[str]  # "default" for a default import; the namespace is not a name
    namespace: bool  # needs the whole namespace: `import * as`, `export * from`, `export * as`
    attributes: dict[str, str]
    line: int  # of the specifier string, 1-based
    column: int  # 1-based, in characters


class ExportRecord(NamedTuple):
    kind: Literal["local", "indirect"]
    local: str | None = None  # local: the binding (`__vite_ssr_export_default__` for default exprs)
    constant: bool = False  # local: the binding is never reassigned after its declaration
    hoisted_var: bool = False  # local: a `var`, which is undefined (not in a TDZ) before the module runs
    specifier: str | None = None  # indirect: the module it comes from
    import_name: str | None = None  # indirect: its name there; "*" is the namespace object


class TransformResult(NamedTuple):
    code: str
    map: dict[str, Any]
    deps: list[str]
    dynamic_deps: list[str]
    imports: list[ImportRecord]
    exports: dict[str, ExportRecord]
    star_exports: list[str]
    has_tla: bool
