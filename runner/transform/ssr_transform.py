"""ESM source -> Vite's runner format (the code a ModuleRunner evaluates), with a source map.

The runner evaluates the result as the body of
`new AsyncFunction("__vite_ssr_exports__", "__vite_ssr_import_meta__", "__vite_ssr_import__",
"__vite_ssr_dynamic_import__", "__vite_ssr_exportAll__", "__vite_ssr_exportName__", code)`.

Shape of the output:
- line 1 starts with a prologue (no newlines): export getters, the `name` fix of an anonymous
  default function, then the hoisted imports (and `exportAll` after each `export *`), so that
  original line N stays generated line N;
- the body is the source with import declarations and export syntax removed (newlines kept),
  `export default <expr>` turned into `const __vite_ssr_export_default__ = <expr>;`, references
  to imports rewritten to `__vite_ssr_import_N__.name` (calls as `(0, …)(…)`), `import.meta`
  and `import()` renamed, and a top-level `arguments` made to behave as in a module.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from operator import itemgetter
from typing import Any, Literal

import orjson
from tree_sitter import Node

from ..rpc import wire
from .early_errors import module_errors, parse_error, tree_error
from .entries import default_declaration_head, module_items
from .entries import module_entries as read_module_entries
from .repair import parse_module
from .scope import CALLEE, SHORTHAND, TYPEOF, WRITE, ScopeAnalysis
from .sourcemap import vlq_encode
from .walker import analyze

DEFAULT_LOCAL = "__vite_ssr_export_default__"
_IDENT = re.compile(r"[A-Za-z_$][\w$]*", re.ASCII)
# Mapped tokens: words (identifiers, keywords, numbers), where engines put stack positions; a
# chunk is a token and the gap after it, up to the next token on the line.
_CHUNK = re.compile(rb"[\w$\x80-\xff\\]+[^\w$\x80-\xff\\\n]*")


class _PairTable(dict[int, str]):
    """Segment of a token `d` columns after the previous one, on the same line of both."""

    def __missing__(self, d: int) -> str:
        seg = self[d] = vlq_encode(d) + "AA" + vlq_encode(d)
        return seg


_PAIRS = _PairTable((d, vlq_encode(d) + "AA" + vlq_encode(d)) for d in range(1, 1025))


class _CommaPairTable(dict[int, str]):
    """The same, preceded by the separator."""

    def __missing__(self, d: int) -> str:
        seg = self[d] = "," + _PAIRS[d]
        return seg


_COMMA_PAIRS = _CommaPairTable((d, "," + _PAIRS[d]) for d in range(1, 1025))
# The source's shape: token bytes (as in _CHUNK) -> "a", newlines kept, other bytes -> " ".
_SHAPE = bytes(97 if i >= 0x80 or chr(i).isalnum() or chr(i) in "_$\\" else 10 if i == 10 else 32
               for i in range(256))


class _VlqTable(dict[int, str]):
    """VLQ of an integer: a lookup for the common ones."""

    def __missing__(self, value: int) -> str:
        return vlq_encode(value)


_VLQ = _VlqTable((d, vlq_encode(d)) for d in range(-1024, 1025))


_ANON_DEFINITIONS = ("arrow_function", "function_expression", "generator_function", "class")
_ARGUMENTS = ('(("arguments" in globalThis) ? globalThis.arguments : '
              '(() => { throw new ReferenceError("arguments is not defined") })())')
_STATEMENT_LISTS = frozenset({"program", "statement_block", "switch_case", "switch_default"})
_OPERATOR_BYTES = frozenset(b"+-*%=,([?.!&|^~<>")
# Statements that end on their own, without `;` (the next line cannot continue them).
_SELF_TERMINATED = frozenset({
    "function_declaration", "generator_function_declaration", "class_declaration", "statement_block",
    "try_statement", "switch_statement", "do_statement", "empty_statement",
})
_SKIPPED = frozenset({"comment", "html_comment", "hash_bang_line", "import_statement"})
_NESTED_STATEMENT = frozenset({
    "if_statement", "else_clause", "for_statement", "for_in_statement", "while_statement",
    "labeled_statement", "with_statement",
})


@dataclass(frozen=True)
class ImportRecord:
    """One static import declaration or `export … from`, in source order."""

    specifier: str
    imported_names: list[str]  # "default" for a default import; the namespace is not a name
    namespace: bool  # needs the whole namespace: `import * as`, `export * from`, `export * as`
    attributes: dict[str, str]
    line: int  # of the specifier string, 1-based
    column: int  # 1-based, in characters


@dataclass(frozen=True)
class ExportRecord:
    kind: Literal["local", "indirect"]
    local: str | None = None  # local: the binding (`__vite_ssr_export_default__` for default exprs)
    constant: bool = False  # local: the binding is never reassigned after its declaration
    specifier: str | None = None  # indirect: the module it comes from
    import_name: str | None = None  # indirect: its name there; "*" is the namespace object


@dataclass(frozen=True)
class TransformResult:
    code: str
    map: dict[str, Any]
    deps: list[str] = field(default_factory=list)
    dynamic_deps: list[str] = field(default_factory=list)
    imports: list[ImportRecord] = field(default_factory=list)
    exports: dict[str, ExportRecord] = field(default_factory=dict)
    star_exports: list[str] = field(default_factory=list)
    has_tla: bool = False


_new_object = object.__new__


def _export_record(kind: Literal["local", "indirect"], local: str | None = None, constant: bool = False,
                   specifier: str | None = None, import_name: str | None = None) -> ExportRecord:
    """`ExportRecord(...)` without the frozen dataclass's slow `__init__` (same object)."""
    record = _new_object(ExportRecord)
    record.__dict__.update(kind=kind, local=local, constant=constant, specifier=specifier,
                           import_name=import_name)
    return record


