"""CommonJS source -> what the module runner evaluates as a CommonJS record, with a source map.

The code stays CommonJS: the runner wraps it in `function (exports, require, module, __filename,
__dirname)` (runner/js/module_runner/commonjs.js). This pass finds what the runner needs before the code runs:
- every `require("literal")` (and `require.resolve("literal")`), so that the required modules are
  fetched with this one, in the same round of requests as the other modules of its level; a call
  in a branch that the mode makes dead (`if ("production" !== "production") require(…)`, after
  define) is left out;
- the named exports Node would give an `import` of it (cjs_lexer.py);
and rewrites what a function body cannot hold: `import()` (to the runner's dynamic import) and a
hashbang line. `module_syntax` tells an ES module from a CommonJS one where the file's extension
and package.json leave it open, as Node's syntax detection does.
"""

from __future__ import annotations

import re
from typing import Any

from tree_sitter import Node

from .cjs_lexer import detect_exports, has_ancestor
from .edits import Edits
from .entries import string_value

DYNAMIC_IMPORT = "__vite_ssr_dynamic_import__"
_CALLS = re.compile(rb"(?<![\w$.])(?:require(?:\s*\.\s*resolve)?|import)\s*\(")
_ESM_HINTS = re.compile(rb"(?<![\w$.])(?:import|export|await)(?![\w$])")
_CJS_NAMES = re.compile(rb"(?<![\w$.])(?:require|module|exports|__filename|__dirname)(?![\w$])")
_FUNCTIONS = frozenset({"function_declaration", "function_expression", "arrow_function", "method_definition",
                        "generator_function_declaration", "generator_function", "class_static_block"})


def module_syntax(src: bytes, root: Node) -> str | None:
    """"module" for ES module syntax (import or export declarations, `import.meta`, top-level
    await), "commonjs" for code that uses CommonJS's names (`require`, `module`, `exports`,
    `__filename`, `__dirname`), else None (either would do)."""
    for child in root.children:
        if child.type in ("import_statement", "export_statement"):
            return "module"
    for match in _ESM_HINTS.finditer(src):
        node = root.descendant_for_byte_range(match.start(), match.end())
        if node is None or node.parent is None:
            continue
        if node.type == "import" and node.parent.type == "meta_property":
            return "module"
        if node.type == "await" and node.parent.type in ("await_expression", "for_in_statement") and \
                not has_ancestor(node, _FUNCTIONS):
            return "module"
    for match in _CJS_NAMES.finditer(src):
        node = root.descendant_for_byte_range(match.start(), match.end())
        if node is not None and node.type == "identifier" and node.start_byte == match.start():
            return "commonjs"
    return None


def cjs_transform(code: str, id: str, src: bytes, root: Node
                  ) -> tuple[str, dict[str, Any], dict[str, Any], list[str]]:
    """The code to wrap, its source map, the link metadata of a CommonJS module and the literal
    specifiers of its import() calls."""
    edits = Edits(src)
    requires: list[dict[str, Any]] = []
    resolves: list[str] = []
    dynamic_import = False
    dynamic: list[str] = []
    if src.startswith(b"#!"):
        edits.overwrite(0, 2, "//")
    for match in _CALLS.finditer(src):
        node = root.descendant_for_byte_range(match.start(), match.start() + 1)
        while node is not None and node.type not in ("call_expression", "program"):
            node = node.parent
        if node is None or node.type != "call_expression" or node.start_byte != match.start():
            continue
        callee = node.child_by_field_name("function")
        if callee is None:
            continue
        if callee.type == "import":
            edits.overwrite(callee.start_byte, callee.end_byte, DYNAMIC_IMPORT, (0, callee.start_byte))
            dynamic_import = True
            imported = literal_argument(src, node)
            if imported is not None and imported not in dynamic:
                dynamic.append(imported)
            continue
        specifier = literal_argument(src, node)
        if specifier is None or in_dead_branch(node):
            continue
        if callee.type == "identifier" and callee.text == b"require":
            if not any(r["specifier"] == specifier for r in requires):
                line, start = edits.line_of(node.start_byte)
                column = len(src[start:node.start_byte].decode("utf-8", "replace")) + 1
                requires.append({"specifier": specifier, "line": line + 1, "column": column})
        elif callee.type == "member_expression" and specifier not in resolves:
            resolves.append(specifier)
    detected = detect_exports(src, root)
    names = ["default", *(name for name in detected.exports if name != "default")]
    out, map_ = edits.result(id, code)
    meta: dict[str, Any] = {
        "format": "commonjs",
        "deps": [r["specifier"] for r in requires],
        "imports": [],
        "exports": {name: {"kind": "local"} for name in names},
        "starExports": [],
        "constants": [],
        "hasTLA": False,
        "requires": requires,
        "resolves": resolves,
        "reexports": detected.reexports,
        "dynamicImport": dynamic_import,
    }
    return out, map_, meta, dynamic


