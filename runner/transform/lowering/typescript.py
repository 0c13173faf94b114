"""TypeScript's type syntax erased, in the spirit of Node's `--experimental-strip-types`: what
is only a type (annotations, type parameters and arguments, interfaces, type aliases, `declare`,
overload signatures, `as` / `satisfies` / `!`, modifiers) is replaced by spaces, so that every
line and column of the code that remains stays where it was.

Imports are elided as TypeScript and esbuild do: `import type`, `type`-marked specifiers, and
bindings never used as a value (a name that is only a type) are removed, and a declaration left
with no binding goes entirely; `export` of a name that is only a type goes too. With
`verbatim_module_syntax` only what is marked `type` is removed (TypeScript's option of that name).
A binding counts as used wherever its name appears as an identifier outside erased ranges
(shadowing is not considered: at worst a type-only import is kept).

The constructs that are not only types (enums, namespaces with values, parameter properties,
`import x = require()`, `export =`) are lowered by constructs.py; this pass tells it where they are.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

from tree_sitter import Node, QueryCursor

from .edit_list import EditList
from .grammars import query

_QUERY = """
[(type_annotation) (asserts_annotation) (type_predicate_annotation) (type_parameters) (type_arguments)
 (implements_clause)] @type
[(interface_declaration) (type_alias_declaration) (ambient_declaration) (function_signature)] @declaration
[(as_expression) (satisfies_expression)] @cast
(non_null_expression) @non_null
[(method_signature) (abstract_method_signature) (index_signature)] @member
(public_field_definition) @field
(method_definition) @method
[(required_parameter) (optional_parameter)] @parameter
(abstract_class_declaration) @abstract
(variable_declarator "!" @bang)
(import_statement) @import
(export_statement) @export
(enum_declaration) @enum
[(internal_module) (module)] @namespace
(import_alias) @alias
"""
_TYPE_DECLARATIONS = frozenset({"interface_declaration", "type_alias_declaration", "ambient_declaration",
                                "function_signature"})
_MODIFIERS = frozenset({"accessibility_modifier", "override_modifier", "readonly"})
_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$") | \
    frozenset(range(0x80, 0x100))
_VALUE_DECLARATIONS = frozenset({"function_declaration", "generator_function_declaration", "class_declaration",
                                 "abstract_class_declaration", "enum_declaration"})


@dataclass
class ImportBinding:
    local: str
    node: Node  # the specifier (or the default / namespace identifier) to erase when unused
    kind: str  # "default", "namespace" or "named"
    typed: bool = False  # marked `type`: removed whatever the options


@dataclass
class Constructs:
    """Where the non-erasable constructs are, for constructs.py (each list in source order)."""

    enums: list[Node] = field(default_factory=list)
    namespaces: list[Node] = field(default_factory=list)
    aliases: list[Node] = field(default_factory=list)  # import A = N.B
    requires: list[Node] = field(default_factory=list)  # import x = require("y")
    export_assignments: list[Node] = field(default_factory=list)  # export = x
    parameter_properties: list[tuple[Node, Node]] = field(default_factory=list)  # (constructor, parameter)


class TypeStripper:
    def __init__(self, edits: EditList, root: Node, dialect: str, *, verbatim_module_syntax: bool) -> None:
        self.edits = edits
        self.src = edits.src
        self.root = root
        self.dialect = dialect
        self.verbatim = verbatim_module_syntax
        self.constructs = Constructs()
        self.imports: list[tuple[Node, list[ImportBinding]]] = []
        self.export_clauses: list[Node] = []  # `export {…}` clauses, checked against type-only names
        self.re_export_clauses: list[Node] = []  # those of `export {…} from`
        self.type_only: set[str] = set()  # module-level names that are only types
        # Ranges erased so far by this pass (disjoint, sorted): what lies inside is not visited.
        self._erased_starts: list[int] = []
        self._erased_ends: list[int] = []

    # ---- the pass ----

    def run(self) -> Constructs:
        self._module_names()
        captures = QueryCursor(query(self.dialect, _QUERY)).captures(self.root)
        nodes: list[tuple[int, int, str, Node]] = []
        for name, found in captures.items():
            for node in found:
                nodes.append((node.start_byte, -node.end_byte, name, node))
        nodes.sort(key=lambda n: (n[0], n[1]))
        for start, _, name, node in nodes:
            i = bisect_right(self._erased_starts, start) - 1
            if i >= 0 and start < self._erased_ends[i]:
                continue  # inside something erased
            getattr(self, "_" + name)(node)
        for clause in self.export_clauses:
            self._export_clause(clause)
        return self.constructs

    def _erase(self, node: Node | tuple[int, int], *, statement: bool = False) -> None:
        start, end = (node.start_byte, node.end_byte) if isinstance(node, Node) else node
        self.edits.erase(start, end, statement=statement)
        i = bisect_right(self._erased_starts, start)
        self._erased_starts.insert(i, start)
        self._erased_ends.insert(i, end)

    def _erase_token(self, node: Node) -> None:
        self.edits.erase(node.start_byte, node.end_byte)

    # ---- module-level names: which are only types ----

    def _module_names(self) -> None:
        types: set[str] = set()
        values: set[str] = set()
        for item in self.root.named_children:
            node = item
            if item.type == "export_statement":
                node = item.child_by_field_name("declaration") or item
            if node.type == "expression_statement" and node.named_child_count:
                node = node.named_children[0]
            name = node.child_by_field_name("name")
            text = _text(name) if name is not None else None
            if node.type in ("interface_declaration", "type_alias_declaration") and text:
                types.add(text)
            elif node.type in ("internal_module", "module") and text:
                (values if is_instantiated(node) else types).add(text)
            elif node.type in _VALUE_DECLARATIONS and text:
                values.add(text)
            elif node.type in ("lexical_declaration", "variable_declaration"):
                values.update(_bound_names(node))
            elif node.type == "ambient_declaration":
                inner = node.named_children[0] if node.named_child_count else None
                if inner is not None and inner.type in ("interface_declaration", "type_alias_declaration"):
                    name = inner.child_by_field_name("name")
                    if name is not None:
                        types.add(_text(name))
            elif node.type == "import_statement":
                type_import = _child_token(node, "type") is not None
                for local, specifier in _import_locals(node):
                    if type_import or _child_token(specifier, "type") is not None:
                        types.add(local)
                    else:
                        values.add(local)
        self.type_only = types - values

    # ---- handlers, by capture name ----

    def _type(self, node: Node) -> None:
        self._erase(node)

    def _declaration(self, node: Node) -> None:
        self._erase(node, statement=True)

    def _cast(self, node: Node) -> None:
        keyword = _child_token(node, "as") or _child_token(node, "satisfies")
        if keyword is not None:
            self._erase((keyword.start_byte, node.end_byte))

    def _non_null(self, node: Node) -> None:
        bang = node.children[-1]
        if bang.type == "!":
            self._erase_token(bang)

    def _bang(self, node: Node) -> None:
        self._erase_token(node)

    def _member(self, node: Node) -> None:
        if node.parent is None or node.parent.type != "class_body":
            return
        end = node.end_byte
        following = node.next_sibling
        if following is not None and following.type == ",":
            end = following.end_byte
        self._erase((node.start_byte, end), statement=True)

    def _field(self, node: Node) -> None:
        if _child_token(node, "declare") is not None or _child_token(node, "abstract") is not None:
            self._erase(node, statement=True)
            return
        self._member_modifiers(node, ("?", "!"))

    def _method(self, node: Node) -> None:
        self._member_modifiers(node, ("?",))

    def _member_modifiers(self, node: Node, marks: tuple[str, ...]) -> None:
        """Erase a class member's modifiers and marks; an erased first modifier leaves a `;` (an
        empty class element), so that the member cannot continue the one before it
        (`x = a\n readonly [k] = 1` must not become `x = a[k] = 1`)."""
        for child in node.children:
            if child.type in _MODIFIERS:
                self.edits.erase(child.start_byte, child.end_byte, statement=child == node.children[0])
            elif child.type in marks:
                self._erase_token(child)

    def _abstract(self, node: Node) -> None:
        keyword = _child_token(node, "abstract")
        if keyword is not None:
            self._erase_token(keyword)

    def _parameter(self, node: Node) -> None:
        pattern = node.child_by_field_name("pattern")
        if pattern is not None and pattern.type == "this":
            following = node.next_sibling
            end = following.end_byte if following is not None and following.type == "," else node.end_byte
            self._erase((node.start_byte, end))
            return
        modifiers = [c for c in node.children if c.type in _MODIFIERS]
        for child in node.children:
            if child.type in _MODIFIERS or child.type == "?":
                self._erase_token(child)
        if modifiers:
            method = node.parent.parent if node.parent is not None else None
            self.constructs.parameter_properties.append((method, node))  # type: ignore[arg-type]

    def _enum(self, node: Node) -> None:
        self.constructs.enums.append(node)

    def _namespace(self, node: Node) -> None:
        name = node.child_by_field_name("name")
        if name is None or name.type == "string" or not is_instantiated(node):
            self._erase(_statement_of(node), statement=True)
            return
        self.constructs.namespaces.append(node)

    def _alias(self, node: Node) -> None:
        self.constructs.aliases.append(node)

    def _import(self, node: Node) -> None:
        if _child_token(node, "type") is not None:
            self._erase(node, statement=True)
            return
        require = next((c for c in node.named_children if c.type == "import_require_clause"), None)
        if require is not None:
            self.constructs.requires.append(node)
            return
        clause = next((c for c in node.named_children if c.type == "import_clause"), None)
        if clause is None:
            return  # `import "x"`: kept for its side effects
        bindings: list[ImportBinding] = []
        for child in clause.named_children:
            if child.type == "identifier":
                bindings.append(ImportBinding(_text(child), child, "default"))
            elif child.type == "namespace_import":
                bindings.append(ImportBinding(_text(child.named_children[-1]), child, "namespace"))
            elif child.type == "named_imports":
                for specifier in child.named_children:
                    local = specifier.child_by_field_name("alias") or specifier.child_by_field_name("name")
                    if specifier.type == "import_specifier" and local is not None:
                        typed = _child_token(specifier, "type") is not None
                        bindings.append(ImportBinding(_text(local), specifier, "named", typed))
        self.imports.append((node, bindings))

    def _export(self, node: Node) -> None:
        children = node.children
        second = children[1] if len(children) > 1 else None
        if second is not None and (second.type == "type" or (second.type == "ERROR" and _text(second) == "type")):
            self._erase(node, statement=True)  # export type {…} [from], export type * [as x] from
            return
        if second is not None and second.type == "=":
            self.constructs.export_assignments.append(node)
            return
        if second is not None and second.type == "as":
            self._erase(node, statement=True)  # export as namespace X
            return
        declaration = node.child_by_field_name("declaration")
        if declaration is not None:
            if declaration.type in _TYPE_DECLARATIONS:
                self._erase(node, statement=True)
            elif declaration.type in ("internal_module", "module") and not is_instantiated(declaration):
                self._erase(node, statement=True)
            return
        value = node.child_by_field_name("value")
        if value is not None and value.type == "identifier" and _text(value) in self.type_only and \
                node.parent is not None and node.parent.type == "program":
            self._erase(node, statement=True)  # export default SomeInterface
            return
        clause = next((c for c in node.named_children if c.type == "export_clause"), None)
        if clause is not None:
            self.export_clauses.append(clause)
            if node.child_by_field_name("source") is not None:
                self.re_export_clauses.append(clause)

    def _export_clause(self, clause: Node) -> None:
        statement = clause.parent
        assert statement is not None
        has_source = statement.child_by_field_name("source") is not None
        specifiers = [s for s in clause.named_children if s.type == "export_specifier"]
        removed = []
        for specifier in specifiers:
            name = specifier.child_by_field_name("name")
            if _child_token(specifier, "type") is not None:
                removed.append(specifier)
            elif not has_source and name is not None and _text(name) in self.type_only:
                removed.append(specifier)
        if not removed:
            return
        if len(removed) == len(specifiers) and not (self.verbatim and has_source):
            self._erase(statement, statement=True)
        else:
            self._erase_list_items(clause, removed)

    # ---- import elision ----

    def elide_imports(self, extra_uses: Iterable[str] = ()) -> None:
        """Remove import bindings marked `type`, and those never used as a value (after every other
        pass has run: JSX adds the names its output uses, e.g. `React` for the classic runtime)."""
        candidates = {b.local for _, bindings in self.imports for b in bindings if not b.typed}
        # (`export {x} from "m"` names m's export, not a local binding.)
        skip = [s for s, _ in self.imports] + [c.parent for c in self.re_export_clauses if c.parent is not None]
        used = set() if self.verbatim else self.used_names(candidates, skip)
        used |= set(extra_uses)
        for statement, bindings in self.imports:
            removed = [b for b in bindings if b.typed or (not self.verbatim and b.local not in used)]
            if not removed:
                continue
            if len(removed) == len(bindings) and not self.verbatim:
                self._erase(statement, statement=True)
                continue
            named = [b.node for b in removed if b.kind == "named"]
            if named:
                container = named[0].parent
                assert container is not None
                if self.verbatim or any(b.kind == "named" and b not in removed for b in bindings):
                    self._erase_list_items(container, named)
                else:
                    self._erase_with_comma_before(container)
            for binding in removed:
                if binding.kind == "default":
                    following = binding.node.next_sibling
                    end = following.end_byte if following is not None and following.type == "," else \
                        binding.node.end_byte
                    self._erase((binding.node.start_byte, end))
                elif binding.kind == "namespace":
                    self._erase_with_comma_before(binding.node)

    def used_names(self, names: set[str], skip: Iterable[Node] = ()) -> set[str]:
        """Which of `names` appear as an identifier outside erased ranges and `skip` nodes."""
        if not names:
            return set()
        self.edits.sort_erased()
        skipped = sorted((n.start_byte, n.end_byte) for n in skip)
        used: set[str] = set()
        root = self.root
        src = self.src
        for name in names:
            word = name.encode()
            start = src.find(word)
            while start >= 0:  # (each name only until its first use)
                end = start + len(word)
                if (start and src[start - 1] in _NAME_BYTES) or (end < len(src) and src[end] in _NAME_BYTES) or \
                        (self.edits.is_erased(start) and not _in_computed_name(root, start, end)) or \
                        any(s <= start < e for s, e in skipped):
                    start = src.find(word, end)
                    continue
                node = root.descendant_for_byte_range(start, end)
                if node is not None and node.start_byte == start and node.end_byte == end and \
                        node.type in ("identifier", "shorthand_property_identifier"):
                    used.add(name)
                    break
                start = src.find(word, end)
        return used

    # ---- list surgery ----

    def _erase_list_items(self, container: Node, removed: list[Node]) -> None:
        """Erase `removed` items of a `{a, b, c}` list and the commas that would be left over."""
        gone = {(n.start_byte, n.end_byte) for n in removed}
        children = container.children
        kept_before = False
        comma_pending = False
        for i, child in enumerate(children):
            if child.type == ",":
                later = any(c.type not in (",", "}", "{", "comment") and (c.start_byte, c.end_byte) not in gone
                            for c in children[i + 1:])
                if kept_before and not comma_pending and later:
                    comma_pending = True
                else:
                    self._erase_token(child)
                continue
            if child.type in ("{", "}", "comment"):
                continue
            if (child.start_byte, child.end_byte) in gone:
                self.edits.erase(child.start_byte, child.end_byte)
            else:
                kept_before = True
                comma_pending = False

    def _erase_with_comma_before(self, node: Node) -> None:
        """Erase `node` and the comma before it (`D, * as ns` or `D, {…}` losing its second part)."""
        previous = node.prev_sibling
        start = previous.start_byte if previous is not None and previous.type == "," else node.start_byte
        self._erase((start, node.end_byte))


def _in_computed_name(root: Node, start: int, end: int) -> bool:
    """Is [start, end) inside a computed property name (`[KEY]: T`, a value even in a type)?"""
    node: Node | None = root.descendant_for_byte_range(start, end)
    while node is not None:
        if node.type == "computed_property_name":
            return True
        node = node.parent
    return False


def is_instantiated(namespace: Node) -> bool:
    """Does a namespace hold values (TypeScript's "instantiated" namespaces), or only types?"""
    body = namespace.child_by_field_name("body")
    if body is None:
        return False
    for statement in body.named_children:
        node = statement
        if node.type == "export_statement":
            node = node.child_by_field_name("declaration") or node
        if node.type == "expression_statement" and node.named_child_count:
            node = node.named_children[0]
        if node.type in ("interface_declaration", "type_alias_declaration", "ambient_declaration", "comment",
                         "empty_statement"):
            continue
        if node.type in ("internal_module", "module") and not is_instantiated(node):
            continue
        return True
    return False


def _statement_of(node: Node) -> Node:
    """The statement a declaration stands in: itself, or its `export` / expression statement."""
    parent = node.parent
    while parent is not None and parent.type in ("export_statement", "expression_statement"):
        node, parent = parent, parent.parent
    return node


def _child_token(node: Node, kind: str) -> Node | None:
    for child in node.children:
        if child.type == kind and not child.is_named:
            return child
    return None


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "surrogatepass")


