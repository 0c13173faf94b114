"""Scope analysis of an ES module over its tree-sitter tree, in one walk.

The walk builds the scope chain (module, function parameters and bodies with `var` hoisting,
blocks, catch clauses, class bodies, the own-name scopes of function and class expressions,
loop heads, switch case blocks), declares every binding, and records every identifier
reference with the scope it occurs in; member and key names, labels, method and field names,
import/export specifiers and `meta` of `import.meta` are not references. References are
resolved after the walk, so hoisted declarations seen later still shadow
(`ScopeAnalysis.module_references` answers which references denote a module-scope binding).

The walk also notes the function context of constructs whose validity depends on it (`await`,
`return`, `new.target`, `super`, ...) for the early errors. Statements, declarations, functions
and classes are handled here, expressions in expressions.py; what the walk may leave out is
decided by its sieve (sieve.py).
"""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from . import expressions
from .entries import ModuleEntries, identifier_name
from .expressions import K_IDENTIFIER, await_at, target
from .parser import (
    F_ALIAS,
    F_BODY,
    F_DECLARATION,
    F_KEY,
    F_KIND,
    F_LEFT,
    F_NAME,
    F_PARAMETER,
    F_PARAMETERS,
    F_PROPERTY,
    F_RIGHT,
    F_VALUE,
    named_kind_ids,
)
from .scope import (
    AWAIT_ASYNC,
    AWAIT_MODULE,
    AWAIT_NONE,
    AWAIT_SYNC,
    THIS_FUNCTION,
    THIS_METHOD,
    THIS_MODULE,
    WRITE,
    Binding,
    Declaration,
    DynamicImport,
    Reference,
    Scope,
    ScopeAnalysis,
)
from .sieve import ALWAYS_WATCHED, Sieve, marked, maybe_jsx

_K_DECLARATOR = named_kind_ids("variable_declarator")
# (Never quiet at the top level: each has a word of the sieve's top-level watched words.)
_K_TOP_DECLARATIONS = named_kind_ids("lexical_declaration", "variable_declaration", "function_declaration",
                                     "generator_function_declaration", "class_declaration")
_K_HTML_COMMENT = named_kind_ids("html_comment")
_new_tuple = tuple.__new__  # builds NamedTuples without their Python-level __new__