def _import_record(specifier: str, imported_names: list[str], namespace: bool, attributes: dict[str, str],
                   line: int, column: int) -> ImportRecord:
    """`ImportRecord(...)`, likewise."""
    record = _new_object(ImportRecord)
    record.__dict__.update(specifier=specifier, imported_names=imported_names, namespace=namespace,
                           attributes=attributes, line=line, column=column)
    return record


def _js_string(value: str) -> str:
    return wire.dumps(value)


def _member(base: str, name: str) -> str:
    return f"{base}.{name}" if _IDENT.fullmatch(name) else f"{base}[{_js_string(name)}]"


def ssr_transform(code: str, id: str) -> TransformResult:
    """Transform one ES module; raises ParseError (file=id) for syntax and early errors."""
    src = code.encode("utf-8", "surrogatepass")
    tree, attribute_ranges = parse_module(src)
    root = tree.root_node
    if root.has_error:
        err = tree_error(root, src)
        if err is not None:
            raise parse_error(code, src, err[0], err[1], id)
    items = module_items(root)
    entries = read_module_entries(items, src, attribute_ranges)
    # Only references to imports and `arguments`, and writes to exported locals, matter below
    # (and not even those for `export const`: constant whatever happens).
    watched = {name.local for imp in entries.imports for name in imp.names if name.local is not None}
    constants = entries.constants
    written = {e.local for e in entries.exports
               if e.local is not None and e.import_index is None and e.local not in constants}
    analysis = analyze(root, src, watched, written, entries)
    errors = module_errors(analysis, entries, root, src)
    if errors:
        offset, message = min(errors)
        raise parse_error(code, src, offset, message, id)
    return _Emitter(code, id, src, root, analysis, entries).emit()


