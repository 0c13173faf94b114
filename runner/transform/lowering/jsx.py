"""JSX lowered to function calls, as Babel's and esbuild's JSX transforms do, line for line:

- automatic runtime (the default): `<div a="1">{x}</div>` -> `_jsx("div", { a: "1", children: x })`,
  `jsxs` for several children, the `key` as third argument, `Fragment`, all imported from
  `<import source>/jsx-runtime` (`jsxDEV` from `/jsx-dev-runtime` in development, with the
  element's file, line and column); a `key` after a spread falls back to `createElement` from
  the import source, as React requires;
- classic runtime: `React.createElement("div", { a: "1" }, x)` with a configurable factory and
  fragment (`h`, `Fragment`, …).

Per file, comments override the configuration as in Babel and esbuild: `@jsxRuntime classic|automatic`,
`@jsxImportSource pkg` (automatic), `@jsx h` and `@jsxFrag Fragment` (classic).

Text children are trimmed and joined the way React's transforms do (lines trimmed, blank lines
dropped, line breaks between words become one space), and HTML entities are decoded.
"""

from __future__ import annotations

import html.entities
import json
import re
from dataclasses import dataclass

from tree_sitter import Node, QueryCursor

from ..early_errors import parse_error
from ..parser import nodes_of_type
from .edit_list import EditList, Moved
from .grammars import query
from .options import JsxOptions

_ELEMENTS = "[(jsx_element) (jsx_self_closing_element)] @element"
_IDENT = re.compile(r"[A-Za-z_$][\w$]*", re.ASCII)
_PRAGMA = re.compile(rb"@(jsxRuntime|jsxImportSource|jsxFrag|jsx)\s+([^\s*]+)")
_ENTITY = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|([A-Za-z][A-Za-z0-9]*));")
_NAMED_ENTITIES = {**html.entities.name2codepoint, "apos": 0x27}
_ELEMENT_TYPES = ("jsx_element", "jsx_self_closing_element")


@dataclass
class _Child:
    kind: str  # "text", "expression", "spread" or "element"
    node: Node | None
    start: int
    end: int
    text: str = ""