class Walker(Sieve):
    """One recursive pass; handlers are keyed by node kind id."""

    def __init__(self, src: bytes, watched: frozenset[bytes] | None = None,
                 written: frozenset[bytes] = frozenset()) -> None:
        super().__init__(src, watched, written)
        self.module = Scope("module", None)
        self.unused = Binding("", "unused", -1, self.module)  # stands for bindings not kept
        self.scope = self.module
        self.await_ctx = AWAIT_MODULE
        self.this_ctx = THIS_MODULE
        self.refs: list[Reference] = []
        self.decls: list[Declaration] = []
        self.items: list[Node] = []
        self.import_meta: list[tuple[int, int]] = []
        self.dynamic_imports: list[DynamicImport] = []
        self.misplaced: list[tuple[int, str]] = []
        self.tla: int | None = None
        self.uses_eval = False
        self.comments: list[tuple[int, int]] = []
        self.names: dict[bytes, str] = {}
        self.fields: dict[int, tuple[Node | None, Node | None, bool]] | None = None  # see ModuleEntries
        self.import_locals: dict[int, list[tuple[int, int]]] | None = None

    # --- plumbing ---------------------------------------------------------------------------

    def visit(self, node: Node) -> None:
        fn = _HANDLERS.get(node.kind_id)
        if fn is not None:
            fn(self, node)
        elif node.named_child_count:
            self.children(node)

    def children(self, node: Node) -> None:
        handlers = _HANDLERS
        for child in node.named_children:
            fn = handlers.get(child.kind_id)
            if fn is None:
                if child.named_child_count:
                    self.children(child)
            elif fn is not _skip:
                fn(self, child)

    def statements(self, node: Node) -> None:
        """The statements of a block or body, leaving out those `quiet` allows to."""
        watched = self.watched
        if watched is None:
            self.children(node)
            return
        if self.scope.var_scope is self.module:
            # `var` (and sloppy-looking function declarations) can land in the module scope.
            watched = self.watched_top
        handlers = _HANDLERS
        marks = self.marks
        quiet = self.quiet_range
        for child in node.named_children:
            start = child.start_byte
            end = child.end_byte
            if end - start > 8 and (not marks or not marked(marks, start, end)) and quiet(start, end, watched):
                continue
            fn = handlers.get(child.kind_id)
            if fn is None:
                if child.named_child_count:
                    self.children(child)
            elif fn is not _skip:
                fn(self, child)

    def children_but(self, node: Node, excluded: Node | None) -> None:
        """`children`, but for one (which the caller handles itself)."""
        handlers = _HANDLERS
        for child in node.named_children:
            if child != excluded:
                fn = handlers.get(child.kind_id)
                if fn is None:
                    if child.named_child_count:
                        self.children(child)
                elif fn is not _skip:
                    fn(self, child)

    def skip(self, node: Node) -> None:
        pass

    def name_of(self, node: Node) -> str:
        raw = self.src[node.start_byte:node.end_byte]
        name = self.names.get(raw)
        if name is None:
            name = self.names[raw] = identifier_name(raw.decode("utf-8", "surrogatepass"))
        return name

    def declare(self, node: Node, kind: str, scope: Scope | None = None) -> Binding:
        if scope is None:
            scope = self.scope
        if kind == "var":
            scope = scope.var_scope
        start = node.start_byte
        end = node.end_byte
        raw = self.src[start:end]
        if scope is not self.module:
            if self.watched is not None and raw not in self.kept and 92 not in raw:
                # Cannot shadow anything that matters (nor be `await`): see `analyze`.
                return self.unused
        name = self.names.get(raw)
        if name is None:
            name = self.names[raw] = identifier_name(raw.decode("utf-8", "surrogatepass"))
        if name == "await":
            self.misplaced.append((start, "await-identifier"))
        bindings = scope.bindings
        b = bindings.get(name)
        if b is None or (kind != "var" and kind != "param" and b.kind in ("var", "param", "arguments")):
            b = bindings[name] = Binding(name, kind, start, scope)
        if scope is self.module:
            self.decls.append(_new_tuple(Declaration, (name, kind, start, end)))
        return b

    def push(self, kind: str) -> Scope:
        outer = self.scope
        self.scope = Scope(kind, outer)
        return outer

    # --- statements -------------------------------------------------------------------------

    def program(self, root: Node) -> None:
        handlers = _HANDLERS
        watched = self.watched_top if self.watched is not None else None
        marks = self.marks
        for child in root.named_children:
            t = child.type
            if t == "import_statement":
                self.items.append(child)
                self.import_statement(child)
            elif t == "export_statement":
                self.items.append(child)
                self.export_statement(child)
            else:
                kind = child.kind_id
                if watched is not None and kind not in _K_TOP_DECLARATIONS:
                    start = child.start_byte
                    end = child.end_byte
                    if end - start > 8 and (not marks or not marked(marks, start, end)) and \
                            self.quiet_range(start, end, watched):
                        continue
                fn = handlers.get(kind)
                if fn is None:
                    if child.named_child_count:
                        self.children(child)
                elif fn is not _skip:
                    fn(self, child)

    def block(self, node: Node) -> None:
        outer = self.push("block")
        self.statements(node)
        self.scope = outer

    def var_declaration(self, node: Node) -> None:
        self.declarators(node, "var")

    def lexical_declaration(self, node: Node) -> None:
        kind_node = node.child_by_field_id(F_KIND)
        self.declarators(node, "let" if kind_node is not None and kind_node.type == "let" else "const")

    def declarators(self, node: Node, kind: str) -> None:
        handlers = _HANDLERS
        for decl in node.named_children:
            if decl.kind_id not in _K_DECLARATOR:
                self.visit(decl)
                continue
            name = decl.child_by_field_id(F_NAME)
            value = decl.child_by_field_id(F_VALUE)
            if name is not None:
                if name.kind_id in K_IDENTIFIER:  # (what `pattern` does with one)
                    b = self.declare(name, kind)
                    if value is not None:
                        b.inits += 1
                else:
                    self.pattern(name, kind, value is not None)
            if value is not None:
                fn = handlers.get(value.kind_id)
                if fn is None:
                    if value.named_child_count:
                        self.children(value)
                elif fn is not _skip:
                    fn(self, value)

    def function_declaration(self, node: Node) -> None:
        name = node.child_by_field_id(F_NAME)
        if name is not None:
            kind = "function" if self.scope.kind in ("module", "body") else "let"
            self.declare(name, kind)
        if not self.quiet(node, name):
            self.function(node, arrow=False, method=False)

    def class_declaration(self, node: Node) -> None:
        name = node.child_by_field_id(F_NAME)
        if name is not None:
            self.declare(name, "class")
        self.class_(node, name)

    def for_statement(self, node: Node) -> None:
        outer = self.push("block")
        self.children(node)
        self.scope = outer

    def for_in_statement(self, node: Node) -> None:
        second = node.child(1)
        if second is not None and second.type == "await":
            await_at(self, node.start_byte)
        outer = self.push("block")
        kind_node = node.child_by_field_id(F_KIND)
        left = node.child_by_field_id(F_LEFT)
        if left is not None:
            if kind_node is None:
                target(self, left, WRITE)
            else:
                kind = kind_node.type
                self.pattern(left, kind if kind in ("var", "let") else "const", False)
                if kind == "var":
                    # A `var` loop head is assigned on every iteration.
                    target(self, left, WRITE, declare_only=True)
        for field in (F_VALUE, F_RIGHT, F_BODY):
            child = node.child_by_field_id(field)
            if child is not None:
                self.visit(child)
        self.scope = outer

    def catch_clause(self, node: Node) -> None:
        outer = self.push("catch")
        param = node.child_by_field_id(F_PARAMETER)
        if param is not None:
            self.pattern(param, "catch", False)
        body = node.child_by_field_id(F_BODY)
        if body is not None:
            self.statements(body)  # the body shares the catch scope
        self.scope = outer

    def switch_statement(self, node: Node) -> None:
        value = node.child_by_field_id(F_VALUE)
        if value is not None:
            self.visit(value)
        body = node.child_by_field_id(F_BODY)
        if body is not None:
            outer = self.push("block")  # one scope for the whole case block
            self.children(body)
            self.scope = outer

    def label(self, node: Node) -> None:
        if self.name_of(node) == "await":
            self.misplaced.append((node.start_byte, "await-identifier"))

    def return_statement(self, node: Node) -> None:
        if self.await_ctx == AWAIT_MODULE:
            self.misplaced.append((node.start_byte, "return"))
        self.children(node)

    def nested_module_item(self, node: Node) -> None:
        self.misplaced.append((node.start_byte, "nested-" + node.type.split("_")[0]))

    def comment(self, node: Node) -> None:
        self.comments.append((node.start_byte, node.end_byte))
        if node.kind_id in _K_HTML_COMMENT:
            self.misplaced.append((node.start_byte, "html-comment"))

    def jsx(self, node: Node) -> None:
        self.misplaced.append((node.start_byte, "jsx"))

    # --- import / export (top level) --------------------------------------------------------

    def import_statement(self, node: Node) -> None:
        bound = self.import_locals.get(node.start_byte) if self.import_locals is not None else None
        if bound is not None:
            module = self.module
            bindings = module.bindings
            names = self.names
            src = self.src
            for start, end in bound:  # `declare(..., "import")` in the module scope
                raw = src[start:end]
                name = names.get(raw)
                if name is None:
                    name = names[raw] = identifier_name(raw.decode("utf-8", "surrogatepass"))
                if name == "await":
                    self.misplaced.append((start, "await-identifier"))
                b = bindings.get(name)
                if b is None or b.kind in ("var", "param", "arguments"):
                    bindings[name] = Binding(name, "import", start, module)
                self.decls.append(_new_tuple(Declaration, (name, "import", start, end)))
            return
        for child in node.named_children:
            if child.type != "import_clause":
                continue
            for part in child.named_children:
                t = part.type
                if t == "identifier":
                    self.declare(part, "import")
                elif t == "namespace_import":
                    for ident in part.named_children:
                        if ident.type == "identifier":
                            self.declare(ident, "import")
                elif t == "named_imports":
                    for spec in part.named_children:
                        if spec.type != "import_specifier":
                            continue
                        local = spec.child_by_field_id(F_ALIAS) or spec.child_by_field_id(F_NAME)
                        if local is not None and local.type == "identifier":
                            self.declare(local, "import")

    def export_statement(self, node: Node) -> None:
        known = self.fields.get(node.start_byte) if self.fields is not None else None
        if known is not None:
            declaration, value, _ = known
        else:
            declaration = node.child_by_field_id(F_DECLARATION)
            value = node.child_by_field_id(F_VALUE)
        for child in node.named_children:
            if child.type == "decorator":
                self.visit(child)
        if declaration is not None:
            self.visit(declaration)
        elif value is not None:
            t = value.type
            if t in ("function_expression", "generator_function") and \
                    value.child_by_field_id(F_NAME) is None:
                # `export default function () {}` is a hoisted declaration: no own-name scope.
                if not self.quiet(value, None):
                    self.function(value, arrow=False, method=False)
            else:
                self.visit(value)

    # --- functions and classes --------------------------------------------------------------

    def function_expression(self, node: Node) -> None:
        name = node.child_by_field_id(F_NAME)
        if self.quiet(node, name):
            return
        if name is None:
            self.function(node, arrow=False, method=False)
            return
        outer = self.push("name")
        self.declare(name, "self")
        self.function(node, arrow=False, method=False)
        self.scope = outer

    def arrow_function(self, node: Node) -> None:
        if not self.quiet(node, None):
            self.function(node, arrow=True, method=False)

    def object_method(self, node: Node) -> None:
        self.method(node)

    def method(self, node: Node) -> None:
        name = node.child_by_field_id(F_NAME)
        computed = name if name is not None and name.type == "computed_property_name" else None
        if self.quiet(node, name if computed is None else None):
            return
        if computed is not None:
            self.children(computed)
        for child in node.named_children:
            if child.type == "decorator":
                self.visit(child)
        self.function(node, arrow=False, method=True)

    def function(self, node: Node, *, arrow: bool, method: bool) -> None:
        is_async = False
        for child in node.children:
            t = child.type
            if t == "async":
                is_async = True
                break
            if t != "static" and t != "decorator":
                break
        saved = (self.scope, self.await_ctx, self.this_ctx)
        self.await_ctx = AWAIT_ASYNC if is_async else AWAIT_SYNC
        if not arrow:
            self.this_ctx = THIS_METHOD if method else THIS_FUNCTION
        self.scope = params = Scope("function", self.scope)
        if not arrow:
            params.bindings["arguments"] = Binding("arguments", "arguments", node.start_byte, params)
        if arrow:
            param = node.child_by_field_id(F_PARAMETER)
            if param is not None:
                self.declare(param, "param")
        parameters = node.child_by_field_id(F_PARAMETERS)
        if parameters is not None:
            for p in parameters.named_children:
                self.pattern(p, "param", False)
        body = node.child_by_field_id(F_BODY)
        if body is not None:
            if body.type == "statement_block":
                self.scope = Scope("body", params)
                self.statements(body)
            else:
                self.visit(body)
        self.scope, self.await_ctx, self.this_ctx = saved

    def class_expression(self, node: Node) -> None:
        self.class_(node, node.child_by_field_id(F_NAME))

    def class_(self, node: Node, name: Node | None) -> None:
        if self.quiet(node, name):
            return
        outer = self.push("class")
        if name is not None:
            self.declare(name, "self")
        for child in node.named_children:
            t = child.type
            if t == "class_heritage" or t == "decorator":
                self.children(child)
            elif t == "class_body":
                for member in child.named_children:
                    self.class_member(member)
        self.scope = outer

    def class_member(self, member: Node) -> None:
        t = member.type
        if t == "method_definition":
            self.method(member)
        elif t == "field_definition":
            prop = member.child_by_field_id(F_PROPERTY)
            for child in member.named_children:
                if child.type == "decorator":
                    self.visit(child)
            if prop is not None and prop.type == "computed_property_name":
                self.children(prop)
            value = member.child_by_field_id(F_VALUE)
            if value is not None:
                self.initializer_context(value, None)
        elif t == "class_static_block":
            body = member.child_by_field_id(F_BODY)
            if body is not None:
                self.initializer_context(None, body)
        else:
            self.visit(member)

    def initializer_context(self, value: Node | None, body: Node | None) -> None:
        """Field initializers and static blocks: function-like, no `await`, `super` allowed."""
        saved = (self.scope, self.await_ctx, self.this_ctx)
        self.await_ctx = AWAIT_NONE
        self.this_ctx = THIS_METHOD
        self.scope = fn = Scope("function", self.scope)
        fn.bindings["arguments"] = Binding("arguments", "arguments", -1, fn)
        if value is not None:
            self.visit(value)
        if body is not None:
            self.scope = Scope("body", fn)
            self.statements(body)
        self.scope, self.await_ctx, self.this_ctx = saved

    # --- patterns ---------------------------------------------------------------------------

    def pattern(self, node: Node, kind: str, has_init: bool) -> None:
        """Declare the names a binding pattern introduces; visit its default values and keys."""
        t = node.type
        if t == "identifier" or t == "undefined" or t == "shorthand_property_identifier_pattern":
            b = self.declare(node, kind)
            if has_init:
                b.inits += 1
        elif t == "object_pattern" or t == "array_pattern":
            for child in node.named_children:
                self.pattern(child, kind, has_init)
        elif t == "pair_pattern":
            key = node.child_by_field_id(F_KEY)
            if key is not None and key.type == "computed_property_name":
                self.children(key)
            value = node.child_by_field_id(F_VALUE)
            if value is not None:
                self.pattern(value, kind, has_init)
        elif t == "assignment_pattern" or t == "object_assignment_pattern":
            left = node.child_by_field_id(F_LEFT)
            right = node.child_by_field_id(F_RIGHT)
            if left is not None:
                self.pattern(left, kind, has_init)
            if right is not None:
                self.visit(right)
        elif t == "rest_pattern":
            for child in node.named_children:
                self.pattern(child, kind, has_init)
        elif t != "comment":
            self.visit(node)



