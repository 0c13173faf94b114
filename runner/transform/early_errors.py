"""Early (parse-time) errors of the module goal that the runner transform would otherwise hide.

The transformed code is compiled by QuickJS as the body of a strict async function, so QuickJS
still reports most strict-mode errors itself. What it can no longer see is checked here: the
import/export syntax the transform removes, the rules that differ between a module and a
function body (top-level `return`, `new.target`, `await` as an identifier, lexical top-level
functions, HTML-like comments), names the transform rewrites (`arguments`, imports), and the
syntax errors tree-sitter recovered from (ERROR and MISSING nodes).
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..code_frame import code_frame
from ..errors import Location, ParseError
from .entries import ModuleEntries, default_declaration_head
from .parser import F_DECLARATION, F_VALUE, parse_javascript
from .scope import ScopeAnalysis

_DEFAULT_DECLARATIONS = frozenset({"function_declaration", "generator_function_declaration",
                                   "class_declaration"})
_STATEMENT_LISTS = frozenset({"program", "statement_block", "switch_case", "switch_default", "ERROR"})
# What a `yield` belongs to: the nearest of these (a method is a generator when it has a `*`).
_FUNCTIONS = frozenset({"function_declaration", "function_expression", "arrow_function", "method_definition",
                        "generator_function", "generator_function_declaration", "class_static_block"})

MESSAGES = {
    "await-identifier": "Unexpected reserved word 'await' (modules reserve it)",
    "await": "'await' is only valid in async functions and the top level of modules",
    "return": "Illegal return statement (not inside a function)",
    "new.target": "new.target expression is not allowed here",
    "super": "'super' keyword unexpected here",
    "nested-import": "An import declaration may only appear at the top level of a module",
    "nested-export": "An export declaration may only appear at the top level of a module",
    "html-comment": "HTML-like comments are not allowed in modules",
    "jsx": "JSX syntax is not supported here (transform it with a plugin first)",
    "delete-identifier": "Delete of an unqualified identifier in strict mode",
    "strict-assign": "Unexpected eval or arguments in strict mode",
    "assign-meta": "Invalid assignment target (import.meta / new.target)",
    "yield": "Unexpected strict mode reserved word 'yield' (not inside a generator)",
}


def parse_error(code: str, src: bytes, offset: int, message: str, file: str,
                error_code: str = "ERR_PARSE") -> ParseError:
    """A ParseError at byte `offset` of `src` (1-based line and character column, code frame);
    `error_code` tells syntax errors (ERR_PARSE) from syntax modrun does not support."""
    offset = max(0, min(offset, len(src)))
    line = src.count(b"\n", 0, offset) + 1
    line_start = src.rfind(b"\n", 0, offset) + 1
    column = len(src[line_start:offset].decode("utf-8", "replace")) + 1
    message = f"{message} ({file}:{line}:{column})"  # the place also where only the message is shown
    return ParseError(message, loc=Location(file, line, column), frame=code_frame(code, line, column),
                      id=file, code=error_code)


def tree_error(root: Node, src: bytes) -> tuple[int, str] | None:
    """The first ERROR or MISSING node, as (offset, message); None for a clean tree."""
    for node in _error_nodes(root):
        if node.is_missing and (_declaration_semicolon(node) or _module_item_asi(node, src)):
            continue
        return _blame(root, src, node)
    return None


def _blame(root: Node, src: bytes, node: Node) -> tuple[int, str]:
    """The place and message Node gives for the error tree-sitter recovered from at `node`."""
    if node.is_missing:
        # Where the missing token should have been, the parser met the next one: blamed, as Node does.
        return unexpected_token(root, src, node.start_byte)
    binding = _declared_binding(node)
    if binding is not None:
        return unexpected_token(root, src, binding.start_byte)
    known = _recovered_error(root, src, node)
    if known is not None:
        return known
    parent = node.parent
    if parent is None or parent.type in _STATEMENT_LISTS or _wants_operand(node):
        inner = next(_error_nodes(node), None)
        if inner is not None:  # recovery went wrong inside what it swallowed: blame that
            return _blame(root, src, inner)
        # Recovery at statement level swallows a valid prefix, and one ending in an operator
        # (`const x = ;`) is valid up to there: blame the token after it, as Node does.
        return unexpected_token(root, src, node.end_byte)
    return unexpected_token(root, src, node.start_byte)


_OPERATORS = frozenset(
    "= += -= *= /= %= **= <<= >>= >>>= &= |= ^= &&= ||= ??= + - * / % ** << >> >>> & | ^ && || ?? "
    "== != === !== < > <= >= => ? : , . ( [ { ! ~ in instanceof new typeof void delete await as default".split())
# Tokens no statement can begin with: an ERROR of statements that starts with one is that token's fault.
_NO_STATEMENT_START = frozenset(
    "= += -= *= %= **= <<= >>= >>>= &= |= ^= &&= ||= ??= * % ** << >> >>> & | ^ && || ?? == != === !== "
    "> <= >= => ? : , . in instanceof catch finally else case".split())
# Leaves Node names as identifiers ("Unexpected identifier 'x'"): tree-sitter's, and the contextual keywords.
_IDENTIFIERS = frozenset(("identifier", "property_identifier", "shorthand_property_identifier",
                          "statement_identifier", "as", "of", "async", "get", "set", "from", "target", "meta"))
# Expressions Node names by kind when one follows another ("Unexpected string").
_PRIMARIES = frozenset(("string", "number", "identifier", "template_string", "true", "false", "null"))


_OPENERS = {"(": ")", "[": "]", "{": "}"}
_HEAD_KEYWORDS = frozenset(("if", "while", "for", "switch", "with", "catch"))
_QUOTES = frozenset(("'", '"'))
# What can never be assigned to, in tree-sitter's names (an identifier, a member, a pattern can).
_NOT_TARGETS = frozenset(("number", "string", "template_string", "true", "false", "null", "undefined",
                          "update_expression", "meta_property", "call_expression", "binary_expression",
                          "unary_expression", "regex", "this", "arrow_function"))


def _recovered_error(root: Node, src: bytes, node: Node) -> tuple[int, str] | None:
    """Where tree-sitter's recovery would be blamed at the wrong token (often the end of input), the
    token Node blames: a closing bracket nothing opened, a string left open or broken by a line, a
    head keyword with no `(`, an assignment to what cannot be assigned."""
    children = node.children
    if not children:
        return None
    first = children[0]
    parent = node.parent
    if parent is not None and parent.type in _STATEMENT_LISTS and first.type in _NO_STATEMENT_START:
        return unexpected_token(root, src, first.start_byte)  # `catch` with no `try`, a stray `=>`
    glued = _glued_number(root, node)
    if glued is not None:
        return glued
    if first.type == "?" and not any(child.type == ":" for child in children):
        return unexpected_token(root, src, node.end_byte)  # a conditional with no `:`: blamed where it should be
    follower = node.next_sibling
    if len(children) == 1 and first.type in _PRIMARIES and follower is not None and follower.type in _PRIMARIES:
        return unexpected_token(root, src, follower.start_byte)  # `'it''s'`: the second string
    for i, child in enumerate(children[:-1]):
        if child.type == "/" and children[i + 1].type == "regex_pattern" and children[-1].type != "/":
            if src.startswith(b"/*", child.start_byte):
                return unexpected_token(root, src, child.start_byte)  # a comment left open
            return child.start_byte, "Invalid regular expression: missing /"  # a literal left open
    if first.type == "object" and len(children) == 2 and children[1].type == "=":
        bad = _not_a_target(first)  # `({a: 1} = 1)`
        if bad is not None:
            return bad.start_byte, "Invalid destructuring assignment target"
    closer = _unopened_closer(children)
    if closer is not None:
        return unexpected_token(root, src, closer.start_byte)
    if parent is not None and parent.type == "string":  # a line break in a string
        return parent.start_byte, "Invalid or unexpected token"
    if first.type in _HEAD_KEYWORDS and len(children) > 1 and children[1].type != "(":
        return unexpected_token(root, src, children[1].start_byte)
    for i, child in enumerate(children):
        if child.type in _QUOTES and child.type not in (c.type for c in children[i + 1:]):
            return child.start_byte, "Invalid or unexpected token"
    # `1 = 2` is swallowed whole; `a++ = 1` keeps its target and swallows from the `=`
    assigns = len(children) > 1 and children[1].type == "="
    target = node.prev_sibling if first.type == "=" else first if assigns else None
    if target is not None and target.type in _NOT_TARGETS:
        return target.start_byte, "Invalid left-hand side in assignment"
    return None


def _glued_number(root: Node, node: Node) -> tuple[int, str] | None:
    """A number with a name or number glued to it, which the tokenizer split (`0b12`, `1_`, `1__0`): where and
    what Node says, which reads them as one bad literal."""
    first = node.children[0]
    before = root.descendant_for_byte_range(node.start_byte - 1, node.start_byte) if node.start_byte else None
    after = root.descendant_for_byte_range(node.end_byte, node.end_byte + 1)
    for number, rest in ((before, first), (first, after)):
        if number is None or rest is None or number.type != "number" or number.end_byte != rest.start_byte \
                or rest.type not in ("identifier", "number"):
            continue
        text = rest.text or b""
        if text.startswith(b"__"):
            return rest.start_byte + 1, "Only one underscore is allowed as numeric separator"
        if text.startswith(b"_") and not text[1:2].isdigit():
            return rest.start_byte + 1, "Numeric separators are not allowed at the end of numeric literals"
        return number.start_byte, "Invalid or unexpected token"
    return None


def _not_a_target(pattern: Node) -> Node | None:
    """The first property value of an object read as a pattern that cannot be assigned to."""
    for pair in pattern.children:
        value = pair.child_by_field_id(F_VALUE) if pair.type == "pair" else None
        if value is not None and value.type in _NOT_TARGETS:
            return value
    return None


def _unopened_closer(children: list[Node]) -> Node | None:
    """The first `)`, `]` or `}` among an ERROR's tokens that none of them opened (`return )`)."""
    waiting: list[str] = []
    for child in children:
        if child.type in _OPENERS:
            waiting.append(_OPENERS[child.type])
        elif waiting and child.type == waiting[-1]:
            waiting.pop()
        elif child.type in (")", "]", "}"):
            return child
    return None


