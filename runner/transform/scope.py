"""The scopes, bindings and references of an ES module: what scope analysis answers (the walk
that builds them is in walker.py).

Offsets are byte offsets into the UTF-8 source, as tree-sitter reports them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from tree_sitter import Node

# Reference flags.
READ = 1
WRITE = 2
CALLEE = 4  # the callee of a call or the tag of a tagged template (through parentheses)
SHORTHAND = 8  # `{x}` in an object literal, or in a destructuring assignment target
TYPEOF = 16  # the operand of `typeof`

# Function contexts, for `await` (the innermost function, arrows included).
AWAIT_MODULE, AWAIT_ASYNC, AWAIT_SYNC, AWAIT_NONE = 0, 1, 2, 3
# ... and for `this`, `arguments`, `new.target`, `super` (arrows are transparent).
THIS_MODULE, THIS_FUNCTION, THIS_METHOD = 0, 1, 2


class Binding:
    """One declared name. `writes` counts assignments seen anywhere (filled in by resolution)."""

    __slots__ = ("name", "kind", "start", "scope", "writes", "inits")

    def __init__(self, name: str, kind: str, start: int, scope: Scope) -> None:
        self.name = name
        self.kind = kind  # var let const class function import param catch self arguments
        self.start = start
        self.scope = scope
        self.writes = 0
        self.inits = 0

    def __repr__(self) -> str:
        return f"Binding({self.name!r}, {self.kind!r}, {self.start})"


class Scope:
    __slots__ = ("kind", "parent", "bindings", "var_scope")

    def __init__(self, kind: str, parent: Scope | None) -> None:
        self.kind = kind  # module function body block catch class name
        self.parent = parent
        self.bindings: dict[str, Binding] = {}
        # Where `var` declarations land: the nearest function body, static block or module.
        self.var_scope: Scope = self if kind in ("module", "body") or parent is None else parent.var_scope


class Reference(NamedTuple):
    name: str
    scope: Scope
    start: int
    end: int
    flags: int


class Declaration(NamedTuple):
    """A declaration of the module scope (duplicates kept, for early errors)."""

    name: str
    kind: str  # import let const class function var
    start: int
    end: int


class DynamicImport(NamedTuple):
    start: int  # the call
    end: int
    import_end: int  # end of the `import` keyword
    specifier: str | None  # when the first argument is a plain string literal


@dataclass
class ScopeAnalysis:
    module: Scope
    references: list[Reference]
    declarations: list[Declaration]  # module scope, in source order
    items: list[Node]  # top-level import and export statements, in source order
    import_meta: list[tuple[int, int]]
    dynamic_imports: list[DynamicImport]
    misplaced: list[tuple[int, str]]  # (offset, code) of context-dependent syntax errors
    top_level_await: int | None  # offset of the first top-level `await` / `for await`
    uses_eval: bool  # a direct `eval(...)` call exists
    comments: list[tuple[int, int]]  # (start, end) of the comments met

    def resolve(self, ref: Reference) -> Binding | None:
        """The binding `ref` denotes, or None for a global."""
        name = ref.name
        scope: Scope | None = ref.scope
        while scope is not None:
            b = scope.bindings.get(name)
            if b is not None:
                return b
            scope = scope.parent
        return None

    def module_references(self) -> Iterator[tuple[Reference, Binding]]:
        """References that resolve to a module-scope binding (shadowed ones are skipped)."""
        module = self.module
        names = module.bindings
        resolve = self.resolve
        for ref in self.references:
            if ref.name in names:
                b = names[ref.name] if ref.scope is module else resolve(ref)
                if b is not None and b.scope is module:
                    yield ref, b

    def global_references(self, name: str) -> Iterator[Reference]:
        """References to `name` that resolve to no declaration at all."""
        for ref in self.references:
            if ref.name == name and self.resolve(ref) is None:
                yield ref

    def count_writes(self) -> None:
        """Fill `Binding.writes` from the write references."""
        for ref in self.references:
            if ref.flags & WRITE:
                b = self.resolve(ref)
                if b is not None:
                    b.writes += 1