class JsxLowering:
    def __init__(self, edits: EditList, root: Node, dialect: str, code: str, file: str,
                 options: JsxOptions) -> None:
        self.edits = edits
        self.src = edits.src
        self.root = root
        self.dialect = dialect
        self.code = code
        self.file = file
        self.options = options
        self.helpers: dict[str, str] = {}  # imported name -> local name (automatic runtime)
        self.uses: set[str] = set()  # names the output reads (the classic factory's root)

    def run(self) -> set[str]:
        """Lower every element; answers the names the output uses (for import elision)."""
        elements = QueryCursor(query(self.dialect, _ELEMENTS)).captures(self.root).get("element", [])
        if not elements:
            return set()
        self.options = self._pragmas(self.options)
        for element in elements:
            self._element(element)
        self._imports()
        return self.uses

    def _error(self, node: Node, message: str) -> Exception:
        return parse_error(self.code, self.src, node.start_byte, message, self.file)

    # ---- configuration ----

    def _pragmas(self, options: JsxOptions) -> JsxOptions:
        found: dict[str, str] = {}
        for match in _PRAGMA.finditer(self.src):
            node = self.root.descendant_for_byte_range(match.start(), match.end())
            if node is not None and node.type == "comment":
                found.setdefault(match.group(1).decode(), match.group(2).decode())
        if not found:
            return options
        runtime = found.get("jsxRuntime")
        if runtime is not None and runtime not in ("classic", "automatic"):
            raise self._error(self.root, f"@jsxRuntime must be classic or automatic, not {runtime!r}")
        if runtime is None:
            if "jsx" in found or "jsxFrag" in found:
                runtime = "classic"
            elif "jsxImportSource" in found:
                runtime = "automatic"
            else:
                runtime = options.runtime
        return options._replace(runtime=runtime, import_source=found.get("jsxImportSource", options.import_source),
                                factory=found.get("jsx", options.factory),
                                fragment=found.get("jsxFrag", options.fragment))

    def _helper(self, name: str) -> str:
        local = self.helpers.get(name)
        if local is None:
            local = "_" + name
            n = 1
            while re.search(rb"(?<![\w$])" + re.escape(local.encode()) + rb"(?![\w$])", self.src):
                n += 1
                local = f"_{name}{n}"
            self.helpers[name] = local
        return local

    def _imports(self) -> None:
        if not self.helpers:
            return
        source = self.options.import_source
        runtime = f"{source}/jsx-dev-runtime" if self.options.development else f"{source}/jsx-runtime"
        by_source: dict[str, list[str]] = {}
        for name, local in self.helpers.items():
            by_source.setdefault(source if name == "createElement" else runtime, []).append(f"{name} as {local}")
        text = "".join(f"import {{ {', '.join(names)} }} from {json.dumps(module)};"
                       for module, names in by_source.items())
        at = 0
        if self.src.startswith(b"#!"):
            newline = self.src.find(b"\n")
            at = len(self.src) if newline < 0 else newline + 1
        self.edits.insert(at, text)

    # ---- elements ----

    def _element(self, node: Node) -> None:
        opening = node if node.type == "jsx_self_closing_element" else node.child_by_field_name("open_tag")
        closing = None if node.type == "jsx_self_closing_element" else node.child_by_field_name("close_tag")
        assert opening is not None
        name = opening.child_by_field_name("name")
        if closing is not None:
            closing_name = closing.child_by_field_name("name")
            if _name_text(closing_name) != _name_text(name):
                tag = f"<{_name_text(name)}>" if name is not None else "<>"
                raise self._error(closing, f"Expected corresponding JSX closing tag for {tag}")
        attributes = opening.children_by_field_name("attribute")
        children = self._children(node, opening, closing) if closing is not None else []
        key: Node | None = None
        spread_seen = classic_key = False
        for attribute in attributes:
            if attribute.type == "jsx_attribute" and _attribute_name(attribute) == "key":
                key = attribute
                classic_key = spread_seen
            elif attribute.type == "jsx_expression":
                spread_seen = True
        automatic = self.options.runtime == "automatic"
        positional = not automatic or classic_key  # children as arguments, not a `children` prop
        static = len(children) > 1 or any(c.kind == "spread" for c in children)
        if not automatic:
            callee = self.options.factory
            self.uses.add(callee.split(".")[0])
        elif classic_key:
            callee = self._helper("createElement")
        elif self.options.development:
            callee = self._helper("jsxDEV")
        else:
            callee = self._helper("jsxs" if static else "jsx")
        if name is None:
            if automatic:
                tag = self._helper("Fragment")
            else:
                tag = self.options.fragment
                self.uses.add(tag.split(".")[0])
        else:
            tag = _tag(name)
        lt = opening.children[0]
        if name is None or tag != _text(name):
            # `<` and the name become `callee(tag`; a component's name stays where it is.
            end = name.end_byte if name is not None else lt.end_byte
            self.edits.replace(lt.start_byte, end, f"{callee}({tag}", (0, lt.start_byte),
                               (len(callee.encode()) + 1, name.start_byte if name is not None else lt.start_byte))
            after_name = end
        else:
            self.edits.replace(lt.start_byte, lt.end_byte, f"{callee}(", (0, lt.start_byte))
            after_name = name.end_byte
        props = [a for a in attributes if not (automatic and not classic_key and a == key)]
        has_object = bool(props) or not positional
        self.edits.insert(after_name, ", {" if has_object else ", null")
        key_text: list[str | Moved] = []
        for attribute in attributes:
            if key is not None and attribute == key and automatic and not classic_key:
                key_text = self._moved_key(attribute)
            else:
                self._attribute(attribute)
        tail = self._tail(node, positional, static, key_text)
        end_token = opening.children[-1]  # `>` or `/>`
        close_object = "}" if has_object else ""
        if closing is None:
            self.edits.replace(end_token.start_byte, end_token.end_byte, [close_object, *tail],
                               (0, end_token.start_byte))
            return
        if positional:
            self.edits.replace(end_token.start_byte, end_token.end_byte, close_object)
        elif not children:
            self.edits.replace(end_token.start_byte, end_token.end_byte, "")
        else:
            self.edits.replace(end_token.start_byte, end_token.end_byte, " children: [" if static else " children: ")
        for index, child in enumerate(children):
            separator = ", " if positional or index else ""
            self._child(child, separator)
        if positional:
            closing_text: list[str | Moved] = list(tail)
        elif not children:
            closing_text = ["}", *tail]
        else:
            closing_text = ["]}" if static else "}", *tail]
        self.edits.replace(closing.start_byte, closing.end_byte, closing_text, (0, closing.start_byte))

    def _tail(self, node: Node, positional: bool, static: bool, key: list[str | Moved]) -> list[str | Moved]:
        """What closes the call: the key argument (automatic runtime) and, for jsxDEV, whether
        the children are static and where the element is."""
        if positional:
            return [")"]
        if self.options.development:
            line = node.start_point.row + 1
            column = len(self.src[node.start_byte - node.start_point.column:node.start_byte]
                         .decode("utf-8", "surrogatepass")) + 1
            source = f"{{ fileName: {json.dumps(self.file)}, lineNumber: {line}, columnNumber: {column} }}"
            return [", ", *(key or ["void 0"]), f", {'true' if static else 'false'}, {source}, void 0)"]
        return [", ", *key, ")"] if key else [")"]

    def _moved_key(self, attribute: Node) -> list[str | Moved]:
        """The key's value, erased from the props and returned for the call's third argument."""
        value = attribute.named_children[-1] if attribute.named_child_count > 1 else None
        self.edits.replace(attribute.start_byte, value.start_byte if value is not None else attribute.end_byte, "")
        if value is None:
            return ["true"]
        if value.type == "string":
            self.edits.replace(value.start_byte, value.end_byte, "")
            return [json.dumps(_attribute_string(value), ensure_ascii=False)]
        if value.type in _ELEMENT_TYPES:
            raise self._error(value, "a JSX key cannot be an element")
        inner = [c for c in value.named_children if c.type != "comment"]
        if not inner:
            raise self._error(value, "JSX attributes must only be assigned a non-empty expression")
        for comment in nodes_of_type(value, "comment"):
            self.edits.replace(comment.start_byte, comment.end_byte, "")
        self.edits.replace(value.start_byte, value.children[0].end_byte, "")
        self.edits.replace(value.children[-1].start_byte, value.end_byte, "")
        return [Moved(value.children[0].end_byte, value.children[-1].start_byte)]

    def _attribute(self, attribute: Node) -> None:
        if attribute.type == "jsx_expression":  # {...spread}
            self.edits.replace(attribute.children[0].start_byte, attribute.children[0].end_byte, "")
            self.edits.replace(attribute.children[-1].start_byte, attribute.children[-1].end_byte, ",")
            return
        name = attribute.named_children[0]
        value = attribute.named_children[-1] if attribute.named_child_count > 1 else None
        text = _text(name) if name.type != "jsx_namespace_name" else "".join(_text(name).split())
        if not _IDENT.fullmatch(text):
            self.edits.replace(name.start_byte, name.end_byte, json.dumps(text, ensure_ascii=False),
                               (0, name.start_byte))
        if value is None:
            self.edits.insert(name.end_byte, ": true,")
            return
        equals = value.prev_sibling
        start = equals.start_byte if equals is not None and equals.type == "=" else name.end_byte
        if value.type == "string":
            literal = json.dumps(_attribute_string(value), ensure_ascii=False)
            self.edits.replace(start, value.end_byte, f": {literal},", (2, value.start_byte))
        elif value.type == "jsx_expression":
            if not [c for c in value.named_children if c.type != "comment"]:
                raise self._error(value, "JSX attributes must only be assigned a non-empty expression")
            self.edits.replace(start, value.children[0].end_byte, ": ")
            self.edits.replace(value.children[-1].start_byte, value.end_byte, ",")
        else:  # an element
            self.edits.replace(start, value.start_byte, ": ")
            self.edits.insert(value.end_byte, ",")

    # ---- children ----

    def _children(self, node: Node, opening: Node, closing: Node) -> list[_Child]:
        """The element's children that produce a value; text that does not is erased."""
        children: list[_Child] = []
        text_start = opening.end_byte
        for child in node.named_children:
            if child.start_byte < opening.end_byte or child.start_byte >= closing.start_byte:
                continue
            if child.type not in _ELEMENT_TYPES and child.type != "jsx_expression":
                continue  # text (jsx_text, entities) is read from the gaps between the others
            self._text_child(children, text_start, child.start_byte)
            text_start = child.end_byte
            if child.type == "jsx_expression":
                inner = [c for c in child.named_children if c.type != "comment"]
                if not inner:
                    self.edits.replace(child.start_byte, child.end_byte, "")  # {} or {/* comment */}
                    continue
                kind = "spread" if inner[0].type == "spread_element" else "expression"
                children.append(_Child(kind, child, child.start_byte, child.end_byte))
            else:
                children.append(_Child("element", child, child.start_byte, child.end_byte))
        self._text_child(children, text_start, closing.start_byte)
        return children

    def _text_child(self, children: list[_Child], start: int, end: int) -> None:
        if start >= end:
            return
        value = clean_text(decode_entities(self.src[start:end].decode("utf-8", "surrogatepass")))
        if value:
            children.append(_Child("text", None, start, end, value))
        else:
            self.edits.replace(start, end, "")

    def _child(self, child: _Child, separator: str) -> None:
        if child.kind == "text":
            self.edits.replace(child.start, child.end, separator + json.dumps(child.text, ensure_ascii=False),
                               (len(separator), child.start))
        elif child.kind == "element":
            if separator:
                self.edits.insert(child.start, separator)
        else:
            node = child.node
            assert node is not None
            self.edits.replace(node.children[0].start_byte, node.children[0].end_byte, separator)
            self.edits.replace(node.children[-1].start_byte, node.children[-1].end_byte, "")


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "surrogatepass")