_DECLARATION_KEYWORDS = frozenset(("const", "let", "var"))
_BINDING_STARTS = frozenset(("identifier", "[", "{", "object_pattern", "array_pattern"))


def _declared_binding(node: Node) -> Node | None:
    """The token after `const`/`let`/`var` where no binding can begin (`const = 3`, `const . x`), at an
    ERROR's start or as its first token after the keyword: recovery swallows it with the keyword, or
    with what follows, but the keyword is fine and that token is not, as Node says."""
    children = node.children
    keyword = node.prev_sibling
    if keyword is None or keyword.type not in _DECLARATION_KEYWORDS:
        if len(children) < 2 or children[0].type not in _DECLARATION_KEYWORDS:
            return None
        children = children[1:]
    first = children[0] if children else None
    return None if first is None or first.type in _BINDING_STARTS else first


def _wants_operand(node: Node) -> bool:
    """An ERROR node that ends in an operator: what it holds is fine, the operand that should follow is not."""
    last = node
    while last.children:
        last = last.children[-1]
    return last.type in _OPERATORS


def _error_nodes(node: Node) -> Iterator[Node]:
    """ERROR and MISSING nodes in document order (an ERROR's own children are not searched)."""
    for child in node.children:
        if child.is_missing or (child.is_error and child.type == "ERROR"):
            yield child
        elif child.has_error:
            yield from _error_nodes(child)