def literal_argument(src: bytes, call: Node) -> str | None:
    arguments = call.child_by_field_name("arguments")
    if arguments is None or arguments.named_child_count < 1 or arguments.type != "arguments":
        return None
    argument = arguments.named_child(0)
    if argument is None:
        return None
    if argument.type == "string":
        return string_value(src, argument)
    if argument.type == "template_string" and argument.named_child_count <= 1 and not any(
            child.type == "template_substitution" for child in argument.named_children):
        return src[argument.start_byte + 1:argument.end_byte - 1].decode("utf-8", "surrogatepass")
    return None


def in_dead_branch(node: Node) -> bool:
    """Is `node` in a branch that a constant condition never takes?"""
    child = node
    parent = node.parent
    while parent is not None:
        kind = parent.type
        if kind == "if_statement":
            taken = _constant(parent.child_by_field_name("condition"))
            if taken is not None:
                consequence = parent.child_by_field_name("consequence")
                if consequence is not None and child == consequence and taken is False:
                    return True
                alternative = parent.child_by_field_name("alternative")
                if alternative is not None and child == alternative and taken is True:
                    return True
        elif kind == "ternary_expression":
            taken = _constant(parent.child_by_field_name("condition"))
            if taken is not None and child in (parent.child_by_field_name("consequence"),
                                               parent.child_by_field_name("alternative")):
                if (child == parent.child_by_field_name("consequence")) != taken:
                    return True
        elif kind == "binary_expression" and child == parent.child_by_field_name("right"):
            operator = parent.child_by_field_name("operator")
            left = _constant(parent.child_by_field_name("left"))
            if operator is not None and left is not None and (
                    (operator.type == "&&" and left is False) or (operator.type == "||" and left is True)):
                return True
        child = parent
        parent = parent.parent
    return False


def _constant(node: Node | None) -> bool | None:
    """The truth of a condition whose value is fixed in the source (after define), else None."""
    value = _value(node)
    return None if value is _UNKNOWN else bool(value)


_UNKNOWN: Any = object()


def _value(node: Node | None) -> Any:
    if node is None:
        return _UNKNOWN
    kind = node.type
    if kind == "parenthesized_expression" and node.named_child_count == 1:
        return _value(node.named_child(0))
    if kind == "string":
        text = node.text or b""
        return text[1:-1].decode("utf-8", "replace") if b"\\" not in text else _UNKNOWN
    if kind == "true":
        return True
    if kind == "false":
        return False
    if kind == "null":
        return None
    if kind == "number":
        try:
            return float(node.text or b"")
        except ValueError:
            return _UNKNOWN
    if kind == "unary_expression":
        operator = node.child_by_field_name("operator")
        inner = _value(node.child_by_field_name("argument"))
        if operator is not None and operator.type == "!" and inner is not _UNKNOWN:
            return not inner
        return _UNKNOWN
    if kind == "binary_expression":
        operator = node.child_by_field_name("operator")
        left = _value(node.child_by_field_name("left"))
        if operator is None or left is _UNKNOWN:
            return _UNKNOWN
        if operator.type == "&&" and not left:
            return left
        if operator.type == "||" and left:
            return left
        right = _value(node.child_by_field_name("right"))
        if right is _UNKNOWN:
            return _UNKNOWN
        if operator.type in ("&&", "||"):
            return right
        if type(left) is not type(right):
            return _UNKNOWN if operator.type in ("==", "!=") else operator.type == "!=="
        if operator.type in ("===", "=="):
            return left == right
        if operator.type in ("!==", "!="):
            return left != right
    return _UNKNOWN