_HANDLER_NAMES: dict[str, Callable[[Walker, Node], None]] = {
    "identifier undefined": expressions.identifier,
    "shorthand_property_identifier": expressions.shorthand,
    "statement_identifier": Walker.label,
    "comment html_comment": Walker.comment,
    "string number regex property_identifier private_property_identifier this true false null "
    "hash_bang_line empty_statement debugger_statement optional_chain": Walker.skip,
    "statement_block": Walker.block,
    "variable_declaration": Walker.var_declaration,
    "lexical_declaration using_declaration": Walker.lexical_declaration,
    "function_declaration generator_function_declaration": Walker.function_declaration,
    "function_expression generator_function": Walker.function_expression,
    "arrow_function": Walker.arrow_function,
    "class_declaration": Walker.class_declaration,
    "class": Walker.class_expression,
    "method_definition": Walker.object_method,
    "for_statement": Walker.for_statement,
    "for_in_statement": Walker.for_in_statement,
    "catch_clause": Walker.catch_clause,
    "switch_statement": Walker.switch_statement,
    "assignment_expression": expressions.assignment,
    "augmented_assignment_expression": expressions.augmented_assignment,
    "update_expression": expressions.update,
    "unary_expression": expressions.unary,
    "call_expression": expressions.call,
    "meta_property": expressions.meta_property,
    "await_expression": expressions.await_expression,
    "return_statement": Walker.return_statement,
    "super": expressions.super_,
    "import_statement export_statement": Walker.nested_module_item,
    "jsx_element jsx_self_closing_element jsx_opening_element": Walker.jsx,
}
_HANDLERS: dict[int, Callable[[Walker, Node], None]] = {
    i: handler for names, handler in _HANDLER_NAMES.items() for i in named_kind_ids(*names.split())}