def _module_item_asi(node: Node, src: bytes) -> bool:
    """`import "a"` / `export * from "a"` then a line starting with `(` or `[`: nothing can
    continue a module item, so ASI applies (tree-sitter asks for a `;`)."""
    parent = node.parent
    if node.type != ";" or parent is None or parent.type not in ("import_statement", "export_statement"):
        return False
    gap = src[node.start_byte:]
    return b"\n" in gap[:len(gap) - len(gap.lstrip())]


def _declaration_semicolon(node: Node) -> bool:
    """`export default class {}` and `export default function () {}` are declarations: no `;`
    follows them (tree-sitter-javascript reads them as expressions that need one)."""
    parent = node.parent
    if node.type != ";" or parent is None or parent.type != "export_statement":
        return False
    value = parent.child_by_field_id(F_VALUE)
    return value is not None and value.type in ("class", "function_expression", "generator_function")


def unexpected_token(root: Node, src: bytes, offset: int) -> tuple[int, str]:
    """The first token at or after `offset` (past blanks and comments), and Node's words for finding it there."""
    n = len(src)
    while True:
        while offset < n and src[offset] in b" \t\r\n\f\v":
            offset += 1
        if src.startswith(b"//", offset):
            nl = src.find(b"\n", offset)
            offset = n if nl < 0 else nl + 1
        elif src.startswith(b"/*", offset):
            close = src.find(b"*/", offset + 2)
            if close < 0:
                return offset, "Invalid or unexpected token"  # a comment left open, blamed at its start
            offset = close + 2
        else:
            break
    if offset >= n:
        return n, "Unexpected end of input"
    leaf = root.descendant_for_byte_range(offset, offset + 1)
    if leaf is not None and leaf.start_byte != offset:
        leaf = None  # inside a token: the text from there on is blamed
    text = src[offset:offset + 1 if leaf is None else leaf.end_byte]
    token = text[:30].decode("utf-8", "replace").split("\n")[0]
    kind = "" if leaf is None else leaf.type
    holder = "" if leaf is None or leaf.parent is None else leaf.parent.type
    if kind in _IDENTIFIERS:
        return offset, f"Unexpected identifier '{token}'"
    if kind == "number":
        return offset, "Unexpected number"
    if kind in _QUOTES and holder == "string":
        return offset, "Unexpected string"
    if kind == "`" and holder == "template_string":
        return offset, "Unexpected template string"
    return offset, f"Unexpected token '{token}'"


