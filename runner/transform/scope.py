"""Scope analysis of an ES module over its tree-sitter tree, in one walk.

The walk builds the scope chain (module, function parameters and bodies with `var` hoisting,
blocks, catch clauses, class bodies, the own-name scopes of function and class expressions,
loop heads, switch case blocks), declares every binding, and records every identifier
reference with the scope it occurs in; member and key names, labels, method and field names,
import/export specifiers and `meta` of `import.meta` are not references. References are
resolved after the walk, so hoisted declarations seen later still shadow
(`ScopeAnalysis.module_references` answers which references denote a module-scope binding).

The walk also notes the function context of constructs whose validity depends on it (`await`,
`return`, `new.target`, `super`, ...) for the early errors, and `module_entries` reads the
module's import and export entries from its top-level statements.

Told which names matter (imports; exported locals, whose writes only matter), the walk leaves
out the statements, functions and classes whose text shows they cannot hold anything it would
record (see `_Walker.quiet`), and keeps only the references and inner bindings of those names.

Offsets are byte offsets into the UTF-8 source, as tree-sitter reports them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from tree_sitter import Node

from .parser import JAVASCRIPT as LANGUAGE

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

_ESCAPE = re.compile(r"\\u\{([0-9a-fA-F]+)\}|\\u([0-9a-fA-F]{4})")


def identifier_name(raw: str) -> str:
    """The name an identifier token denotes (`\\u0061` escapes decoded)."""
    if "\\" not in raw:
        return raw
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), raw)


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


_new_tuple = tuple.__new__  # builds NamedTuples without their Python-level __new__


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


def _ids(*names: str) -> frozenset[int]:
    ids = set()
    for i in range(LANGUAGE.node_kind_count):
        if LANGUAGE.node_kind_is_named(i) and LANGUAGE.node_kind_for_id(i) in names:
            ids.add(i)
    return frozenset(ids)


_K_IDENTIFIER = _ids("identifier", "undefined")
_K_PAREN = _ids("parenthesized_expression")
_K_DECLARATOR = _ids("variable_declarator")
# (Never quiet at the top level: each has a word of _TOP_LEVEL_WATCHED.)
_K_TOP_DECLARATIONS = _ids("lexical_declaration", "variable_declaration", "function_declaration",
                           "generator_function_declaration", "class_declaration")
_K_PLAIN_IDENTIFIER = _ids("identifier")
_K_IMPORT_STATEMENT = _ids("import_statement")
_K_IMPORT_CLAUSE = _ids("import_clause")
_K_IMPORT_ATTRIBUTE = _ids("import_attribute")
_K_NAMESPACE_IMPORT = _ids("namespace_import")
_K_NAMED_IMPORTS = _ids("named_imports")
_K_IMPORT_SPECIFIER = _ids("import_specifier")
_DEFAULT_KEYWORD = LANGUAGE.id_for_node_kind("default", False)
_K_HTML_COMMENT = _ids("html_comment")
_AWAIT_MISREAD = frozenset({"call_expression", "subscript_expression", "binary_expression",
                            "member_expression"})
# For `_Walker.quiet`, in ASCII source: words are runs of these bytes ...
_WORD_BYTES = bytes(i if chr(i).isascii() and (chr(i).isalnum() or chr(i) in "_$") else 32 for i in range(256))
# ... words always watched ...
_ALWAYS_WATCHED = frozenset({b"arguments", b"await", b"eval", b"super", b"import", b"export", b"delete",
                             b"target"})
# ... and at the top level also those that can declare in the module scope or are misplaced there.
_TOP_LEVEL_WATCHED = frozenset({b"var", b"let", b"const", b"using", b"function", b"class", b"return"})
# What follows a name that is only read: member access, call, index, tagged template.
_READ_FOLLOWERS = frozenset(b".([`")
# Escapes and comment openers (HTML-like ones included).
_SPECIALS = (b"\\", b"//", b"/*", b"<!--", b"-->")


def _marked(marks: list[int], start: int, end: int) -> bool:
    """Does a special (see `_SPECIALS`) start in or overlap [start, end)?"""
    i = bisect_left(marks, start - 3)
    return i < len(marks) and marks[i] < end


class _Walker:
    """One recursive pass; handlers are keyed by node kind id."""

    def __init__(self, src: bytes, watched: frozenset[bytes] | None = None,
                 written: frozenset[bytes] = frozenset()) -> None:
        self.src = src
        # Words whose presence makes a subtree worth walking (None: walk everything) ...
        self.watched = watched
        self.watched_top: frozenset[bytes] = frozenset()
        # ... names for which only writes matter (see `quiet`) ...
        self.written = written
        # ... and the names of the references and declarations worth recording.
        self.kept: frozenset[bytes] = frozenset()
        self.words = b""  # the source with every byte but [A-Za-z0-9_$] blanked
        self.marks: list[int] = []  # offsets of backslashes and comment openers
        if watched is not None:
            self.watched_top = watched | _TOP_LEVEL_WATCHED
            self.kept = watched | written
            self.words = src.translate(_WORD_BYTES)
            marks = self.marks
            for special in _SPECIALS:
                at = src.find(special)
                while at >= 0:
                    marks.append(at)
                    at = src.find(special, at + 1)
            marks.sort()
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
            if end - start > 8 and (not marks or not _marked(marks, start, end)) and quiet(start, end, watched):
                continue
            fn = handlers.get(child.kind_id)
            if fn is None:
                if child.named_child_count:
                    self.children(child)
            elif fn is not _skip:
                fn(self, child)

    def skip(self, node: Node) -> None:
        pass

    def quiet(self, node: Node, name: Node | None) -> bool:
        """Can the function or class `node` (its own name `name` aside) be left unwalked?

        Its scopes cannot affect anything outside it, so walking it only matters for what the
        walk records: references to the watched names and `arguments`, writes to the `written`
        names, the context-dependent syntax noted for the early errors (`await`, `super`,
        `new.target`, `import`, `export`, `delete`, `eval`; at the top level also `return` and
        declarations, see `statements`), comments, and escaped names. None of those can be
        there without a watched word, a written name that is not plainly read (see
        `quiet_range`), a backslash or a comment opener in the text. (JSX is ruled out for the
        whole module beforehand, see `analyze`.)
        """
        watched = self.watched
        if watched is None:
            return False
        marks = self.marks
        start = node.start_byte
        end = node.end_byte
        if marks and _marked(marks, start, end):
            return False
        if name is None:
            return self.quiet_range(start, end, watched)
        if self.words[name.start_byte:name.end_byte] == b"await":
            return False
        return (self.quiet_range(start, name.start_byte, watched)
                and self.quiet_range(name.end_byte, end, watched))

    def quiet_range(self, start: int, end: int, watched: frozenset[bytes]) -> bool:
        """No watched word in [start, end), and the `written` names there only read: each
        followed in the range by `.`, `?.`, `(`, `[` or a template (member access, call, tag),
        which cannot be an assignment target, nor a declaration (but for `function name(`:
        not with the word `function` in the range), parameter or pattern element."""
        words = self.words[start:end].split()
        if not watched.isdisjoint(words):
            return False
        written = self.written
        if not written or written.isdisjoint(words):
            return True
        if b"function" in words:
            return False
        text = self.words
        src = self.src
        size = len(text)
        for word in written.intersection(words):
            at = text.find(word, start, end)
            while at >= 0:
                after = at + len(word)
                if (not at or text[at - 1] == 32) and (after == size or text[after] == 32):
                    follower = src[after:min(after + 32, end)].lstrip()[:2]
                    if not follower or (follower[0] not in _READ_FOLLOWERS and follower != b"?."):
                        return False
                at = text.find(word, after, end)
        return True

    def name_of(self, node: Node) -> str:
        raw = self.src[node.start_byte:node.end_byte]
        name = self.names.get(raw)
        if name is None:
            name = self.names[raw] = identifier_name(raw.decode("utf-8", "surrogatepass"))
        return name

    def ref(self, node: Node, flags: int) -> None:
        start = node.start_byte
        end = node.end_byte
        raw = self.src[start:end]
        if self.watched is not None and raw not in self.kept and 92 not in raw:
            return  # a reference that does not matter (see `analyze`)
        name = self.names.get(raw)
        if name is None:
            name = self.names[raw] = identifier_name(raw.decode("utf-8", "surrogatepass"))
        if name == "await":
            self.misplaced.append((start, "await-identifier"))
        elif flags & WRITE and name in ("eval", "arguments"):
            self.misplaced.append((start, "strict-assign"))
        self.refs.append(_new_tuple(Reference, (name, self.scope, start, end, flags)))

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
                    if end - start > 8 and (not marks or not _marked(marks, start, end)) and \
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
        kind_node = node.child_by_field_name("kind")
        self.declarators(node, "let" if kind_node is not None and kind_node.type == "let" else "const")

    def declarators(self, node: Node, kind: str) -> None:
        handlers = _HANDLERS
        for decl in node.named_children:
            if decl.kind_id not in _K_DECLARATOR:
                self.visit(decl)
                continue
            name = decl.child_by_field_name("name")
            value = decl.child_by_field_name("value")
            if name is not None:
                if name.kind_id in _K_IDENTIFIER:  # (what `pattern` does with one)
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
        name = node.child_by_field_name("name")
        if name is not None:
            kind = "function" if self.scope.kind in ("module", "body") else "let"
            self.declare(name, kind)
        if not self.quiet(node, name):
            self.function(node, arrow=False, method=False)

    def class_declaration(self, node: Node) -> None:
        name = node.child_by_field_name("name")
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
            self.await_at(node.start_byte)
        outer = self.push("block")
        kind_node = node.child_by_field_name("kind")
        left = node.child_by_field_name("left")
        if left is not None:
            if kind_node is None:
                self.target(left, WRITE)
            else:
                kind = kind_node.type
                self.pattern(left, kind if kind in ("var", "let") else "const", False)
                if kind == "var":
                    # A `var` loop head is assigned on every iteration.
                    self.target(left, WRITE, declare_only=True)
        for field_name in ("value", "right", "body"):
            child = node.child_by_field_name(field_name)
            if child is not None:
                self.visit(child)
        self.scope = outer

    def catch_clause(self, node: Node) -> None:
        outer = self.push("catch")
        param = node.child_by_field_name("parameter")
        if param is not None:
            self.pattern(param, "catch", False)
        body = node.child_by_field_name("body")
        if body is not None:
            self.statements(body)  # the body shares the catch scope
        self.scope = outer

    def switch_statement(self, node: Node) -> None:
        value = node.child_by_field_name("value")
        if value is not None:
            self.visit(value)
        body = node.child_by_field_name("body")
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
                        local = spec.child_by_field_name("alias") or spec.child_by_field_name("name")
                        if local is not None and local.type == "identifier":
                            self.declare(local, "import")

    def export_statement(self, node: Node) -> None:
        known = self.fields.get(node.start_byte) if self.fields is not None else None
        if known is not None:
            declaration, value, _ = known
        else:
            declaration = node.child_by_field_name("declaration")
            value = node.child_by_field_name("value")
        for child in node.named_children:
            if child.type == "decorator":
                self.visit(child)
        if declaration is not None:
            self.visit(declaration)
        elif value is not None:
            t = value.type
            if t in ("function_expression", "generator_function") and \
                    value.child_by_field_name("name") is None:
                # `export default function () {}` is a hoisted declaration: no own-name scope.
                if not self.quiet(value, None):
                    self.function(value, arrow=False, method=False)
            else:
                self.visit(value)

    # --- functions and classes --------------------------------------------------------------

    def function_expression(self, node: Node) -> None:
        name = node.child_by_field_name("name")
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
        name = node.child_by_field_name("name")
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
            param = node.child_by_field_name("parameter")
            if param is not None:
                self.declare(param, "param")
        parameters = node.child_by_field_name("parameters")
        if parameters is not None:
            for p in parameters.named_children:
                self.pattern(p, "param", False)
        body = node.child_by_field_name("body")
        if body is not None:
            if body.type == "statement_block":
                self.scope = Scope("body", params)
                self.statements(body)
            else:
                self.visit(body)
        self.scope, self.await_ctx, self.this_ctx = saved

    def class_expression(self, node: Node) -> None:
        self.class_(node, node.child_by_field_name("name"))

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
            prop = member.child_by_field_name("property")
            for child in member.named_children:
                if child.type == "decorator":
                    self.visit(child)
            if prop is not None and prop.type == "computed_property_name":
                self.children(prop)
            value = member.child_by_field_name("value")
            if value is not None:
                self.initializer_context(value, None)
        elif t == "class_static_block":
            body = member.child_by_field_name("body")
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
            key = node.child_by_field_name("key")
            if key is not None and key.type == "computed_property_name":
                self.children(key)
            value = node.child_by_field_name("value")
            if value is not None:
                self.pattern(value, kind, has_init)
        elif t == "assignment_pattern" or t == "object_assignment_pattern":
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            if left is not None:
                self.pattern(left, kind, has_init)
            if right is not None:
                self.visit(right)
        elif t == "rest_pattern":
            for child in node.named_children:
                self.pattern(child, kind, has_init)
        elif t != "comment":
            self.visit(node)

    def target(self, node: Node, flags: int, declare_only: bool = False) -> None:
        """An assignment target: identifiers become write references; the rest is visited."""
        t = node.type
        if t == "identifier" or t == "undefined":
            self.ref(node, flags)
        elif t == "shorthand_property_identifier_pattern":
            self.ref(node, flags | SHORTHAND)
        elif t == "parenthesized_expression":
            for child in node.named_children:
                self.target(child, flags, declare_only)
        elif t == "object_pattern" or t == "array_pattern" or t == "rest_pattern":
            for child in node.named_children:
                self.target(child, flags, declare_only)
        elif t == "pair_pattern":
            key = node.child_by_field_name("key")
            if key is not None and key.type == "computed_property_name" and not declare_only:
                self.children(key)
            value = node.child_by_field_name("value")
            if value is not None:
                self.target(value, flags, declare_only)
        elif t == "assignment_pattern" or t == "object_assignment_pattern":
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            if left is not None:
                self.target(left, flags, declare_only)
            if right is not None and not declare_only:
                self.visit(right)
        elif t == "meta_property":
            self.misplaced.append((node.start_byte, "assign-meta"))
        elif not declare_only and t != "comment":
            self.visit(node)

    # --- expressions ------------------------------------------------------------------------

    def identifier(self, node: Node) -> None:
        start = node.start_byte
        end = node.end_byte
        raw = self.src[start:end]
        if self.watched is not None and raw not in self.kept and 92 not in raw:
            return  # a reference that does not matter (see `analyze`)
        name = self.names.get(raw)
        if name is None:
            name = self.names[raw] = identifier_name(raw.decode("utf-8", "surrogatepass"))
        if name == "await":
            self.await_identifier(node, start)
            return
        self.refs.append(_new_tuple(Reference, (name, self.scope, start, end, READ)))

    def await_identifier(self, node: Node, start: int) -> None:
        """tree-sitter, which cannot tell whether a function is async, reads `await (x)`,
        `await [x]` or `await -x` as an identifier `await` called, indexed or subtracted from.
        Where `await` is an operator (async functions, the top level) that is an await
        expression; anywhere else, or without an operand, it is an error."""
        if self.await_ctx == AWAIT_MODULE or self.await_ctx == AWAIT_ASYNC:
            parent = node.parent
            if parent is not None and parent.start_byte == start and parent.type in _AWAIT_MISREAD:
                self.await_at(start)
                return
        self.misplaced.append((start, "await-identifier"))

    def shorthand(self, node: Node) -> None:
        self.ref(node, READ | SHORTHAND)

    def assignment(self, node: Node) -> None:
        left = node.child_by_field_name("left")
        if left is not None:
            self.target(left, WRITE)
        for child in node.named_children:
            if child != left:
                self.visit(child)

    def augmented_assignment(self, node: Node) -> None:
        left = node.child_by_field_name("left")
        if left is not None:
            inner = left
            while inner.kind_id in _K_PAREN and inner.named_child_count == 1:
                inner = inner.named_child(0)  # type: ignore[assignment]
            if inner.kind_id in _K_IDENTIFIER:
                self.ref(inner, READ | WRITE)
            elif inner.type == "meta_property":
                self.misplaced.append((inner.start_byte, "assign-meta"))
            else:
                self.visit(left)
        for child in node.named_children:
            if child != left:
                self.visit(child)

    def update(self, node: Node) -> None:
        arg = node.child_by_field_name("argument")
        if arg is None:
            self.children(node)
            return
        inner = arg
        while inner.kind_id in _K_PAREN and inner.named_child_count == 1:
            inner = inner.named_child(0)  # type: ignore[assignment]
        if inner.kind_id in _K_IDENTIFIER:
            self.ref(inner, READ | WRITE)
        elif inner.type == "meta_property":
            self.misplaced.append((inner.start_byte, "assign-meta"))
        else:
            self.visit(arg)

    def unary(self, node: Node) -> None:
        op = node.child_by_field_name("operator")
        arg = node.child_by_field_name("argument")
        if op is None or arg is None:
            self.children(node)
            return
        t = op.type
        inner = arg
        while inner.kind_id in _K_PAREN and inner.named_child_count == 1:
            inner = inner.named_child(0)  # type: ignore[assignment]
        if t == "delete" and inner.kind_id in _K_IDENTIFIER:
            self.misplaced.append((arg.start_byte, "delete-identifier"))
        if t == "typeof" and inner.kind_id in _K_IDENTIFIER:
            self.ref(inner, READ | TYPEOF)
        else:
            self.visit(arg)

    def call(self, node: Node) -> None:
        fn = node.child_by_field_name("function")
        if fn is None:
            self.children(node)
            return
        if fn.type == "import":
            args = node.child_by_field_name("arguments")
            spec = None
            if args is not None:
                first = args.named_child(0) if args.named_child_count else None
                if first is not None and first.type == "string" and args.named_child_count <= 2:
                    spec = string_value(self.src, first)
            self.dynamic_imports.append(DynamicImport(node.start_byte, node.end_byte, fn.end_byte, spec))
            if args is not None:
                self.children(args)
            return
        inner = fn
        while inner.kind_id in _K_PAREN and inner.named_child_count == 1:
            inner = inner.named_child(0)  # type: ignore[assignment]
        if inner.kind_id in _K_IDENTIFIER and self.src[inner.start_byte:inner.end_byte] == b"await":
            self.identifier(inner)
        elif inner.kind_id in _K_IDENTIFIER:
            self.ref(inner, READ | CALLEE)
            if self.src[inner.start_byte:inner.end_byte] == b"eval":
                self.uses_eval = True
        else:
            self.visit(fn)
        handlers = _HANDLERS
        for child in node.named_children:
            if child != fn:
                fn2 = handlers.get(child.kind_id)
                if fn2 is None:
                    if child.named_child_count:
                        self.children(child)
                elif fn2 is not _skip:
                    fn2(self, child)

    def meta_property(self, node: Node) -> None:
        first = node.child(0)
        if first is not None and first.type == "import":
            self.import_meta.append((node.start_byte, node.end_byte))
        elif self.this_ctx == THIS_MODULE:
            self.misplaced.append((node.start_byte, "new.target"))

    def await_at(self, start: int) -> None:
        ctx = self.await_ctx
        if ctx == AWAIT_MODULE:
            if self.tla is None:
                self.tla = start
        elif ctx != AWAIT_ASYNC:
            self.misplaced.append((start, "await"))

    def await_expression(self, node: Node) -> None:
        self.await_at(node.start_byte)
        self.children(node)

    def super_(self, node: Node) -> None:
        if self.this_ctx != THIS_METHOD:
            self.misplaced.append((node.start_byte, "super"))



_HANDLER_NAMES = {
    "identifier undefined": "identifier",
    "shorthand_property_identifier": "shorthand",
    "statement_identifier": "label",
    "comment html_comment": "comment",
    "string number regex property_identifier private_property_identifier this true false null "
    "hash_bang_line empty_statement debugger_statement optional_chain": "skip",
    "statement_block": "block",
    "variable_declaration": "var_declaration",
    "lexical_declaration using_declaration": "lexical_declaration",
    "function_declaration generator_function_declaration": "function_declaration",
    "function_expression generator_function": "function_expression",
    "arrow_function": "arrow_function",
    "class_declaration": "class_declaration",
    "class": "class_expression",
    "method_definition": "object_method",
    "for_statement": "for_statement",
    "for_in_statement": "for_in_statement",
    "catch_clause": "catch_clause",
    "switch_statement": "switch_statement",
    "assignment_expression": "assignment",
    "augmented_assignment_expression": "augmented_assignment",
    "update_expression": "update",
    "unary_expression": "unary",
    "call_expression": "call",
    "meta_property": "meta_property",
    "await_expression": "await_expression",
    "return_statement": "return_statement",
    "super": "super_",
    "import_statement export_statement": "nested_module_item",
    "jsx_element jsx_self_closing_element jsx_opening_element": "jsx",
}
_HANDLER_TABLE: dict[int, str] = {}
for _names, _method in _HANDLER_NAMES.items():
    for _i in _ids(*_names.split()):
        _HANDLER_TABLE[_i] = _method


_HANDLERS: dict[int, Callable[[_Walker, Node], None]] = {
    i: getattr(_Walker, m) for i, m in _HANDLER_TABLE.items()}
_skip = _Walker.skip


def string_value(src: bytes, node: Node) -> str:
    """The value of a string literal node (escapes decoded; lone surrogates kept as such)."""
    raw = src[node.start_byte + 1:node.end_byte - 1].decode("utf-8", "surrogatepass")
    if "\\" not in raw:
        return raw
    return _unescape(raw)


_STRING_ESCAPE = re.compile(
    r"\\(?:u\{([0-9a-fA-F]+)\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|([0-7]{1,3})|(\r\n|[\n\r\u2028\u2029])|(.))",
    re.S)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _unescape(raw: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) or m.group(2):
            return chr(int(m.group(1) or m.group(2), 16))
        if m.group(3):
            return chr(int(m.group(3), 16))
        if m.group(4):
            return chr(int(m.group(4), 8))
        if m.group(5):
            return ""
        c = m.group(6)
        return _SIMPLE.get(c, c)

    # Pair surrogate escapes (`\uD83D\uDE00`) into one character, keep lone ones as they are.
    text = _STRING_ESCAPE.sub(sub, raw)
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def analyze(root: Node, src: bytes, watched: set[str] | None = None,
            written: set[str] | None = None,
            entries: ModuleEntries | None = None) -> ScopeAnalysis:
    """Walk the module once; see the module docstring.

    With `watched` (the names all of whose references matter: imports) and `written` (names
    whose writes matter: exported locals), statements, functions and classes that cannot
    hold such references (nor anything else the walk records: see `_Walker.quiet`) are not
    walked, and other references and the bindings of inner scopes are not recorded:
    `references` is then complete only for those names and `arguments`, and the scopes only
    for them and the module scope. ASCII sources only (elsewhere words are not told apart
    reliably), and not when JSX could be present.
    """
    if watched is not None and src.isascii() and not _maybe_jsx(src):
        w = _Walker(src, _ALWAYS_WATCHED.union([name.encode() for name in watched]),
                    frozenset([name.encode() for name in written or () if name not in watched]))
    else:
        w = _Walker(src)
    if entries is not None:
        w.fields = entries.fields
        w.import_locals = entries.import_locals
    w.program(root)
    return ScopeAnalysis(
        module=w.module, references=w.refs, declarations=w.decls, items=w.items,
        import_meta=w.import_meta, dynamic_imports=w.dynamic_imports, misplaced=w.misplaced,
        top_level_await=w.tla, uses_eval=w.uses_eval, comments=w.comments)


def module_items(root: Node) -> list[Node]:
    """The top-level import and export statements, in source order."""
    return [child for child in root.named_children if child.type in ("import_statement", "export_statement")]


def _maybe_jsx(src: bytes) -> bool:
    """Could a `<` of (ASCII) `src` start JSX? Not after a non-keyword word, `)` or `]` (an
    operand: the `<` is an operator), nor as part of `<<` or `<=`."""
    at = src.find(b"<")
    while at >= 0:
        if (at and src[at - 1] == 60) or src[at + 1:at + 2] in (b"<", b"="):  # "<<", "<="
            at = src.find(b"<", at + 1)
            continue
        before = src[max(0, at - 80):at].rstrip()
        at = src.find(b"<", at + 1)
        if not before:
            return True
        last = before[-1]
        if last == 41 or last == 93:  # ")" "]"
            continue
        word = _WORD_BEFORE.search(before)
        if word is None or word.group().decode() in RESERVED_WORDS or word.group() in _EXPRESSION_WORDS:
            return True
    return False


_WORD_BEFORE = re.compile(rb"[\w$]+$")
_EXPRESSION_WORDS = frozenset({b"of", b"async", b"get", b"set", b"as", b"from"})


# --- the module's import and export entries ---------------------------------------------------


RESERVED_WORDS = frozenset(
    "break case catch class const continue debugger default delete do else enum export extends false finally "
    "for function if import in instanceof new null return super switch this throw true try typeof var void "
    "while with yield let static implements interface package private protected public await".split())


class ImportName(NamedTuple):
    imported: str  # "default", a name, or "*" for the namespace
    local: str | None  # the local binding (None for the import half of `export … from`)
    start: int  # offset of the imported name (or of the local for default/namespace)
    end: int


class ImportDecl(NamedTuple):
    """An import declaration, or the import half of an `export … from` declaration."""

    start: int  # the whole statement
    end: int
    specifier: str
    spec_start: int
    spec_end: int
    attributes: dict[str, str]
    names: list[ImportName]
    is_export: bool
    star: bool  # `export * from`


class ExportEntry(NamedTuple):
    exported: str
    start: int  # the exported name's position (or the declaration's)
    end: int
    local: str | None  # local exports: the binding; "*default*" for `export default <expr>`
    import_index: int | None  # `export … from`: index into the ImportDecl list
    import_name: str | None  # ... and the name in that module ("*": the namespace)


class ModuleEntries(NamedTuple):
    imports: list[ImportDecl]
    exports: list[ExportEntry]
    errors: list[tuple[int, str]]  # (offset, message) found while reading names and attributes
    constants: frozenset[str] = frozenset()  # locals exported by `export const`
    # Per export statement (by start offset): its declaration and value fields, and whether
    # it is `export default`.
    fields: dict[int, tuple[Node | None, Node | None, bool]] | None = None
    # Per import statement (by start offset): the ranges of the identifiers it binds.
    import_locals: dict[int, list[tuple[int, int]]] | None = None


def module_name(src: bytes, node: Node) -> str:
    """A ModuleExportName: an identifier, a string literal or the `default` keyword."""
    if node.type == "string":
        return string_value(src, node)
    return identifier_name(src[node.start_byte:node.end_byte].decode("utf-8", "surrogatepass"))


_DEFAULT_HEADS = ("function_expression", "generator_function", "class")


def default_declaration_head(value: Node) -> Node | None:
    """The function or class an `export default` value starts with, or None.

    `export default function () {}` and `export default class {}` are declarations that end at
    their closing brace; tree-sitter reads them as expressions, and so may swallow what follows
    (`export default function () {}\n(x)` becomes a call). The node returned ends the export.
    """
    inner = value
    start = value.start_byte
    while inner.type not in _DEFAULT_HEADS:
        first = inner.named_child(0) if inner.named_child_count else None
        if first is None or first.start_byte != start or inner.type == "parenthesized_expression":
            return None
        inner = first
    return inner


def _pattern_names(node: Node, out: list[Node]) -> None:
    t = node.type
    if t in ("identifier", "undefined", "shorthand_property_identifier_pattern"):
        out.append(node)
    elif t in ("object_pattern", "array_pattern", "rest_pattern"):
        for child in node.named_children:
            _pattern_names(child, out)
    elif t == "pair_pattern":
        value = node.child_by_field_name("value")
        if value is not None:
            _pattern_names(value, out)
    elif t in ("assignment_pattern", "object_assignment_pattern"):
        left = node.child_by_field_name("left")
        if left is not None:
            _pattern_names(left, out)


def declared_names(decl: Node) -> list[Node]:
    """The identifier nodes a declaration (function, class, var/let/const) binds."""
    t = decl.type
    if t in ("function_declaration", "generator_function_declaration", "class_declaration"):
        name = decl.child_by_field_name("name")
        return [name] if name is not None else []
    out: list[Node] = []
    for d in decl.named_children:
        if d.type == "variable_declarator":
            name = d.child_by_field_name("name")
            if name is not None:
                _pattern_names(name, out)
    return out


def module_entries(items: list[Node], src: bytes, attributes: dict[int, tuple[int, int]]) -> ModuleEntries:
    """Read the top-level import/export statements (`attributes`: `export … from` attribute
    ranges removed before parsing, keyed by the end offset of the specifier string)."""
    imports: list[ImportDecl] = []
    exports: list[ExportEntry] = []
    errors: list[tuple[int, str]] = []
    constants: set[str] = set()
    fields: dict[int, tuple[Node | None, Node | None, bool]] = {}
    import_locals: dict[int, list[tuple[int, int]]] = {}

    def attrs_of(node: Node, source: Node, found: tuple[int, int] | None = None) -> dict[str, str]:
        rng = attributes.get(source.end_byte)
        if rng is None:
            rng = found
        if rng is None:
            return {}
        parsed, _, err = parse_attributes(src, rng[0], rng[1])
        if err is not None:
            errors.append(err)
        return parsed

    def attribute_range(node: Node) -> tuple[int, int] | None:
        rng = None
        for child in node.named_children:
            if child.type == "import_attribute":
                rng = (child.start_byte, child.end_byte)
        return rng

    for node in items:
        source = node.child_by_field_name("source")
        if node.kind_id in _K_IMPORT_STATEMENT:
            names: list[ImportName] = []
            bound: list[tuple[int, int]] = []
            import_locals[node.start_byte] = bound
            attribute = None
            for import_clause in node.named_children:
                kind = import_clause.kind_id
                if kind in _K_IMPORT_ATTRIBUTE:
                    attribute = (import_clause.start_byte, import_clause.end_byte)
                if kind not in _K_IMPORT_CLAUSE:
                    continue
                for part in import_clause.named_children:
                    kind = part.kind_id
                    if kind in _K_PLAIN_IDENTIFIER:
                        start = part.start_byte
                        end = part.end_byte
                        bound.append((start, end))
                        names.append(_new_tuple(ImportName, (
                            "default", identifier_name(src[start:end].decode("utf-8", "surrogatepass")),
                            start, end)))
                    elif kind in _K_NAMESPACE_IMPORT:
                        for ident in part.named_children:
                            if ident.kind_id in _K_PLAIN_IDENTIFIER:
                                bound.append((ident.start_byte, ident.end_byte))
                                names.append(_new_tuple(ImportName, (
                                    "*", module_name(src, ident), ident.start_byte, ident.end_byte)))
                    elif kind in _K_NAMED_IMPORTS:
                        for spec in part.named_children:
                            if spec.kind_id not in _K_IMPORT_SPECIFIER:
                                continue
                            name = spec.child_by_field_name("name")
                            alias = spec.child_by_field_name("alias") or name
                            if alias is not None and alias.kind_id in _K_PLAIN_IDENTIFIER:
                                bound.append((alias.start_byte, alias.end_byte))
                            if name is None or alias is None:
                                continue
                            local = module_name(src, alias)
                            if local in RESERVED_WORDS:
                                errors.append((alias.start_byte, f"Unexpected reserved word '{local}'"))
                            names.append(_new_tuple(ImportName, (
                                module_name(src, name) if name != alias else local, local, name.start_byte,
                                name.end_byte)))
            if source is None:
                continue
            imports.append(_new_tuple(ImportDecl, (
                node.start_byte, node.end_byte, string_value(src, source), source.start_byte,
                source.end_byte, attrs_of(node, source, attribute), names, False, False)))
            continue

        declaration = node.child_by_field_name("declaration")
        value = node.child_by_field_name("value")
        is_default = False
        for c in node.children[:3]:
            if c.kind_id == _DEFAULT_KEYWORD:
                is_default = True
                break
        fields[node.start_byte] = (declaration, value, is_default)
        if declaration is not None:
            if is_default:
                name = declaration.child_by_field_name("name")
                local = module_name(src, name) if name is not None else "*default*"
                exports.append(ExportEntry("default", node.start_byte, declaration.start_byte, local,
                                           None, None))
            else:
                if declaration.type == "lexical_declaration":
                    kind_node = declaration.child_by_field_name("kind")
                    if kind_node is not None and kind_node.type == "const":
                        constants.update(module_name(src, ident) for ident in declared_names(declaration))
                for ident in declared_names(declaration):
                    local = module_name(src, ident)
                    exports.append(ExportEntry(local, ident.start_byte, ident.end_byte, local, None, None))
            continue
        if value is not None:
            exports.append(ExportEntry("default", node.start_byte, value.start_byte, "*default*", None, None))
            continue

        index = None
        if source is not None:
            index = len(imports)
        clause = None
        ns_export = None
        for child in node.named_children:
            if child.type == "export_clause":
                clause = child
            elif child.type == "namespace_export":
                ns_export = child
        import_names: list[ImportName] = []
        if clause is not None:
            for spec in clause.named_children:
                if spec.type != "export_specifier":
                    continue
                name = spec.child_by_field_name("name")
                alias = spec.child_by_field_name("alias") or name
                if name is None or alias is None:
                    continue
                local_name = module_name(src, name)
                exported = module_name(src, alias)
                if index is None:
                    if local_name in RESERVED_WORDS and name.type != "string":
                        errors.append((name.start_byte, f"Unexpected reserved word '{local_name}'"))
                    elif name.type != "identifier":
                        errors.append((name.start_byte, "A string literal or keyword cannot be used as an "
                                                        "exported binding without `from`"))
                    exports.append(ExportEntry(exported, alias.start_byte, alias.end_byte, local_name,
                                               None, None))
                else:
                    import_names.append(ImportName(local_name, None, name.start_byte, name.end_byte))
                    exports.append(ExportEntry(exported, alias.start_byte, alias.end_byte, None, index,
                                               local_name))
        elif ns_export is not None and index is not None:
            target = ns_export.children[-1]
            exported = module_name(src, target)
            exports.append(ExportEntry(exported, target.start_byte, target.end_byte, None, index, "*"))
        if source is not None:
            imports.append(ImportDecl(node.start_byte, node.end_byte, string_value(src, source),
                                      source.start_byte, source.end_byte,
                                      attrs_of(node, source, attribute_range(node)),
                                      import_names, True, clause is None and ns_export is None))
    return ModuleEntries(imports, exports, errors, frozenset(constants), fields, import_locals)


# JS white space beyond ASCII: LS, PS, NBSP, BOM (as UTF-8).
WS = rb"(?:\s|\xe2\x80[\xa8\xa9]|\xc2\xa0|\xef\xbb\xbf)"
_ATTR_TOKEN = re.compile(
    rb"(?:" + WS + rb"*(?://[^\n]*(?:\n|$)|/\*.*?\*/))*" + WS + rb"*"
    rb"""(?:("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|([{}:,])|((?:(?!\xe2\x80[\xa8\xa9]|\xc2\xa0|\xef\xbb\xbf)[^\s{}:,'"/])+)|($))""",
    re.S)


def parse_attributes(src: bytes, start: int, end: int | None = None
                     ) -> tuple[dict[str, str], int, tuple[int, str] | None]:
    """`with { key: "value", ... }` from `start` -> (attributes, end offset after `}` or -1,
    first error as (offset, message) or None)."""
    text = src if end is None else src[:end]
    pos = start
    if text.startswith(b"with", pos):
        pos += 4
    result: dict[str, str] = {}
    error: tuple[int, str] | None = None

    def token(p: int) -> tuple[str, str, int, int]:
        m = _ATTR_TOKEN.match(text, p)
        if m is None or m.lastindex is None or m.lastindex == 4:
            return "eof", "", p, p
        if m.group(1) is not None:
            raw = m.group(1)[1:-1].decode("utf-8", "surrogatepass")
            return "string", _unescape(raw) if "\\" in raw else raw, m.start(1), m.end()
        if m.group(2) is not None:
            return m.group(2).decode(), "", m.start(2), m.end()
        return "name", identifier_name(m.group(3).decode("utf-8", "surrogatepass")), m.start(3), m.end()

    kind, _, at, pos = token(pos)
    if kind != "{":
        return result, -1, (at, "Expected '{' after 'with'")
    while True:
        kind, key, at, pos = token(pos)
        if kind == "}":
            return result, pos, error
        if kind not in ("name", "string"):
            return result, -1, error or (at, "Unexpected token in import attributes")
        if key in result and error is None:
            error = (at, f"Duplicate import attribute '{key}'")
        kind, _, at, pos = token(pos)
        if kind != ":":
            return result, -1, error or (at, "Expected ':' in import attributes")
        kind, value, at, pos = token(pos)
        if kind != "string":
            if kind not in ("name",):
                return result, -1, error or (at, "Unexpected token in import attributes")
            error = error or (at, "Only string literals are allowed as import attribute values")
        result[key] = value
        kind, _, at, pos = token(pos)
        if kind == "}":
            return result, pos, error
        if kind != ",":
            return result, -1, error or (at, "Expected ',' or '}' in import attributes")
