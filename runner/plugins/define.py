"""define: constants replaced at transform time, as Vite's (esbuild's) `define` does.

Every JavaScript module, ES or CommonJS, gets `process.env.NODE_ENV` and `import.meta.env.MODE`
/ `DEV` / `PROD` / `SSR` from the mode, plus the server's and the environment's own `define`
entries (identifiers or member chains to JavaScript expressions). Only expressions are replaced,
found in the syntax tree: never text in strings or comments, a property name (`a.process`), an
assignment target, or a name the module declares itself (`function f(process) {…}`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..ids import file_of
from ..plugin import Plugin
from .module_types import split_type

if TYPE_CHECKING:
    from tree_sitter import Node

_JS = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")
_SCOPES = frozenset({"function_declaration", "function_expression", "arrow_function", "method_definition",
                     "generator_function_declaration", "generator_function", "statement_block", "program",
                     "for_statement", "for_in_statement", "catch_clause", "class_body", "switch_body"})
_FUNCTIONS = frozenset({"function_declaration", "function_expression", "arrow_function", "method_definition",
                        "generator_function_declaration", "generator_function", "program"})
_WRITES = frozenset({"assignment_expression", "augmented_assignment_expression"})


class DefinePlugin(Plugin):
    name = "modrun:define"

    def __init__(self, define: dict[str, str]) -> None:
        self.define = define
        self._compiled: re.Pattern[bytes] | None = None  # (compiled by the first transform: a warm run has none)
        # What a module must hold for a key to match: every name of the key's chain, the last (the
        # rarest: `import` alone is in nearly every module) tested first. Substring tests, before any regex.
        self._names = [tuple(dict.fromkeys(reversed(key.split(".")))) for key in define]

    @property
    def _pattern(self) -> re.Pattern[bytes] | None:
        """One pattern for every key: `import.meta` may be spaced as the grammar allows."""
        if self._compiled is None and self.define:
            parts = [re.escape(key).replace(r"import\.meta", r"import\s*\.\s*meta") for key in
                     sorted(self.define, key=len, reverse=True)]
            self._compiled = re.compile(rb"(?<![\w$.])(?:" + "|".join(parts).encode() + rb")(?![\w$])")
        return self._compiled

    def transform(self, code: str, id: str, environment: Any) -> dict[str, Any] | None:
        path, module_type = split_type(id)
        if not self.define or module_type is not None or id.startswith("\0") or \
                not file_of(path).endswith(_JS) or not self._may_match(code):
            return None
        src = code.encode("utf-8", "surrogatepass")
        pattern = self._pattern
        assert pattern is not None  # (keys defined)
        matches = list(pattern.finditer(src))
        if not matches:
            return None
        # Imported here: a run whose modules hold no defined name never loads the parser.
        from ..transform.edits import Edits
        from ..transform.parser import parse_javascript

        root = parse_javascript(src).root_node
        edits = Edits(src)
        changed = False
        for match in matches:
            start, end = match.span()
            node = root.named_descendant_for_byte_range(start, end)
            if node is None or node.start_byte != start or node.end_byte != end or not _replaceable(node):
                continue
            key = re.sub(r"\s+", "", match.group().decode())
            head = key.split(".")[0]
            if head != "import" and _declared(node, head):
                continue
            value = self.define[key]
            if _needs_parens(value):
                value = f"({value})"
            if node.type == "shorthand_property_identifier":
                value = f"{key}: {value}"
            edits.overwrite(start, end, value, (0, start))
            changed = True
        if not changed:
            return None
        out, map_ = edits.result(file_of(path), code)
        return {"code": out, "map": map_}

    def _may_match(self, code: str) -> bool:
        for names in self._names:
            for name in names:
                if name not in code:
                    break
            else:
                return True
        return False


def _needs_parens(value: str) -> bool:
    return not re.fullmatch(r"[\w$.]+|\"[^\"\\\n]*\"|'[^'\\\n]*'|-?\d+(\.\d+)?", value)


def _replaceable(node: Node) -> bool:
    """Is the node an expression read (not written, deleted, or a name of something)?"""
    if node.type not in ("identifier", "member_expression", "shorthand_property_identifier"):
        return False
    parent = node.parent
    if parent is None:
        return False
    if parent.type in _WRITES and parent.child_by_field_name("left") == node:
        return False
    if parent.type == "update_expression":
        return False
    if parent.type == "unary_expression" and parent.child(0) is not None and parent.child(0).type == "delete":
        return False
    if parent.type in ("variable_declarator", "formal_parameters", "function_declaration", "class_declaration",
                       "labeled_statement", "break_statement", "continue_statement") and node.type == "identifier":
        return parent.type == "variable_declarator" and parent.child_by_field_name("value") == node
    if parent.type in ("for_in_statement",) and parent.child_by_field_name("left") == node:
        return False
    return True


def _declared(node: Node, name: str) -> bool:
    """Does a scope around `node` declare `name` (a parameter, a variable, a function or class, a
    catch parameter)? Checked only for the few nodes that match a define key."""
    scope: Node | None = node.parent
    while scope is not None:
        if scope.type in _SCOPES and _declares(scope, name, scope.type in _FUNCTIONS):
            return True
        scope = scope.parent
    return False


def _declares(scope: Node, name: str, function: bool) -> bool:
    params = scope.child_by_field_name("parameters") or scope.child_by_field_name("parameter")
    if params is not None and _binds(params, name):
        return True
    body = scope.child_by_field_name("body") if scope.type != "program" else scope
    if scope.type in ("statement_block", "switch_body", "class_body"):
        body = scope
    if body is None:
        return False
    return _declares_in(body, name, function)


def _declares_in(node: Node, name: str, function: bool) -> bool:
    for child in node.named_children:
        kind = child.type
        if kind in ("lexical_declaration", "variable_declaration"):
            if any(
                    d.type == "variable_declarator" and _binds(d.child_by_field_name("name"), name)
                    for d in child.named_children):
                return True
        elif kind in ("function_declaration", "generator_function_declaration", "class_declaration"):
            found = child.child_by_field_name("name")
            if found is not None and found.text == name.encode():
                return True
        elif function and kind not in _FUNCTIONS and kind not in ("class_declaration", "class") and \
                _var_below(child, name):
            return True
    return False


def _var_below(node: Node, name: str) -> bool:
    """A `var` declaration of `name` nested in blocks of the same function (var is hoisted)."""
    for child in node.named_children:
        if child.type in _FUNCTIONS or child.type in ("class_declaration", "class"):
            continue
        if child.type == "variable_declaration" and any(
                d.type == "variable_declarator" and _binds(d.child_by_field_name("name"), name)
                for d in child.named_children):
            return True
        if _var_below(child, name):
            return True
    return False


def _binds(pattern: Node | None, name: str) -> bool:
    if pattern is None:
        return False
    if pattern.type in ("identifier", "shorthand_property_identifier_pattern"):
        return pattern.text == name.encode()
    return any(_binds(child, name) for child in pattern.named_children
               if child.type != "property_identifier" and child.type != "member_expression")