def _misplaced_yields(node: Node) -> Iterator[int]:
    """Offsets of yield expressions outside any generator. The runner runs a module without top-level
    await as a generator, whose engine would take them for its own."""
    for child in node.children:
        if child.type == "yield_expression":
            function = child.parent
            while function is not None and function.type not in _FUNCTIONS:
                function = function.parent
            if function is None or not (function.type.startswith("generator")
                                        or any(c.type == "*" for c in function.children[:3])):
                yield child.start_byte
        yield from _misplaced_yields(child)


def _has_lone_surrogate(name: str) -> bool:
    return not name.isascii() and any(0xD800 <= ord(c) <= 0xDFFF for c in name)


def module_errors(analysis: ScopeAnalysis, entries: ModuleEntries, root: Node,
                  src: bytes) -> list[tuple[int, str]]:
    """All early errors found, as (offset, message); the caller reports the first by offset."""
    errors: list[tuple[int, str]] = list(entries.errors)
    for offset, code in analysis.misplaced:
        # `await;` where await is an operator: its operand is missing, and the token there is blamed
        errors.append(unexpected_token(root, src, offset) if code == "await-operand" else (offset, MESSAGES[code]))
    if b"yield" in src:
        errors.extend((offset, MESSAGES["yield"]) for offset in _misplaced_yields(root))

    # Top-level declarations: in a module, functions are lexical too, and imports are bindings.
    lexical: dict[str, int] = {}
    var_names: dict[str, int] = {}
    for d in analysis.declarations:
        if d.kind == "import" and d.name in ("eval", "arguments"):
            errors.append((d.start, MESSAGES["strict-assign"]))
        if d.kind == "var":
            if d.name in lexical:
                errors.append((d.start, f"Identifier '{d.name}' has already been declared"))
            var_names.setdefault(d.name, d.start)
            continue
        if d.name in lexical or d.name in var_names:
            errors.append((d.start, f"Identifier '{d.name}' has already been declared"))
        lexical.setdefault(d.name, d.start)

    module_bindings = analysis.module.bindings
    seen: set[str] = set()
    for e in entries.exports:
        if _has_lone_surrogate(e.exported):
            errors.append((e.start, "An export name cannot include a lone surrogate"))
        if e.exported in seen:
            errors.append((e.start, f"Duplicate export of '{e.exported}'"))
        seen.add(e.exported)
        if e.import_index is None and e.local is not None and e.local != "*default*" and \
                e.local not in module_bindings:
            errors.append((e.start, f"Export '{e.local}' is not defined in module"))
        if e.import_name is not None and _has_lone_surrogate(e.import_name):
            errors.append((e.start, "An export name cannot include a lone surrogate"))
    for imp in entries.imports:
        for name in imp.names:
            if _has_lone_surrogate(name.imported):
                errors.append((name.start, "An import name cannot include a lone surrogate"))

    # `export default function () {}()`: the declaration forms end at their closing brace.
    fields = entries.fields
    for item in analysis.items:
        known = fields.get(item.start_byte) if fields is not None else None
        if known is not None:
            declaration, value, is_default = known
        elif fields is not None and item.type == "import_statement":
            continue  # (no declaration nor value)
        else:
            declaration = item.child_by_field_id(F_DECLARATION)
            value = item.child_by_field_id(F_VALUE)
            is_default = any(c.type == "default" for c in item.children[:3])
        if declaration is not None and declaration.type not in _DEFAULT_DECLARATIONS and is_default:
            errors.append((declaration.start_byte, f"Unexpected token '{declaration.children[0].type}'"))
        head = default_declaration_head(value) if value is not None else None
        if head is None or head == value:
            continue
        # What tree-sitter glued to the declaration must stand on its own as statements.
        rest = parse_javascript(src[head.end_byte:item.end_byte])
        if rest.root_node.has_error:
            errors.append(unexpected_token(root, src, head.end_byte))
    return errors