class _Emitter:
    def __init__(self, code: str, id: str, src: bytes, root: Node, analysis: ScopeAnalysis,
                 entries: Any) -> None:
        self.code = code
        self.id = id
        self.src = src
        self.root = root
        self.analysis = analysis
        self.entries = entries
        # (start, end, replacement, [(offset in replacement, original offset)]) — never overlapping.
        self.edits: list[tuple[int, int, bytes, tuple[tuple[int, int], ...]]] = []
        self.prologue: list[tuple[bytes, tuple[tuple[int, int], ...]]] = []
        self._line_ends: list[int] | None = None
        self._open_memo: dict[int, bool] = {}

    def edit(self, start: int, end: int, text: str, at: int = -1, inner: int = -1) -> None:
        """Replace [start, end) by `text` plus the newlines the range held."""
        data = text.encode("utf-8", "surrogatepass")
        newlines = self.src.count(b"\n", start, end)
        if newlines:
            data += b"\n" * newlines
        points: tuple[tuple[int, int], ...] = ()
        if at >= 0:
            points = ((0, at),) if inner <= 0 else ((0, at), (inner, at))
        self.edits.append((start, end, data, points))

    def remove_statement(self, node: Node) -> None:
        # `a \n import …\n (b)`: without the import, `a(b)` would be a call; a `;` keeps them apart.
        self.edit(node.start_byte, node.end_byte, ";" if self._open_before(node, True) else "")

    def _open_before(self, node: Node, top_level: bool = False) -> bool:
        """Could the statement before `node` continue into a next line starting with `(`?"""
        memo = self._open_memo
        node_top_level = top_level
        answer = False
        prev = node.prev_named_sibling
        while prev is not None:
            t = prev.type
            if t in _SELF_TERMINATED:
                break
            if t in _SKIPPED or (t == "export_statement" and prev.child_by_field_name("declaration") is None
                                 and prev.child_by_field_name("value") is None):
                # Comments, and statements the transform removes: the answer for the one
                # before them (a removed statement's own answer, when known: consecutive imports).
                known = memo.get(prev.start_byte) if top_level else None
                if known is not None:
                    answer = known
                    break
                prev = prev.prev_named_sibling
                continue
            if self.src[prev.end_byte - 1] == 59:  # ";"
                break
            top_level = False  # (below: inside a statement)
            if t in _NESTED_STATEMENT:
                # `if (a) b` ends with its innermost statement.
                prev = prev.named_children[-1] if prev.named_child_count else None
                continue
            if t == "export_statement":
                prev = prev.child_by_field_name("declaration")  # `export default x` gets a `;`
                continue
            answer = True
            break
        if node_top_level:
            memo[node.start_byte] = answer  # removed top-level statements, by offset
        return answer

    def _statement_start_hazard(self, offset: int) -> bool:
        """A rewrite starting with `(` at the start of an expression statement at `offset`."""
        src = self.src
        before = offset - 1
        while before >= 0 and (src[before] == 32 or src[before] == 9):
            before -= 1
        if before >= 0 and src[before] in _OPERATOR_BYTES:
            return False  # right after an operator on the same line: inside an expression
        node = self.root.descendant_for_byte_range(offset, offset)
        while node is not None and node.start_byte == offset and node.type != "expression_statement":
            node = node.parent
        if node is None or node.type != "expression_statement" or node.start_byte != offset:
            return False
        parent = node.parent
        return parent is not None and parent.type in _STATEMENT_LISTS and self._open_before(node)

    # --- the parts --------------------------------------------------------------------------

    def emit(self) -> TransformResult:
        src = self.src
        analysis = self.analysis
        entries = self.entries
        imports = entries.imports
        bindings = analysis.module.bindings

        # Where each imported local name points.
        import_targets: dict[str, tuple[str, bool]] = {}
        for n, imp in enumerate(imports):
            var = f"__vite_ssr_import_{n}__"
            for name in imp.names:
                if name.local is not None:
                    if name.imported == "*":
                        import_targets[name.local] = (var, True)
                    else:
                        import_targets[name.local] = (_member(var, name.imported), False)

        # a. export getters.
        exports: dict[str, ExportRecord] = {}
        uses_eval = analysis.uses_eval
        if not uses_eval:
            analysis.count_writes()
        for e in entries.exports:
            if e.import_index is not None:
                imp = imports[e.import_index]
                var = f"__vite_ssr_import_{e.import_index}__"
                target = var if e.import_name == "*" else _member(var, e.import_name or "")
                exports[e.exported] = _export_record("indirect", specifier=imp.specifier,
                                                     import_name=e.import_name)
            elif e.local == "*default*":
                target = DEFAULT_LOCAL
                exports[e.exported] = _export_record("local", local=DEFAULT_LOCAL, constant=not uses_eval)
            else:
                local = e.local or ""
                b = bindings.get(local)
                if b is not None and b.kind == "import":
                    target = import_targets[local][0]
                    imp_index, imp_name = self._import_of(local)
                    exports[e.exported] = _export_record("indirect", specifier=imports[imp_index].specifier,
                                                         import_name=imp_name)
                else:
                    target = local
                    constant = not uses_eval and b is not None and (
                        b.kind == "const" or (b.writes == 0 and (b.kind != "var" or b.inits <= 1)))
                    exports[e.exported] = _export_record("local", local=local, constant=constant)
            self.prologue.append((
                f"__vite_ssr_exportName__({_js_string(e.exported)}, () => {target});".encode(
                    "utf-8", "surrogatepass"), ((0, e.start),)))

        # b. + body edits of the export statements.
        hashbang = src.startswith(b"#!")
        for item in analysis.items:
            if item.type == "import_statement":
                self.remove_statement(item)
            else:
                self.export_statement(item)

        # c, d. hoisted imports.
        for n, imp in enumerate(imports):
            options: dict[str, Any] = {}
            names = [x.imported for x in imp.names]
            if names and "*" not in names:
                options["importedNames"] = list(dict.fromkeys(names))
            if imp.attributes:
                options["attributes"] = imp.attributes
            opts = ", " + orjson.dumps(options).decode() if options else ""
            var = f"__vite_ssr_import_{n}__"
            text = f"const {var} = await __vite_ssr_import__({_js_string(imp.specifier)}{opts});"
            self.prologue.append((text.encode("utf-8", "surrogatepass"),
                                  ((0, imp.start), (text.index("__vite_ssr_import__("), imp.start))))
            if imp.star:
                self.prologue.append((f"__vite_ssr_exportAll__({var});".encode(), ((0, imp.start),)))

        # Body rewrites (an identifier holds no newline: `edit`, inlined).
        edits = self.edits
        for ref, b in analysis.module_references():
            if b.kind != "import":
                continue
            target, is_namespace = import_targets[ref.name]
            flags = ref.flags
            text = target
            if flags & CALLEE and not is_namespace:
                text = f"(0,{target})"
            if flags & SHORTHAND:
                text = f"{ref.name}: {target}"
            elif text[0] == "(" and self._statement_start_hazard(ref.start):
                text = ";" + text
            dot = len(text) - len(target) + max(target.rfind("."), target.rfind("[")) + 1
            start = ref.start
            edits.append((start, ref.end, text.encode("utf-8", "surrogatepass"),
                          ((0, start),) if dot <= 0 else ((0, start), (dot, start))))
        if "arguments" not in bindings:
            for ref in analysis.global_references("arguments"):
                if not ref.flags & WRITE:
                    text = "globalThis.arguments" if ref.flags & TYPEOF else _ARGUMENTS
                    if ref.flags & SHORTHAND:
                        text = "arguments: " + text
                    elif self._statement_start_hazard(ref.start):
                        text = ";" + text
                    self.edit(ref.start, ref.end, text, ref.start)
        for start, end in analysis.import_meta:
            self.edit(start, end, "__vite_ssr_import_meta__", start)
        dynamic_deps: list[str] = []
        for dyn in analysis.dynamic_imports:
            self.edit(dyn.start, dyn.import_end, "__vite_ssr_dynamic_import__", dyn.start)
            if dyn.specifier is not None:
                dynamic_deps.append(dyn.specifier)
        if hashbang:
            self.edit(0, 2, "//")

        code, mappings = self._assemble()
        source_map = {"version": 3, "sources": [self.id], "sourcesContent": [self.code], "names": [],
                      "mappings": mappings}
        records = []
        for imp in imports:
            line, column = self.position(imp.spec_start)
            names = [x.imported for x in imp.names if x.imported != "*"]
            namespace = imp.star or any(x.imported == "*" for x in imp.names) or (
                imp.is_export and any(e.import_index is not None and imports[e.import_index] is imp
                                      and e.import_name == "*" for e in entries.exports))
            records.append(_import_record(imp.specifier, list(dict.fromkeys(names)), namespace,
                                          dict(imp.attributes), line, column))
        return TransformResult(
            code=code, map=source_map,
            deps=list(dict.fromkeys(imp.specifier for imp in imports)),
            dynamic_deps=list(dict.fromkeys(dynamic_deps)),
            imports=records, exports=exports,
            star_exports=[imp.specifier for imp in imports if imp.star],
            has_tla=analysis.top_level_await is not None)

    def _import_of(self, local: str) -> tuple[int, str]:
        for n, imp in enumerate(self.entries.imports):
            for name in imp.names:
                if name.local == local:
                    return n, name.imported
        raise KeyError(local)

    def export_statement(self, node: Node) -> None:
        fields = self.entries.fields
        known = fields.get(node.start_byte) if fields is not None else None
        if known is not None:
            declaration, value, _ = known
        else:
            declaration = node.child_by_field_name("declaration")
            value = node.child_by_field_name("value")
        if declaration is not None:
            self.edit(node.start_byte, declaration.start_byte, "")
            return
        if value is None:
            self.remove_statement(node)
            return
        head = default_declaration_head(value)
        if head is not None and head.child_by_field_name("name") is None:
            if head.type == "class":
                self.edit(node.start_byte, head.start_byte, f"const {DEFAULT_LOCAL} = ({{ default: ",
                          node.start_byte)
                self.edit(head.end_byte, head.end_byte, " }).default;")
                return
            # `export default function () {}` is a hoisted declaration: name it, fix `.name`.
            self.edit(node.start_byte, head.start_byte, "")
            params = head.child_by_field_name("parameters")
            if params is not None:
                space = "" if self.src[params.start_byte - 1:params.start_byte].isspace() else " "
                self.edit(params.start_byte, params.start_byte, space + DEFAULT_LOCAL)
            fix_name = (f'Object.defineProperty({DEFAULT_LOCAL}, "name", '
                        '{value: "default", configurable: true});')
            self.prologue.append((fix_name.encode(), ((0, node.start_byte),)))
            return
        inner = value
        while inner.type == "parenthesized_expression" and inner.named_child_count == 1:
            inner = inner.named_children[0]
        anonymous = inner.type in _ANON_DEFINITIONS and (
            inner.type == "arrow_function" or inner.child_by_field_name("name") is None)
        if anonymous:
            # NamedEvaluation through a property key gives the function or class the name "default".
            self.edit(node.start_byte, value.start_byte, f"const {DEFAULT_LOCAL} = ({{ default: ",
                      node.start_byte)
            self.edit(value.end_byte, value.end_byte, " }).default;")
        else:
            self.edit(node.start_byte, value.start_byte, f"const {DEFAULT_LOCAL} = ", node.start_byte)
            self.edit(value.end_byte, value.end_byte, ";")

    # --- output and mappings ----------------------------------------------------------------

    def _line_of(self, offset: int) -> tuple[int, int]:
        """0-based line and the offset of its start, for a byte offset."""
        ends = self._line_ends
        if ends is None:
            # Offsets just past each line's newline (the last line's end, +1, closes the list).
            ends = self._line_ends = list(accumulate(map((1).__add__, map(len, self.src.split(b"\n")))))
        line = bisect_right(ends, offset)
        return line, ends[line - 1] if line else 0

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and 1-based character column of a byte offset."""
        line, start = self._line_of(offset)
        return line + 1, len(self.src[start:offset].decode("utf-8", "surrogatepass")) + 1

    def _line_col(self, offset: int) -> tuple[int, int]:
        """0-based line and column (in source-map units) of a byte offset."""
        line, start = self._line_of(offset)
        return line, _units(self.src[start:offset])

    def _assemble(self) -> tuple[str, str]:
        """Apply the edits, encoding the mappings as it goes (segments come in column order).

        Generated line N is original line N, so a copied token at original column c of line N
        sits at generated column c + shift, where shift changes only at edits on that line.
        Every word token copied (outside comments) gets a segment. Within one copied piece of a
        line, consecutive tokens advance the generated and original columns alike, by the
        length of a "chunk" (a token and the gap after it): those segments are table lookups by
        chunk length. Chunks are found without a regex: in a copy of the source with token
        bytes turned into `a` and gap bytes into spaces, a separator is put before every token
        that follows a gap, and the text split there. Columns are UTF-16 units: on a line with
        non-ASCII text, chunk lengths are measured in units rather than bytes.
        """
        src = self.src
        n = len(src)
        out: list[bytes] = []
        V = _VLQ
        pairs = _PAIRS.__getitem__
        comma_pairs = _COMMA_PAIRS.__getitem__
        find = src.find
        shape = src.translate(_SHAPE)
        line_parts: list[str] = []
        segs: list[str] = []
        # Encoder state: previous generated column (per line), source line and column.
        pg = psl = psc = 0
        wide_file = not src.isascii() or not all(map(bytes.isascii, map(_DATA, self.edits)))
        wide = False

        col = 0
        if self.prologue:
            self._line_of(0)
            ends = self._line_ends or [0]
            for text, points in self.prologue:
                for off, at in points:
                    sl = bisect_right(ends, at)
                    sc = at - (ends[sl - 1] if sl else 0)
                    if wide_file:
                        sc = _units(src[at - sc:at])
                    g = col + _units(text[:off]) if off else col
                    segs.append(V[g - pg] + "A" + V[sl - psl] + V[sc - psc])
                    pg, psl, psc = g, sl, sc
                out.append(text)
                col += _units(text)  # (export names can be non-ASCII in an ASCII source: escapes)
        edits = sorted(self.edits, key=_RANGE)
        edits.append((n, n, b"", ()))
        # Comments are copied but not mapped: copies are split around them.
        comments = sorted(self.analysis.comments)
        ci = 0
        nc = len(comments)
        line = 0
        line_start = 0
        shift = col
        if wide_file:
            wide = not _line_is_ascii(src, 0)
        pos = 0
        for start, end, data, points in edits:
            if start > pos:
                out.append(src[pos:start])
                a = pos
                while a < start:
                    if nc:
                        while ci < nc and comments[ci][1] <= a:
                            ci += 1
                        if ci < nc and comments[ci][0] < start:
                            b, skip_to = max(a, comments[ci][0]), min(comments[ci][1], start)
                        else:
                            b = skip_to = start
                    else:
                        b = skip_to = start
                    if not wide_file and b - a == 1 and src[a] == 10:
                        # A lone newline (between removed statements, say): the line ends.
                        line_parts.append(",".join(segs))
                        segs = []
                        line += 1
                        line_start = b
                        shift = pg = 0
                    elif not wide_file:
                        # ASCII: the tokens of [a, b) marked with "|" and split into lines: the
                        # rest of the current line, whole lines (no edit on them so far: shift
                        # 0), and the start of the line the copy stops in.
                        marked = (b"\n" + shape[a:b]).replace(b"\na", b"\n|a").replace(b" a", b" |a").split(b"\n")
                        text = marked[1]
                        if 124 in text:  # "|"
                            parts = text.split(b"|")
                            count = len(parts)
                            base = a - line_start
                            c = base + len(parts[0])
                            g = c + shift
                            segs.append(V[g - pg] + "A" + V[line - psl] + V[c - psc])
                            if count > 2:
                                segs.extend(map(pairs, map(len, parts[1:-1])))
                            c = base + len(text) - count + 1 - len(parts[-1])
                            pg = c + shift
                            psc = c
                            psl = line
                        last_index = len(marked) - 1
                        if last_index > 1:
                            line_parts.append(",".join(segs))
                            for i in range(2, last_index):
                                text = marked[i]
                                line += 1
                                if 124 not in text:
                                    line_parts.append("")
                                    continue
                                parts = text.split(b"|")
                                count = len(parts)
                                c = len(parts[0])
                                if count > 2:
                                    line_parts.append(V[c] + "A" + V[line - psl] + V[c - psc]
                                                      + "".join(map(comma_pairs, map(len, parts[1:-1]))))
                                else:
                                    line_parts.append(V[c] + "A" + V[line - psl] + V[c - psc])
                                psl = line
                                psc = len(text) - count + 1 - len(parts[-1])
                            line += 1
                            text = marked[last_index]
                            line_start = b - len(text) + text.count(b"|")
                            shift = 0
                            segs = []
                            if 124 in text:
                                parts = text.split(b"|")
                                count = len(parts)
                                c = len(parts[0])
                                segs.append(V[c] + "A" + V[line - psl] + V[c - psc])
                                if count > 2:
                                    segs.extend(map(pairs, map(len, parts[1:-1])))
                                pg = psc = len(text) - count + 1 - len(parts[-1])
                                psl = line
                            else:
                                pg = 0
                    else:
                        # Tokens of [a, b): the rest of the current line ...
                        nl = find(b"\n", a, b)
                        y = b if nl < 0 else nl
                        if a < y:
                            if wide:
                                chunks = _CHUNK.findall(src, a, y)
                                if chunks:
                                    lens = list(map(_units, chunks))
                                    c = _units(src[line_start:y - sum(map(len, chunks))])
                                    g = c + shift
                                    segs.append(V[g - pg] + "A" + V[line - psl] + V[c - psc])
                                    lens.pop()
                                    if lens:
                                        segs.extend(map(pairs, lens))
                                        advance = sum(lens)
                                        c += advance
                                        g += advance
                                    pg = g
                                    psc = c
                                    psl = line
                            else:
                                text = shape[a:y]
                                parts = text.replace(b" a", b" |a").split(b"|")
                                if text[0] == 97:  # "a": a token right at the start
                                    c = a - line_start
                                elif len(parts) > 1:
                                    c = a - line_start + len(parts.pop(0))
                                else:
                                    c = -1
                                if c >= 0:
                                    g = c + shift
                                    segs.append(V[g - pg] + "A" + V[line - psl] + V[c - psc])
                                    last = len(parts.pop())
                                    if parts:
                                        segs.extend(map(pairs, map(len, parts)))
                                    c = y - line_start - last
                                    pg = c + shift
                                    psc = c
                                    psl = line
                        if nl >= 0:
                            # ... whole lines (no edit on them so far: shift 0) ...
                            line_parts.append(",".join(segs))
                            block = shape[nl + 1:b]
                            # Every token start marked with "|" (the first line is not copied).
                            texts = (b"\n" + block).replace(b"\na", b"\n|a").replace(b" a", b" |a").split(b"\n")
                            texts.pop()
                            last_text = block[block.rfind(b"\n") + 1:]
                            wide_lines = src[nl + 1:b].split(b"\n") if wide_file else None
                            for i in range(1, len(texts)):
                                text = texts[i]
                                line += 1
                                if 124 not in text:  # "|": no token on the line
                                    line_parts.append("")
                                    continue
                                if wide_lines is not None and not wide_lines[i - 1].isascii():
                                    orig = wide_lines[i - 1]
                                    chunks = _CHUNK.findall(orig)
                                    lens = list(map(_units, chunks))
                                    c = _units(orig[:len(orig) - sum(map(len, chunks))])
                                    first = V[c] + "A" + V[line - psl] + V[c - psc]
                                    lens.pop()
                                    if lens:
                                        line_parts.append(first + "," + ",".join(map(pairs, lens)))
                                        c += sum(lens)
                                    else:
                                        line_parts.append(first)
                                    psl = line
                                    psc = c
                                    continue
                                parts = text.split(b"|")
                                count = len(parts)
                                c = len(parts[0])
                                if count > 2:
                                    line_parts.append(V[c] + "A" + V[line - psl] + V[c - psc]
                                                      + "".join(map(comma_pairs, map(len, parts[1:-1]))))
                                else:
                                    line_parts.append(V[c] + "A" + V[line - psl] + V[c - psc])
                                psl = line
                                psc = len(text) - count + 1 - len(parts[-1])
                            # ... and the start of the line the copy stops in.
                            line += 1
                            line_start = b - len(last_text)
                            shift = pg = 0
                            segs = []
                            if wide_file:
                                wide = not _line_is_ascii(src, line_start)
                            if last_text:
                                if wide:
                                    chunks = _CHUNK.findall(src, line_start, b)
                                    if chunks:
                                        lens = list(map(_units, chunks))
                                        c = _units(src[line_start:b - sum(map(len, chunks))])
                                        segs.append(V[c] + "A" + V[line - psl] + V[c - psc])
                                        lens.pop()
                                        if lens:
                                            segs.extend(map(pairs, lens))
                                            c += sum(lens)
                                        pg = psc = c
                                        psl = line
                                else:
                                    parts = last_text.replace(b" a", b" |a").split(b"|")
                                    if last_text[0] == 97:
                                        c = 0
                                    elif len(parts) > 1:
                                        c = len(parts.pop(0))
                                    else:
                                        c = -1
                                    if c >= 0:
                                        segs.append(V[c] + "A" + V[line - psl] + V[c - psc])
                                        last = len(parts.pop())
                                        if parts:
                                            segs.extend(map(pairs, map(len, parts)))
                                        pg = psc = len(last_text) - last
                                        psl = line
                    k = src.count(b"\n", b, skip_to) if b < skip_to else 0
                    if k:
                        line += k
                        line_start = src.rfind(b"\n", b, skip_to) + 1
                        shift = pg = 0
                        line_parts.append(",".join(segs))
                        line_parts.extend([""] * (k - 1))
                        segs = []
                        if wide_file:
                            wide = not _line_is_ascii(src, line_start)
                    a = skip_to
            elif start < pos:
                raise AssertionError(f"overlapping edits at {start}")
            if points:
                c = _units(src[line_start:start]) if wide else start - line_start
                gen = c + shift
                for off, at in points:
                    sl, sc = (line, c) if at == start else self._line_col(at)
                    g = gen + (_units(data[:off]) if wide_file else off)
                    segs.append(V[g - pg] + "A" + V[sl - psl] + V[sc - psc])
                    pg, psl, psc = g, sl, sc
            if data:
                out.append(data)
            newlines = data.count(b"\n")
            if newlines:
                line += newlines
                line_start = src.rfind(b"\n", start, end) + 1
                shift = -_units(src[line_start:end]) if wide_file else -(end - line_start)
                pg = 0
                line_parts.append(",".join(segs))
                line_parts.extend([""] * (newlines - 1))
                segs = []
                if wide_file:
                    wide = not _line_is_ascii(src, line_start)
            elif wide_file:
                shift += _units(data) - _units(src[start:end])
            else:
                shift += len(data) - (end - start)
            pos = end
        line_parts.append(",".join(segs))
        return b"".join(out).decode("utf-8", "surrogatepass"), ";".join(line_parts)


def _line_is_ascii(src: bytes, start: int) -> bool:
    end = src.find(b"\n", start)
    return src[start:end if end >= 0 else len(src)].isascii()


_DATA = itemgetter(2)
_RANGE = itemgetter(0, 1)
# UTF-16 length of UTF-8 text = bytes - continuation bytes + 4-byte leads (surrogate pairs).
_CONT_TABLE = bytes(1 if 0x80 <= i < 0xC0 else 0 for i in range(256))
_LEAD4_TABLE = bytes(1 if i >= 0xF0 else 0 for i in range(256))


def _units(text: bytes) -> int:
    """Length in UTF-16 code units (the source-map column unit) of UTF-8 `text`."""
    if text.isascii():
        return len(text)
    return len(text) - sum(text.translate(_CONT_TABLE)) + sum(text.translate(_LEAD4_TABLE))

