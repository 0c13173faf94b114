"""The TypeScript constructs that are not only types, lowered to JavaScript as TypeScript emits
them, each on the lines it came from (so the source map stays line-for-line):

- `enum E { A, B = "b" }` -> `var E; (function (E) { E[E["A"] = 0] = "A"; E["B"] = "b"; })(E || (E = {}));`
  (`const enum` alike; members named in an initializer are read from the enum);
- `namespace N { export const x = 1 }` -> `var N; (function (N) { N.x = 1; })(N || (N = {}));`, with
  exported functions and classes assigned after their declaration, references to exported
  variables (and to what other blocks of the same namespace export) rewritten to `N.x`, nested
  and dotted namespaces (`namespace A.B {}`) and merging with a function, class or enum;
- parameter properties (`constructor(private x: number)`) -> a field `x;` first in the class and
  `this.x = x;` at the start of the constructor body, after a leading `super(…)` call;
- `import A = N.B` -> `const A = N.B` (removed when `A` is used only as a type);
- in CommonJS files (.cts): `import x = require("y")` -> `const x = require("y")` and
  `export = x` -> `module.exports = x`. In an ES module both are load errors that say what to
  write instead (an ES module has no `require` and no `module.exports`).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

from tree_sitter import Node

from ..early_errors import parse_error
from .edit_list import EditList
from .typescript import Constructs, TypeStripper, is_instantiated, pattern_names

UNSUPPORTED = "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX"  # Node's code for TypeScript it does not run
_IDENT = re.compile(r"[A-Za-z_$][\w$]*", re.ASCII)
_FUNCTIONS = frozenset({"function_declaration", "function_expression", "arrow_function", "method_definition",
                        "generator_function_declaration", "generator_function"})
_NAMESPACES = frozenset({"internal_module", "module"})


class ConstructLowering:
    def __init__(self, edits: EditList, stripper: TypeStripper, code: str, file: str, *, commonjs: bool) -> None:
        self.edits = edits
        self.src = edits.src
        self.stripper = stripper
        self.code = code
        self.file = file
        self.commonjs = commonjs
        self._declared: dict[int, set[str]] = {}
        # exports of each namespace, by (container, dotted name): name -> declaration offset
        self._namespace_exports: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)

    def run(self, constructs: Constructs) -> None:
        self.edits.sort_erased()
        for node in constructs.requires:
            self._require(node)
        for node in constructs.export_assignments:
            self._export_assignment(node)
        for node in constructs.aliases:
            self._alias(node)
        for node in constructs.namespaces:
            self._collect_exports(node)
        for node in constructs.enums:
            self._enum(node)
        for node in constructs.namespaces:
            self._namespace(node)
        self._parameter_properties(constructs.parameter_properties)

    def _error(self, node: Node, message: str) -> Exception:
        return parse_error(self.code, self.src, node.start_byte, message, self.file, UNSUPPORTED)

    # ---- CommonJS syntax ----

    def _require(self, statement: Node) -> None:
        clause = next(c for c in statement.named_children if c.type == "import_require_clause")
        local = _text(clause.named_children[0])
        source = clause.child_by_field_name("source")
        if not self.commonjs:
            raise self._error(statement, f"`import {local} = require({_text(source) if source else ''})` is "
                              "CommonJS syntax, which an ES module cannot use: write "
                              f"`import {local} from {_text(source) if source else '...'}` (or name the file .cts)")
        if local in self.stripper.used_names({local}, [statement]):
            self.edits.replace(statement.children[0].start_byte, statement.children[0].end_byte, "const",
                               (0, statement.start_byte))
        else:
            self.edits.erase(statement.start_byte, statement.end_byte, statement=True)

    def _export_assignment(self, statement: Node) -> None:
        equals = statement.children[1]
        if not self.commonjs:
            raise self._error(statement, "`export =` is CommonJS syntax, which an ES module cannot use: write "
                              "`export default …` (or name the file .cts)")
        self.edits.replace(statement.start_byte, equals.end_byte, "module.exports =", (0, statement.start_byte))

    # ---- import A = N.B ----

    def _alias(self, node: Node) -> None:
        local = node.named_children[0]
        value = node.named_children[1] if node.named_child_count > 1 else None
        if value is not None and value.type == "identifier" and _text(value) == "require":
            raise self._error(node, "`export import x = require(…)` is not supported: write "
                              "`import x = require(…)` and export it separately")
        parent = node.parent
        keyword = node.children[0]
        if parent is not None and parent.type == "export_statement":
            if _namespace_of(parent) is not None:
                return  # lowered with its namespace's exports
            self.edits.replace(keyword.start_byte, keyword.end_byte, "const", (0, keyword.start_byte))
            return
        if _text(local) in self.stripper.used_names({_text(local)}, [node]):
            self.edits.replace(keyword.start_byte, keyword.end_byte, "const", (0, keyword.start_byte))
        else:
            self.edits.erase(node.start_byte, node.end_byte, statement=True)

    # ---- declarations shared by enums and namespaces ----

    def _declare(self, name: str, container: Node) -> str:
        """`var N; ` (`let N; ` below the top level) the first time a name is lowered in a statement
        list, nothing when it is declared already (merged declarations, a function or class)."""
        names = self._declared.get(container.id)
        if names is None:
            names = self._declared[container.id] = set()
            for item in container.named_children:
                declaration = item.child_by_field_name("declaration") if item.type == "export_statement" else item
                if declaration is not None and declaration.type in (
                        "function_declaration", "generator_function_declaration", "class_declaration",
                        "abstract_class_declaration"):
                    name_node = declaration.child_by_field_name("name")
                    if name_node is not None:
                        names.add(_text(name_node))
        if name in names:
            return ""
        names.add(name)
        return f"{'var' if container.type == 'program' else 'let'} {name}; "

    def _head(self, node: Node) -> tuple[Node, Node, str | None]:
        """For an enum or namespace: its statement, the statement list holding it, and the object
        of the namespace that exports it (None when no namespace does)."""
        statement = node
        while statement.parent is not None and statement.parent.type in ("export_statement", "expression_statement"):
            statement = statement.parent
        container = statement.parent
        assert container is not None
        outer = _namespace_of(statement) if statement.type == "export_statement" else None
        return statement, container, outer

    def _lower_export_keyword(self, statement: Node, declared: str, outer: str | None) -> None:
        """`export enum E` stays `export var E; …` at the top level; a merged declaration, or one
        inside a namespace (assigned to the namespace instead), loses its `export`."""
        if statement.type == "export_statement" and (outer is not None or not declared):
            keyword = statement.children[0]
            self.edits.erase(keyword.start_byte, keyword.end_byte)

    # ---- enums ----

    def _enum(self, node: Node) -> None:
        name_node = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        assert name_node is not None and body is not None
        name = _text(name_node)
        statement, container, outer = self._head(node)
        declared = self._declare(name, container)
        self._lower_export_keyword(statement, declared, outer)
        head = f"{declared}(function ({name}) {{"
        self.edits.replace(node.start_byte, body.children[0].end_byte, head, (0, node.start_byte),
                           (len(declared.encode()) + 11, name_node.start_byte))
        members = [m for m in body.named_children if m.type != "comment"]
        member_names = {_member_name(m) for m in members}
        previous: tuple[str, int | str] | None = None
        for member in members:
            previous = self._member(name, member, previous, member_names)
        for token in body.children:
            if token.type == ",":
                self.edits.replace(token.start_byte, token.end_byte, "")
        close = body.children[-1]
        target = f"{name} = {outer}.{name} || ({outer}.{name} = {{}})" if outer else f"{name} || ({name} = {{}})"
        self.edits.replace(close.start_byte, close.end_byte, f"}})({target});", (0, close.start_byte))

    def _member(self, enum: str, member: Node, previous: tuple[str, int | str] | None,
                member_names: set[str]) -> tuple[str, int | str]:
        name_node = member.child_by_field_name("name") if member.type == "enum_assignment" else member
        assert name_node is not None
        key = _text(name_node) if name_node.type == "string" else json.dumps(_text(name_node))
        slot = f"{enum}[{key}]"
        if member.type != "enum_assignment":
            if previous is None:
                value = "0"
                result: tuple[str, int | str] = ("number", 0)
            elif previous[0] == "number":
                value = str(int(previous[1]) + 1)
                result = ("number", int(previous[1]) + 1)
            elif previous[0] == "expression":
                value = f"{enum}[{previous[1]}] + 1"
                result = ("expression", key)
            else:
                raise self._error(member, f"enum member {_text(name_node)} needs an initializer (the member "
                                  "before it is not a number)")
            self.edits.replace(member.start_byte, member.end_byte, f"{enum}[{slot} = {value}] = {key};",
                               (0, member.start_byte))
            return result
        value_node = member.named_children[-1]
        self._rewrite_member_references(enum, value_node, member_names)
        number = _number(value_node)
        if value_node.type == "string" or (value_node.type == "template_string" and
                                           not any(c.type == "template_substitution" for c in value_node.children)):
            self.edits.replace(member.start_byte, value_node.start_byte, f"{slot} = ", (0, member.start_byte))
            self.edits.insert(value_node.end_byte, ";")
            return ("string", key)
        if number is not None:
            self.edits.replace(member.start_byte, value_node.start_byte, f"{enum}[{slot} = ", (0, member.start_byte))
            self.edits.insert(value_node.end_byte, f"] = {key};")
            return ("number", number)
        # Not known to be a number or a string: a reverse mapping only for what is not a string,
        # as TypeScript decides at compile time.
        self.edits.replace(member.start_byte, value_node.start_byte, f"if (typeof ({slot} = ",
                           (0, member.start_byte))
        self.edits.insert(value_node.end_byte, f') !== "string") {enum}[{slot}] = {key};')
        return ("expression", key)

    def _rewrite_member_references(self, enum: str, value: Node, names: set[str]) -> None:
        stack = [value]
        while stack:
            node = stack.pop()
            if node.type == "identifier" and _text(node) in names and not self.edits.is_erased(node.start_byte):
                self.edits.replace(node.start_byte, node.end_byte, _member_access(enum, _text(node)),
                                   (0, node.start_byte))
            elif node.type not in _FUNCTIONS:
                stack.extend(node.named_children)

    # ---- namespaces ----

    def _collect_exports(self, node: Node) -> None:
        _, container, _ = self._head(node)
        exports = self._namespace_exports[(container.id, _dotted(node))]
        for name, offset in _exported_names(node):
            exports.setdefault(name, offset)

    def _namespace(self, node: Node) -> None:
        name_node = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        assert name_node is not None and body is not None
        names = [part.strip() for part in _text(name_node).split(".")]
        statement, container, outer = self._head(node)
        declared = self._declare(names[0], container)
        self._lower_export_keyword(statement, declared, outer)
        head = ""
        points: list[tuple[int, int]] = [(0, node.start_byte)]
        for i, part in enumerate(names):
            declaration = declared if i == 0 else f"let {part}; "
            head += f"{declaration}(function ({part}) {{ "
        self.edits.replace(node.start_byte, body.children[0].end_byte, head.rstrip(), *points)
        close = ""
        for i in range(len(names) - 1, -1, -1):
            part = names[i]
            parent = names[i - 1] if i else outer
            target = f"{part} = {parent}.{part} || ({parent}.{part} = {{}})" if parent else f"{part} || ({part} = {{}})"
            close += f"}})({target}); "
        end = body.children[-1]
        self.edits.replace(end.start_byte, end.end_byte, close.rstrip(), (0, end.start_byte))
        self._namespace_body(names[-1], body, self._namespace_exports[(container.id, _dotted(node))])

    def _namespace_body(self, ns: str, body: Node, all_exports: dict[str, int]) -> None:
        local: set[str] = set()  # declared in this block (not rewritten, unless exported variables)
        variables: set[str] = set()  # exported variables of this block (rewritten)
        sites: set[int] = set()
        for statement in body.named_children:
            if self.edits.is_erased(statement.start_byte):
                continue
            if statement.type != "export_statement":
                local.update(_declared_names(statement))
                continue
            declaration = statement.child_by_field_name("declaration")
            if declaration is None:
                raise self._error(statement, "a namespace can only export declarations")
            keyword = statement.children[0]
            kind = declaration.type
            if kind in ("function_declaration", "generator_function_declaration", "class_declaration",
                        "abstract_class_declaration"):
                name = _text(declaration.child_by_field_name("name"))  # type: ignore[arg-type]
                local.add(name)
                self.edits.erase(keyword.start_byte, keyword.end_byte)
                self.edits.insert(declaration.end_byte, f" {ns}.{name} = {name};")
            elif kind in ("lexical_declaration", "variable_declaration"):
                first = next(c for c in declaration.named_children if c.type == "variable_declarator")
                self.edits.erase(keyword.start_byte, first.start_byte)
                for declarator in declaration.named_children:
                    if declarator.type != "variable_declarator":
                        continue
                    target = declarator.child_by_field_name("name")
                    assert target is not None
                    if target.type != "identifier":
                        raise self._error(declarator, "a destructuring export in a namespace is not supported: "
                                          "export each name on its own")
                    name = _text(target)
                    variables.add(name)
                    sites.add(target.start_byte)
                    self.edits.replace(target.start_byte, target.end_byte, f"{ns}.{name}", (0, target.start_byte))
                    if declarator.child_by_field_name("value") is None:
                        self.edits.insert(declarator.end_byte, " = void 0")
            elif kind == "import_alias":
                alias = declaration.named_children[0]
                variables.add(_text(alias))
                sites.add(alias.start_byte)
                self.edits.erase(keyword.start_byte, alias.start_byte)
                self.edits.replace(alias.start_byte, alias.end_byte, f"{ns}.{_text(alias)}", (0, alias.start_byte))
            elif kind in ("enum_declaration", "internal_module", "module"):
                local.add(_text(declaration.child_by_field_name("name")).split(".")[0])  # type: ignore[arg-type]
        rewritten = variables | {n for n in all_exports if n not in local}
        if rewritten:
            self._rewrite_references(ns, body, rewritten, sites)

    def _rewrite_references(self, ns: str, body: Node, names: set[str], sites: set[int]) -> None:
        pattern = re.compile(rb"(?<![\w$])(?:" + b"|".join(re.escape(n.encode()) for n in sorted(names)) +
                             rb")(?![\w$])")
        root = body
        for match in pattern.finditer(self.src, body.start_byte, body.end_byte):
            start, end = match.span()
            if start in sites or self.edits.is_erased(start):
                continue
            node = root.descendant_for_byte_range(start, end)
            if node is None or node.start_byte != start or node.end_byte != end:
                continue
            name = match.group().decode()
            if node.type not in ("identifier", "shorthand_property_identifier") or _shadowed(node, name, body):
                continue
            if node.parent is not None and node.parent.type in ("enum_declaration", "internal_module", "module"):
                continue  # the name of a nested declaration
            text = f"{ns}.{name}" if node.type == "identifier" else f"{name}: {ns}.{name}"
            self.edits.replace(start, end, text, (0, start))

    # ---- parameter properties ----

    def _parameter_properties(self, found: list[tuple[Node, Node]]) -> None:
        by_constructor: dict[int, tuple[Node, list[Node]]] = {}
        for method, parameter in found:
            name = method.child_by_field_name("name") if method is not None else None
            if method is None or method.type != "method_definition" or name is None or _text(name) != "constructor":
                raise self._error(parameter, "a parameter property (a parameter with public, private, protected "
                                  "or readonly) is only allowed in a constructor")
            by_constructor.setdefault(method.id, (method, []))[1].append(parameter)
        for method, parameters in by_constructor.values():
            body = method.child_by_field_name("body")
            if body is None:
                continue
            at = body.children[0].end_byte
            ends_with_semicolon = True
            for statement in body.named_children:
                call = statement.named_children[0] if statement.type == "expression_statement" else None
                callee = call.child_by_field_name("function") if call is not None and call.type == "call_expression" \
                    else None
                if callee is not None and callee.type == "super":
                    at = statement.end_byte
                    ends_with_semicolon = statement.children[-1].type == ";"
                    break
            fields = []
            if not ends_with_semicolon:
                self.edits.insert(at, ";")  # `super()` ended by a line break: the assignments go on its line
            for parameter in parameters:
                pattern = parameter.child_by_field_name("pattern")
                if pattern is None or pattern.type != "identifier":
                    raise self._error(parameter, "a parameter property cannot be a destructuring pattern")
                local = _text(pattern)
                fields.append(f"{local};")
                self.edits.insert(at, f" this.{local} = {local};", (1, pattern.start_byte))
            # Declared as fields too, first in the class (TypeScript's output for ES2022 classes,
            # whose fields are defined, not assigned): the properties' order and an overriding
            # subclass field behave as there.
            class_body = method.parent
            if class_body is not None:
                self.edits.insert(class_body.children[0].end_byte, " " + " ".join(fields))


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "surrogatepass")


def _member_access(base: str, name: str) -> str:
    return f"{base}.{name}" if _IDENT.fullmatch(name) else f"{base}[{json.dumps(name)}]"


def _member_name(member: Node) -> str:
    name = member.child_by_field_name("name") if member.type == "enum_assignment" else member
    if name is None:
        return ""
    text = _text(name)
    return text[1:-1] if name.type == "string" else text


def _number(node: Node) -> int | None:
    """The integer value of a numeric literal initializer (`3`, `-1`, `0x10`), else None."""
    sign = 1
    if node.type == "unary_expression" and node.children[0].type in ("-", "+") and node.named_child_count == 1:
        sign = -1 if node.children[0].type == "-" else 1
        node = node.named_children[0]
    if node.type != "number":
        return None
    text = _text(node).replace("_", "")
    try:
        return sign * int(text, 0)
    except ValueError:
        return None


def _dotted(namespace: Node) -> str:
    name = namespace.child_by_field_name("name")
    return "".join(_text(name).split()) if name is not None else ""


def _namespace_of(statement: Node) -> str | None:
    """The object name of the namespace whose body holds `statement`, if any."""
    block = statement.parent
    owner = block.parent if block is not None and block.type == "statement_block" else None
    if owner is None or owner.type not in _NAMESPACES:
        return None
    return _dotted(owner).split(".")[-1]


def _exported_names(namespace: Node) -> list[tuple[str, int]]:
    body = namespace.child_by_field_name("body")
    out: list[tuple[str, int]] = []
    for statement in body.named_children if body is not None else ():
        declaration = statement.child_by_field_name("declaration") if statement.type == "export_statement" else None
        if declaration is None:
            continue
        if declaration.type in ("lexical_declaration", "variable_declaration"):
            for declarator in declaration.named_children:
                name = declarator.child_by_field_name("name") if declarator.type == "variable_declarator" else None
                if name is not None and name.type == "identifier":
                    out.append((_text(name), name.start_byte))
        elif declaration.type in _NAMESPACES and not is_instantiated(declaration):
            continue
        else:
            name = declaration.child_by_field_name("name")
            if name is None and declaration.type == "import_alias":
                name = declaration.named_children[0]
            if name is not None and declaration.type not in ("interface_declaration", "type_alias_declaration",
                                                             "ambient_declaration", "function_signature"):
                out.append((_text(name).split(".")[0], name.start_byte))
    return out


def _declared_names(statement: Node) -> list[str]:
    """Names a statement declares in its statement list."""
    node = statement
    if node.type == "expression_statement" and node.named_child_count:
        node = node.named_children[0]
    if node.type in ("lexical_declaration", "variable_declaration"):
        names: list[str] = []
        for declarator in node.named_children:
            target = declarator.child_by_field_name("name") if declarator.type == "variable_declarator" else None
            if target is not None:
                names.extend([_text(target)] if target.type == "identifier" else pattern_names(target))
        return names
    name = node.child_by_field_name("name")
    if name is not None and node.type in ("function_declaration", "generator_function_declaration",
                                          "class_declaration", "abstract_class_declaration", "enum_declaration",
                                          "internal_module", "module", "import_alias"):
        return [_text(name).split(".")[0]]
    if node.type == "import_alias" and node.named_child_count:
        return [_text(node.named_children[0])]
    return []


def _shadowed(node: Node, name: str, body: Node) -> bool:
    """Is `name` at `node` bound by a scope between it and the namespace `body`?"""
    scope = node.parent
    while scope is not None and scope.id != body.id:
        kind = scope.type
        if kind in _FUNCTIONS:
            parameters = scope.child_by_field_name("parameters") or scope.child_by_field_name("parameter")
            if parameters is not None and name in _parameter_names(parameters):
                return True
            own = scope.child_by_field_name("name")
            if own is not None and kind in ("function_expression", "generator_function") and _text(own) == name:
                return True
            function_body = scope.child_by_field_name("body")
            if function_body is not None and function_body.type == "statement_block" and \
                    name in _var_names(function_body):
                return True
        elif kind == "statement_block" or kind == "switch_body" or kind == "class_body":
            for statement in scope.named_children:
                if name in _declared_names(statement):
                    return True
        elif kind == "catch_clause":
            parameter = scope.child_by_field_name("parameter")
            if parameter is not None and name in ([_text(parameter)] if parameter.type == "identifier"
                                                  else pattern_names(parameter)):
                return True
        elif kind in ("for_statement", "for_in_statement"):
            head = scope.child_by_field_name("initializer") or scope.child_by_field_name("left")
            if head is not None and name in (_declared_names(head) or
                                             ([_text(head)] if kind == "for_in_statement" and
                                              scope.child_by_field_name("kind") is not None and
                                              head.type == "identifier" else [])):
                return True
        elif kind in _NAMESPACES:
            if any(n == name for n, _ in _exported_names(scope)):
                return True
        scope = scope.parent
    return False


def _parameter_names(parameters: Node) -> list[str]:
    if parameters.type == "identifier":
        return [_text(parameters)]
    names: list[str] = []
    for parameter in parameters.named_children:
        pattern = parameter.child_by_field_name("pattern") if parameter.type in (
            "required_parameter", "optional_parameter") else parameter
        if pattern is None:
            continue
        names.extend([_text(pattern)] if pattern.type == "identifier" else pattern_names(pattern))
    return names


def _var_names(block: Node) -> set[str]:
    """`var` names declared anywhere in a function body (not in nested functions)."""
    names: set[str] = set()
    stack = list(block.named_children)
    while stack:
        node = stack.pop()
        if node.type == "variable_declaration":
            names.update(_declared_names(node))
        elif node.type == "function_declaration":
            name = node.child_by_field_name("name")
            if name is not None:
                names.add(_text(name))
        elif node.type not in _FUNCTIONS and node.type not in ("class", "class_declaration"):
            stack.extend(node.named_children)
    return names
