"""What an ES module imports and exports: its import and export entries, read from its top-level
statements, with the values of the names, strings and import attributes they are written with.

Offsets are byte offsets into the UTF-8 source, as tree-sitter reports them.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from tree_sitter import Node

from .parser import F_ALIAS, F_DECLARATION, F_KIND, F_LEFT, F_NAME, F_SOURCE, F_VALUE, JAVASCRIPT, named_kind_ids

_K_PLAIN_IDENTIFIER = named_kind_ids("identifier")
_K_IMPORT_STATEMENT = named_kind_ids("import_statement")
_K_IMPORT_CLAUSE = named_kind_ids("import_clause")
_K_IMPORT_ATTRIBUTE = named_kind_ids("import_attribute")
_K_NAMESPACE_IMPORT = named_kind_ids("namespace_import")
_K_NAMED_IMPORTS = named_kind_ids("named_imports")
_K_IMPORT_SPECIFIER = named_kind_ids("import_specifier")
_DEFAULT_KEYWORD = JAVASCRIPT.id_for_node_kind("default", False)
_new_tuple = tuple.__new__  # builds NamedTuples without their Python-level __new__


def identifier_name(raw: str) -> str:
    """The name an identifier token denotes (`\\u0061` escapes decoded)."""
    if "\\" not in raw:
        return raw
    return _escape().sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), raw)


# The patterns for escapes and import attributes, which few modules hold, are compiled on first use:
# at import, every process that transforms paid about 1 ms for them.
@functools.cache
def _escape() -> re.Pattern[str]:
    return re.compile(r"\\u\{([0-9a-fA-F]+)\}|\\u([0-9a-fA-F]{4})")


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
        value = node.child_by_field_id(F_VALUE)
        if value is not None:
            _pattern_names(value, out)
    elif t in ("assignment_pattern", "object_assignment_pattern"):
        left = node.child_by_field_id(F_LEFT)
        if left is not None:
            _pattern_names(left, out)


def declared_names(decl: Node) -> list[Node]:
    """The identifier nodes a declaration (function, class, var/let/const) binds."""
    t = decl.type
    if t in ("function_declaration", "generator_function_declaration", "class_declaration"):
        name = decl.child_by_field_id(F_NAME)
        return [name] if name is not None else []
    out: list[Node] = []
    for d in decl.named_children:
        if d.type == "variable_declarator":
            name = d.child_by_field_id(F_NAME)
            if name is not None:
                _pattern_names(name, out)
    return out


def module_items(root: Node) -> list[Node]:
    """The top-level import and export statements, in source order."""
    return [child for child in root.named_children if child.type in ("import_statement", "export_statement")]


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
        source = node.child_by_field_id(F_SOURCE)
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
                            name = spec.child_by_field_id(F_NAME)
                            alias = spec.child_by_field_id(F_ALIAS) or name
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

        declaration = node.child_by_field_id(F_DECLARATION)
        value = node.child_by_field_id(F_VALUE)
        is_default = False
        for c in node.children[:3]:
            if c.kind_id == _DEFAULT_KEYWORD:
                is_default = True
                break
        fields[node.start_byte] = (declaration, value, is_default)
        if declaration is not None:
            if is_default:
                name = declaration.child_by_field_id(F_NAME)
                local = module_name(src, name) if name is not None else "*default*"
                exports.append(ExportEntry("default", node.start_byte, declaration.start_byte, local,
                                           None, None))
            else:
                if declaration.type == "lexical_declaration":
                    kind_node = declaration.child_by_field_id(F_KIND)
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
                name = spec.child_by_field_id(F_NAME)
                alias = spec.child_by_field_id(F_ALIAS) or name
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


def string_value(src: bytes, node: Node) -> str:
    """The value of a string literal node (escapes decoded; lone surrogates kept as such)."""
    raw = src[node.start_byte + 1:node.end_byte - 1].decode("utf-8", "surrogatepass")
    if "\\" not in raw:
        return raw
    return _unescape(raw)


@functools.cache
def _string_escape() -> re.Pattern[str]:
    return re.compile(
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
    text = _string_escape().sub(sub, raw)
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


# JS white space beyond ASCII: LS, PS, NBSP, BOM (as UTF-8).
WS = rb"(?:\s|\xe2\x80[\xa8\xa9]|\xc2\xa0|\xef\xbb\xbf)"


@functools.cache
def _attr_token() -> re.Pattern[bytes]:
    return re.compile(
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
        m = _attr_token().match(text, p)
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