def _name_text(name: Node | None) -> str:
    return "".join(_text(name).split()) if name is not None else ""


def _tag(name: Node) -> str:
    """The element type's expression: a string for intrinsic elements (lower-case, or not a JS
    name), else the name itself."""
    text = _text(name)
    if name.type == "jsx_namespace_name":
        return json.dumps("".join(text.split()), ensure_ascii=False)
    if name.type == "identifier" and (not _IDENT.fullmatch(text) or text[0].islower()):
        return json.dumps(text, ensure_ascii=False)
    return text


def _attribute_name(attribute: Node) -> str | None:
    name = attribute.named_children[0] if attribute.named_child_count else None
    return _text(name) if name is not None and name.type == "property_identifier" else None


def _attribute_string(value: Node) -> str:
    """A JSX attribute string's value: no escapes (a backslash is itself), entities decoded,
    a line break and the indentation after it folded into one space (as Babel does)."""
    raw = _text(value)[1:-1]
    return re.sub(r"\n\s+", " ", decode_entities(raw))


def decode_entities(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        hex_digits, decimal, name = match.groups()
        if name is not None:
            point = _NAMED_ENTITIES.get(name)
            return chr(point) if point is not None else match.group()
        value = int(hex_digits, 16) if hex_digits is not None else int(decimal)
        return chr(value) if value <= 0x10FFFF else match.group()

    return _ENTITY.sub(one, text) if "&" in text else text


def clean_text(text: str) -> str:
    """JSX text as a child's string: every line trimmed (the first only at its end, the last only
    at its start), tabs as spaces, empty lines dropped, the rest joined by single spaces."""
    lines = re.split(r"\r\n|\n|\r", text)
    last_non_empty = 0
    for i, line in enumerate(lines):
        if re.search(r"[^ \t]", line):
            last_non_empty = i
    out = []
    for i, line in enumerate(lines):
        trimmed = line.replace("\t", " ")
        if i:
            trimmed = trimmed.lstrip(" ")
        if i != len(lines) - 1:
            trimmed = trimmed.rstrip(" ")
        if trimmed:
            if i != last_non_empty:
                trimmed += " "
            out.append(trimmed)
    return "".join(out)