_skip = Walker.skip


def analyze(root: Node, src: bytes, watched: set[str] | None = None,
            written: set[str] | None = None,
            entries: ModuleEntries | None = None) -> ScopeAnalysis:
    """Walk the module once; see the module docstring.

    With `watched` (the names all of whose references matter: imports) and `written` (names
    whose writes matter: exported locals), statements, functions and classes that cannot
    hold such references (nor anything else the walk records: see `Sieve.quiet`) are not
    walked, and other references and the bindings of inner scopes are not recorded:
    `references` is then complete only for those names and `arguments`, and the scopes only
    for them and the module scope. ASCII sources only (elsewhere words are not told apart
    reliably), and not when JSX could be present.
    """
    if watched is not None and src.isascii() and not maybe_jsx(src):
        w = Walker(src, ALWAYS_WATCHED.union([name.encode() for name in watched]),
                   frozenset([name.encode() for name in written or () if name not in watched]))
    else:
        w = Walker(src)
    if entries is not None:
        w.fields = entries.fields
        w.import_locals = entries.import_locals
    w.program(root)
    return ScopeAnalysis(
        module=w.module, references=w.refs, declarations=w.decls, items=w.items,
        import_meta=w.import_meta, dynamic_imports=w.dynamic_imports, misplaced=w.misplaced,
        top_level_await=w.tla, uses_eval=w.uses_eval, comments=w.comments)
