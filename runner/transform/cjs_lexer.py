"""The named exports of a CommonJS module, detected as Node detects them for `import` (Node's
cjs-module-lexer, whose detection patterns are frozen): `exports.x =`, `module.exports.x =`,
`exports['x'] =`, `Object.defineProperty(exports, 'x', …)` in its value and simple-getter forms
(any other getter makes the name unsafe: never exported), `module.exports = { a, b: c, 'd': e }`,
and re-exports: `module.exports = require('x')` (the last one wins), `...require('x')` in such a
literal, and, at the top level, the star re-exports Babel and TypeScript emit
(`__export(require('x'))`, `__exportStar(require('x'), exports)`, and
`var _x = require('x'); Object.keys(_x).forEach(function (key) { … exports[key] = _x[key] … })`).

Like the lexer, this looks at tokens without scope analysis; the tokens come from the tree-sitter
syntax tree (strings, templates, regular expressions and comments are single tokens or skipped),
and only the places where a pattern can start are visited. Its agreement with the real lexer is
tested on the CommonJS files of real npm packages.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from tree_sitter import Node

_ANCHOR = re.compile(rb"(?<![\w$\\])(?:exports|module|Object|require|__exportStar|__export|_interopRequireWildcard)"
                     rb"(?![\w$\\])")
_IDENT = re.compile(r"[A-Za-z_$\u0080-\U0010ffff][\w$\u0080-\U0010ffff]*")
_ATOMIC = frozenset({"string", "template_string", "regex", "number"})
_SKIPPED = frozenset({"comment", "html_comment", "hash_bang_line"})
_NAME_NODES = frozenset({"identifier", "property_identifier", "shorthand_property_identifier",
                         "shorthand_property_identifier_pattern", "statement_identifier"})
# Constructs whose brackets put their contents below the lexer's top level.
_BRACKETED = frozenset({"statement_block", "class_body", "object", "object_pattern", "array", "array_pattern",
                        "arguments", "parenthesized_expression", "formal_parameters", "template_substitution",
                        "switch_body", "subscript_expression", "for_statement", "for_in_statement"})
_STAR_BINDING = re.compile(r"(?:var|let|const) +([A-Za-z_$\u0080-\uffff][\w$\u0080-\uffff]*) *= *$")


@dataclass
class CommonJSExports:
    exports: list[str] = field(default_factory=list)
    reexports: list[str] = field(default_factory=list)


class _Cursor:
    """Tokens from a leaf of the tree onwards."""

    def __init__(self, src: bytes, node: Node | None) -> None:
        self.src = src
        self.node = node

    @property
    def text(self) -> str:
        node = self.node
        return "" if node is None else self.src[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def next(self) -> None:
        self.node = _next_token(self.node) if self.node is not None else None

    def eat(self, text: str) -> bool:
        if self.node is not None and self.text == text:
            self.next()
            return True
        return False

    def ident(self) -> str | None:
        text = self.text
        if self.node is not None and self.node.type not in _ATOMIC and _IDENT.fullmatch(text):
            self.next()
            return text
        return None

    def string(self) -> str | None:
        """A quoted string's value (the lexer's decoding: undefined for lone surrogates)."""
        node = self.node
        if node is None or node.type != "string":
            return None
        self.next()
        return _decode(self.src[node.start_byte:node.end_byte].decode("utf-8", "surrogatepass"))

    def exports_id(self) -> bool:
        """`exports` or `module.exports`."""
        if self.eat("module"):
            return self.eat(".") and self.eat("exports")
        return self.eat("exports")

    def adjacent(self, previous_end: int) -> bool:
        return self.node is not None and self.node.start_byte == previous_end


def _first_token(node: Node | None) -> Node | None:
    while node is not None:
        if node.type in _SKIPPED or node.start_byte == node.end_byte:
            return _next_token(node)
        if node.child_count == 0 or node.type in _ATOMIC:
            return node
        node = node.child(0)
    return None


def _next_token(node: Node) -> Node | None:
    current: Node | None = node
    while current is not None and current.next_sibling is None:
        current = current.parent
    if current is None:
        return None
    return _first_token(current.next_sibling)


def _previous_token(node: Node) -> Node | None:
    current: Node | None = node
    while current is not None and current.prev_sibling is None:
        current = current.parent
    if current is None:
        return None
    last: Node | None = current.prev_sibling
    while last is not None and last.child_count and last.type not in _ATOMIC:
        last = last.child(last.child_count - 1)
    if last is not None and (last.type in _SKIPPED or last.start_byte == last.end_byte):
        return _previous_token(last)
    return last


def _decode(literal: str) -> str | None:
    """A string literal's value; None for one with a lone surrogate (the lexer drops those)."""
    body = literal[1:-1]
    try:
        value = json.loads(literal if literal.startswith('"') else '"' + body.replace('\\\'', "'")
                           .replace('"', '\\"') + '"')
    except ValueError:
        value = _decode_escapes(body)
    if not isinstance(value, str) or any("\ud800" <= ch <= "\udfff" for ch in value):
        return None
    return value


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _decode_escapes(body: str) -> str | None:
    """JavaScript string escapes JSON does not know (`\\x41`, `\\u{1F600}`, `\\'`, line continuations)."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        i += 1
        if i >= len(body):
            return None
        ch = body[i]
        if ch == "x":
            try:
                out.append(chr(int(body[i + 1:i + 3], 16)))
            except ValueError:
                return None
            i += 3
        elif ch == "u":
            if body[i + 1:i + 2] == "{":
                end = body.find("}", i)
                try:
                    out.append(chr(int(body[i + 2:end], 16)))
                except ValueError:
                    return None
                i = end + 1
            else:
                try:
                    out.append(chr(int(body[i + 1:i + 5], 16)))
                except ValueError:
                    return None
                i += 5
        elif ch in "\r\n\u2028\u2029":
            i += 2 if body[i:i + 2] == "\r\n" else 1
        else:
            out.append(_ESCAPES.get(ch, ch))
            i += 1
    return "".join(out)


def has_ancestor(node: Node, types: frozenset[str]) -> bool:
    """Is `node` inside a node of one of `types`?"""
    current = node.parent
    while current is not None:
        if current.type in types:
            return True
        current = current.parent
    return False


def _top_level(node: Node) -> bool:
    return not has_ancestor(node, _BRACKETED)


class _Lexer:
    def __init__(self, src: bytes, root: Node) -> None:
        self.src = src
        self.root = root
        self.exports: dict[str, None] = {}
        self.unsafe: set[str] = set()
        self.reexports: dict[str, None] = {}
        self.star_bindings: dict[str, str] = {}

    def add(self, name: str | None) -> None:
        if name is not None:
            self.exports[name] = None

    def run(self) -> CommonJSExports:
        for match in _ANCHOR.finditer(self.src):
            start, end = match.span()
            node = self.root.descendant_for_byte_range(start, end)
            if node is None or node.start_byte != start or node.end_byte != end or node.type not in _NAME_NODES:
                continue
            previous = _previous_token(node)
            after_dot = previous is not None and self.src[previous.start_byte:previous.end_byte] in (b".", b"?.")
            word = match.group()
            if word in (b"__export", b"__exportStar", b"_interopRequireWildcard"):
                if _top_level(node):
                    self.helper(node, word, after_dot)
                continue
            if after_dot:
                continue
            if word == b"exports":
                self.exports_member(_Cursor(self.src, _next_token(node)))
            elif word == b"module":
                self.module_exports(_Cursor(self.src, _next_token(node)))
            elif word == b"Object":
                self.object(_Cursor(self.src, _next_token(node)), _top_level(node))
            elif word == b"require" and _top_level(node):
                self.top_level_require(node)
        names = [name for name in self.exports if name not in self.unsafe]
        return CommonJSExports(names, list(self.reexports))

    # EXPORTS_DOT_ASSIGN, EXPORTS_LITERAL_COMPUTED_ASSIGN (the lexer only looks at the next character,
    # so `exports.x == y` counts too)
    def exports_member(self, cursor: _Cursor, assign: bool = False) -> None:
        if cursor.eat("."):
            name = cursor.ident()
            if name is not None and cursor.text.startswith("="):
                self.add(name)
        elif cursor.eat("["):
            if cursor.node is None or cursor.node.type != "string":
                return
            value = cursor.string()
            if cursor.eat("]") and cursor.text.startswith("="):
                self.add(value)
        elif assign and cursor.text.startswith("="):
            self.reexports.clear()
            if cursor.text != "=":
                return
            cursor.next()
            if cursor.eat("{"):
                self.literal(cursor)
            else:
                specifier = self.require_call(cursor)
                if specifier is not None:
                    self.reexports[specifier] = None

    def module_exports(self, cursor: _Cursor) -> None:
        if cursor.eat(".") and cursor.eat("exports"):
            self.exports_member(cursor, assign=True)

    def require_call(self, cursor: _Cursor) -> str | None:
        """`require('x')`: its specifier (None when the call does not have that shape)."""
        if not cursor.eat("require") or not cursor.eat("("):
            return None
        value = cursor.string()
        if value is None or not cursor.eat(")"):
            return None
        return value

    def _keyed(self, cursor: _Cursor, key: str | None) -> bool:
        """`key: identifier` in EXPORTS_LITERAL, the cursor past the colon: adds `key`; True when the
        literal goes on (the cursor then at the next entry)."""
        value = cursor.node
        if cursor.ident() is None or value is None:
            return False
        self.add(key)
        if not self._value_end_ok(value.end_byte) or self.src[value.end_byte:value.end_byte + 1] == b"}":
            return False
        cursor.next()
        return True

    # EXPORTS_LITERAL: `{ a, b: c, 'd': e, ...f, ...require('g') }`, added as far as it goes
    def literal(self, cursor: _Cursor) -> None:
        while cursor.node is not None:
            node = cursor.node
            if node.type == "string":
                key = cursor.string()
                if cursor.eat(":"):
                    if not self._keyed(cursor, key):
                        return
                    continue
            elif cursor.text == "...":
                end = node.end_byte
                cursor.next()
                if cursor.adjacent(end) and cursor.text == "require":
                    specifier = self.require_call(cursor)
                    if specifier is None:
                        return
                    self.reexports[specifier] = None
                elif cursor.ident() is None:
                    return
            elif cursor.ident() is not None:
                name = self.src[node.start_byte:node.end_byte].decode("utf-8", "surrogatepass")
                if cursor.eat(":"):
                    if not self._keyed(cursor, name):
                        return
                    continue
                self.add(name)
            else:
                return
            if cursor.text == "}":
                return
            if not cursor.eat(","):
                return

    def _value_end_ok(self, end: int) -> bool:
        # After `key: value` the lexer reads the very next character: only `,` or `}` go on.
        return self.src[end:end + 1] in (b",", b"}")

    # EXPORTS_DEFINE and EXPORT_STAR_LIB
    def object(self, cursor: _Cursor, top_level: bool) -> None:
        if not cursor.eat("."):
            return
        if cursor.eat("defineProperty"):
            self.define_property(cursor)
        elif top_level and cursor.eat("keys"):
            self.keys_for_each(cursor)

    def define_property(self, cursor: _Cursor) -> None:
        if not (cursor.eat("(") and cursor.exports_id() and cursor.eat(",")):
            return
        if cursor.node is None or cursor.node.type != "string":
            return
        name = cursor.string()
        if self.define_value(cursor):
            self.add(name)
        elif name is not None:
            self.unsafe.add(name)

    def define_value(self, cursor: _Cursor) -> bool:
        if not (cursor.eat(",") and cursor.eat("{")):
            return False
        if cursor.eat("enumerable"):
            if not (cursor.eat(":") and cursor.eat("true") and cursor.eat(",")):
                return False
        if cursor.eat("value"):
            return cursor.eat(":")
        if not cursor.eat("get"):
            return False
        if cursor.eat(":"):
            if not cursor.eat("function"):
                return False
            if cursor.text != "(":
                cursor.ident()
        if not (cursor.eat("(") and cursor.eat(")") and cursor.eat("{") and cursor.eat("return")):
            return False
        if cursor.ident() is None:
            return False
        if cursor.eat("."):
            if cursor.ident() is None:
                return False
        elif cursor.eat("["):
            if cursor.node is None or cursor.node.type != "string":
                return False
            cursor.next()
            if not cursor.eat("]"):
                return False
        cursor.eat(";")
        if not cursor.eat("}"):
            return False
        cursor.eat(",")
        return cursor.eat("}") and cursor.text == ")"

    def keys_for_each(self, cursor: _Cursor) -> None:
        if not cursor.eat("("):
            return
        source = cursor.ident()
        if source is None or not (cursor.eat(")") and cursor.eat(".") and cursor.eat("forEach") and
                                  cursor.eat("(") and cursor.eat("function") and cursor.eat("(")):
            return
        key = cursor.ident()
        if key is None or not (cursor.eat(")") and cursor.eat("{") and cursor.eat("if") and cursor.eat("(") and
                               cursor.eat(key)):
            return
        if cursor.eat("==="):
            if not self._skip_default_and_esmodule(cursor, key, source):
                return
        elif cursor.eat("!=="):
            if not self._not_default(cursor, key):
                return
        else:
            return
        if not self._copy_statement(cursor, key, source):
            return
        if cursor.eat("}") and cursor.text == ")" and source in self.star_bindings:
            self.reexports[self.star_bindings[source]] = None

    def _skip_default_and_esmodule(self, cursor: _Cursor, key: str, source: str) -> bool:
        if cursor.string() != "default" or not cursor.eat("||") or not cursor.eat(key) or not cursor.eat("==="):
            return False
        if cursor.string() != "__esModule" or not (cursor.eat(")") and cursor.eat("return")):
            return False
        cursor.eat(";")
        if not cursor.eat("if"):
            return True
        if not cursor.eat("("):
            return False
        in_if = True
        saved = cursor.node
        if self._has_own_property(cursor, key):
            if not (cursor.eat(")") and cursor.eat("return")):
                return False
            cursor.eat(";")
            if cursor.eat("if"):
                if not cursor.eat("("):
                    return False
            else:
                in_if = False
        else:
            cursor.node = saved
        if in_if:
            if not (cursor.eat(key) and cursor.eat("in") and cursor.exports_id() and cursor.eat("&&") and
                    cursor.exports_id() and cursor.eat("[") and cursor.eat(key) and cursor.eat("]") and
                    cursor.eat("===") and cursor.eat(source) and cursor.eat("[") and cursor.eat(key) and
                    cursor.eat("]") and cursor.eat(")") and cursor.eat("return")):
                return False
            cursor.eat(";")
        return True

    def _not_default(self, cursor: _Cursor, key: str) -> bool:
        if cursor.string() != "default":
            return False
        if cursor.eat("&&"):
            if not cursor.eat("!"):
                return False
            if cursor.text == "Object":
                if not self._has_own_property(cursor, key):
                    return False
            elif cursor.ident() is not None:
                if not (cursor.eat(".") and cursor.eat("hasOwnProperty") and cursor.eat("(") and cursor.eat(key) and
                        cursor.eat(")")):
                    return False
            else:
                return False
        return cursor.eat(")")

    def _has_own_property(self, cursor: _Cursor, key: str) -> bool:
        """`Object` `.prototype`? `.hasOwnProperty.call(` IDENTIFIER `,` key `)`."""
        if not (cursor.eat("Object") and cursor.eat(".")):
            return False
        if cursor.eat("prototype") and not cursor.eat("."):
            return False
        return (cursor.eat("hasOwnProperty") and cursor.eat(".") and cursor.eat("call") and cursor.eat("(") and
                cursor.ident() is not None and cursor.eat(",") and cursor.eat(key) and cursor.eat(")"))

    def _copy_statement(self, cursor: _Cursor, key: str, source: str) -> bool:
        if cursor.text in ("exports", "module"):
            if not (cursor.exports_id() and cursor.eat("[") and cursor.eat(key) and cursor.eat("]") and
                    cursor.eat("=") and cursor.eat(source) and cursor.eat("[") and cursor.eat(key) and
                    cursor.eat("]")):
                return False
            cursor.eat(";")
            return True
        if not (cursor.eat("Object") and cursor.eat(".") and cursor.eat("defineProperty") and cursor.eat("(") and
                cursor.exports_id() and cursor.eat(",") and cursor.eat(key) and cursor.eat(",") and
                cursor.eat("{") and cursor.eat("enumerable") and cursor.eat(":") and cursor.eat("true") and
                cursor.eat(",") and cursor.eat("get")):
            return False
        if cursor.eat(":"):
            if not cursor.eat("function"):
                return False
            if cursor.text != "(":
                cursor.ident()
        if not (cursor.eat("(") and cursor.eat(")") and cursor.eat("{") and cursor.eat("return") and
                cursor.eat(source) and cursor.eat("[") and cursor.eat(key) and cursor.eat("]")):
            return False
        cursor.eat(";")
        if not cursor.eat("}"):
            return False
        cursor.eat(",")
        if not (cursor.eat("}") and cursor.eat(")")):
            return False
        cursor.eat(";")
        return True

    # EXPORT_STAR and the bindings EXPORT_STAR_LIB refers to
    def helper(self, node: Node, word: bytes, after_dot: bool) -> None:
        cursor = _Cursor(self.src, _next_token(node))
        if not cursor.adjacent(node.end_byte) or cursor.text != "(":
            return
        paren_end = cursor.node.end_byte if cursor.node is not None else 0
        cursor.next()
        if not cursor.adjacent(paren_end) or cursor.text != "require":
            return
        specifier = self.require_call(cursor)
        if specifier is None:
            return
        if word == b"_interopRequireWildcard":
            if not after_dot:
                self._bind_star(node.start_byte, specifier)
        else:
            self.reexports[specifier] = None

    def top_level_require(self, node: Node) -> None:
        specifier = self.require_call(_Cursor(self.src, node))
        if specifier is not None:
            self._bind_star(node.start_byte, specifier)

    def _bind_star(self, start: int, specifier: str) -> None:
        before = self.src[max(0, start - 256):start].decode("utf-8", "replace")
        match = _STAR_BINDING.search(before)
        if match:
            self.star_bindings[match.group(1)] = specifier


def detect_exports(src: bytes, root: Node) -> CommonJSExports:
    """The names Node's lexer would give an `import` of this CommonJS source, and its re-exports."""
    return _Lexer(src, root).run()
