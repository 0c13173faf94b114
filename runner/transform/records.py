"""The runner-format transform's results: plain Python classes, never compiled (runner/transform/compiled.py),
so that they are the same objects whether the transform that builds them is compiled or not, and are built
without the frozen dataclass's slow `__init__`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class ImportRecord:
    """One static import declaration or `export … from`, in source order."""

    specifier: str
    imported_names: list[str]  # "default" for a default import; the namespace is not a name
    namespace: bool  # needs the whole namespace: `import * as`, `export * from`, `export * as`
    attributes: dict[str, str]
    line: int  # of the specifier string, 1-based
    column: int  # 1-based, in characters


@dataclass(frozen=True)
class ExportRecord:
    kind: Literal["local", "indirect"]
    local: str | None = None  # local: the binding (`__vite_ssr_export_default__` for default exprs)
    constant: bool = False  # local: the binding is never reassigned after its declaration
    hoisted_var: bool = False  # local: a `var`, which is undefined (not in a TDZ) before the module runs
    specifier: str | None = None  # indirect: the module it comes from
    import_name: str | None = None  # indirect: its name there; "*" is the namespace object


@dataclass(frozen=True)
class TransformResult:
    code: str
    map: dict[str, Any]
    deps: list[str] = field(default_factory=list)
    dynamic_deps: list[str] = field(default_factory=list)
    imports: list[ImportRecord] = field(default_factory=list)
    exports: dict[str, ExportRecord] = field(default_factory=dict)
    star_exports: list[str] = field(default_factory=list)
    has_tla: bool = False


_new_object = object.__new__


def export_record(kind: Literal["local", "indirect"], local: str | None = None, constant: bool = False,
                  specifier: str | None = None, import_name: str | None = None,
                  hoisted_var: bool = False) -> ExportRecord:
    """`ExportRecord(...)` without the frozen dataclass's slow `__init__` (same object)."""
    record = _new_object(ExportRecord)
    record.__dict__.update(kind=kind, local=local, constant=constant, hoisted_var=hoisted_var, specifier=specifier,
                           import_name=import_name)
    return record


def import_record(specifier: str, imported_names: list[str], namespace: bool, attributes: dict[str, str],
                  line: int, column: int) -> ImportRecord:
    """`ImportRecord(...)`, likewise."""
    record = _new_object(ImportRecord)
    record.__dict__.update(specifier=specifier, imported_names=imported_names, namespace=namespace,
                           attributes=attributes, line=line, column=column)
    return record