def _bound_names(declaration: Node) -> list[str]:
    """Names bound by a `let`/`const`/`var` declaration (patterns included)."""
    names = []
    for declarator in declaration.named_children:
        if declarator.type != "variable_declarator":
            continue
        name = declarator.child_by_field_name("name")
        if name is None:
            continue
        if name.type == "identifier":
            names.append(_text(name))
        else:
            names.extend(pattern_names(name))
    return names


def pattern_names(pattern: Node) -> list[str]:
    """Names bound by a destructuring pattern (default values are not searched)."""
    out: list[str] = []
    stack = [pattern]
    while stack:
        node = stack.pop()
        kind = node.type
        if kind in ("identifier", "shorthand_property_identifier_pattern"):
            out.append(_text(node))
        elif kind == "assignment_pattern" or kind == "object_assignment_pattern":
            left = node.child_by_field_name("left")
            if left is not None:
                stack.append(left)
        elif kind == "pair_pattern":
            value = node.child_by_field_name("value")
            if value is not None:
                stack.append(value)
        else:
            stack.extend(node.named_children)
    return out


def _import_locals(statement: Node) -> list[tuple[str, Node]]:
    clause = next((c for c in statement.named_children if c.type == "import_clause"), None)
    out: list[tuple[str, Node]] = []
    if clause is None:
        return out
    for child in clause.named_children:
        if child.type == "identifier":
            out.append((_text(child), child))
        elif child.type == "namespace_import":
            out.append((_text(child.named_children[-1]), child))
        elif child.type == "named_imports":
            for specifier in child.named_children:
                if specifier.type == "import_specifier":
                    local = specifier.child_by_field_name("alias") or specifier.child_by_field_name("name")
                    if local is not None:
                        out.append((_text(local), specifier))
    return out
