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
from typing import Any

import orjson
from tree_sitter import Node, Tree

from ..rpc import wire
from .early_errors import module_errors, parse_error, tree_error
from .edits import Edits
from .entries import ModuleEntries, default_declaration_head, module_items
from .entries import module_entries as read_module_entries
from .parser import F_DECLARATION, F_NAME, F_PARAMETERS, F_VALUE
from .records import ExportRecord, ImportRecord, TransformResult
from .repair import parse_module
from .scope import CALLEE, SHORTHAND, TYPEOF, WRITE, ScopeAnalysis
from .walker import analyze

DEFAULT_LOCAL = "__vite_ssr_export_default__"
_IDENT = re.compile(r"[A-Za-z_$][\w$]*", re.ASCII)
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


def _js_string(value: str) -> str:
    return wire.dumps(value)


def _member(base: str, name: str) -> str:
    return f"{base}.{name}" if _IDENT.fullmatch(name) else f"{base}[{_js_string(name)}]"


def ssr_transform(code: str, id: str, parsed: tuple[bytes, Tree] | None = None) -> TransformResult:
    """Transform one ES module; raises ParseError (file=id) for syntax and early errors. `parsed`:
    the code's UTF-8 bytes and their tree, where the caller has them (not parsed twice)."""
    src, tree = parsed if parsed is not None else (code.encode("utf-8", "surrogatepass"), None)
    tree, attribute_ranges = parse_module(src, tree)
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
    return _Rewriter(code, id, src, root, analysis, entries).emit()


class _Rewriter:
    """What the runner format changes in one module, as edits (edits.py makes code and map)."""

    def __init__(self, code: str, id: str, src: bytes, root: Node, analysis: ScopeAnalysis,
                 entries: ModuleEntries) -> None:
        self.code = code
        self.id = id
        self.src = src
        self.root = root
        self.analysis = analysis
        self.entries = entries
        self.edits = Edits(src)
        self._open_memo: dict[int, bool] = {}

    def remove_statement(self, node: Node) -> None:
        # `a \n import …\n (b)`: without the import, `a(b)` would be a call; a `;` keeps them apart.
        self.edits.overwrite(node.start_byte, node.end_byte, ";" if self._open_before(node, True) else "")

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
            if t in _SKIPPED or (t == "export_statement" and prev.child_by_field_id(F_DECLARATION) is None
                                 and prev.child_by_field_id(F_VALUE) is None):
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
                prev = prev.child_by_field_id(F_DECLARATION)  # `export default x` gets a `;`
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

    # --- the parts, in the order they are emitted --------------------------------------------

    def emit(self) -> TransformResult:
        import_targets = self.import_targets()
        exports = self.define_exports(import_targets)
        for item in self.analysis.items:
            if item.type == "import_statement":
                self.remove_statement(item)
            else:
                self.export_statement(item)
        self.hoist_imports()
        self.rewrite_import_references(import_targets)
        self.rewrite_arguments()
        dynamic_deps = self.rename_meta_and_dynamic_imports()
        if self.src.startswith(b"#!"):
            self.edits.overwrite(0, 2, "//")
        code, source_map = self.edits.result(self.id, self.code, self.analysis.comments)
        imports = self.entries.imports
        return TransformResult(
            code=code, map=source_map,
            deps=list(dict.fromkeys(imp.specifier for imp in imports)),
            dynamic_deps=list(dict.fromkeys(dynamic_deps)),
            imports=self.import_records(), exports=exports,
            star_exports=[imp.specifier for imp in imports if imp.star],
            has_tla=self.analysis.top_level_await is not None)

    def import_targets(self) -> dict[str, tuple[str, bool]]:
        """Where each imported local name points (and whether it is a namespace)."""
        import_targets: dict[str, tuple[str, bool]] = {}
        for n, imp in enumerate(self.entries.imports):
            var = f"__vite_ssr_import_{n}__"
            for name in imp.names:
                if name.local is not None:
                    if name.imported == "*":
                        import_targets[name.local] = (var, True)
                    else:
                        import_targets[name.local] = (_member(var, name.imported), False)
        return import_targets

    def define_exports(self, import_targets: dict[str, tuple[str, bool]]) -> dict[str, ExportRecord]:
        """A getter per export, first in the prologue (live bindings: it reads the binding)."""
        analysis = self.analysis
        imports = self.entries.imports
        bindings = analysis.module.bindings
        exports: dict[str, ExportRecord] = {}
        uses_eval = analysis.uses_eval
        if not uses_eval:
            analysis.count_writes()
        for e in self.entries.exports:
            if e.import_index is not None:
                imp = imports[e.import_index]
                var = f"__vite_ssr_import_{e.import_index}__"
                target = var if e.import_name == "*" else _member(var, e.import_name or "")
                exports[e.exported] = ExportRecord("indirect", specifier=imp.specifier,
                                                    import_name=e.import_name)
            elif e.local == "*default*":
                target = DEFAULT_LOCAL
                exports[e.exported] = ExportRecord("local", local=DEFAULT_LOCAL, constant=not uses_eval)
            else:
                local = e.local or ""
                b = bindings.get(local)
                if b is not None and b.kind == "import":
                    target = import_targets[local][0]
                    imp_index, imp_name = self._import_of(local)
                    exports[e.exported] = ExportRecord("indirect", specifier=imports[imp_index].specifier,
                                                        import_name=imp_name)
                else:
                    target = local
                    constant = not uses_eval and b is not None and (
                        b.kind == "const" or (b.writes == 0 and (b.kind != "var" or b.inits <= 1)))
                    exports[e.exported] = ExportRecord("local", local=local, constant=constant,
                                                        hoisted_var=b is not None and b.kind == "var")
            self.edits.prepend(f"__vite_ssr_exportName__({_js_string(e.exported)}, () => {target});",
                               (0, e.start))
        return exports

    def hoist_imports(self) -> None:
        """The imports, in the prologue after the getters (and `exportAll` after `export *`)."""
        edits = self.edits
        for n, imp in enumerate(self.entries.imports):
            options: dict[str, Any] = {}
            names = [x.imported for x in imp.names]
            if names and "*" not in names:
                options["importedNames"] = list(dict.fromkeys(names))
            if imp.attributes:
                options["attributes"] = imp.attributes
            opts = ", " + orjson.dumps(options).decode() if options else ""
            var = f"__vite_ssr_import_{n}__"
            text = f"const {var} = await __vite_ssr_import__({_js_string(imp.specifier)}{opts});"
            edits.prepend(text, (0, imp.start), (text.index("__vite_ssr_import__("), imp.start))
            if imp.star:
                edits.prepend(f"__vite_ssr_exportAll__({var});", (0, imp.start))
        if self.entries.imports:
            # Where a module the runner starts early (one in an import cycle) waits for its turn, with
            # every import bound (modrun's import.meta is then a thenable); elsewhere, one tick.
            edits.prepend("await __vite_ssr_import_meta__;")

    def rewrite_import_references(self, import_targets: dict[str, tuple[str, bool]]) -> None:
        """References to imports read the imported module's namespace (calls without a `this`)."""
        edits = self.edits
        for ref, b in self.analysis.module_references():
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
            if dot > 0 and not text.isascii():  # points are UTF-8 byte offsets into the text
                dot = len(text[:dot].encode("utf-8", "surrogatepass"))
            start = ref.start
            if dot <= 0:
                edits.overwrite(start, ref.end, text, (0, start))
            else:
                edits.overwrite(start, ref.end, text, (0, start), (dot, start))

    def rewrite_arguments(self) -> None:
        """A module has no `arguments`; the function body the runner makes of it has."""
        analysis = self.analysis
        if "arguments" in analysis.module.bindings:
            return
        for ref in analysis.global_references("arguments"):
            if not ref.flags & WRITE:
                text = "globalThis.arguments" if ref.flags & TYPEOF else _ARGUMENTS
                if ref.flags & SHORTHAND:
                    text = "arguments: " + text
                elif self._statement_start_hazard(ref.start):
                    text = ";" + text
                self.edits.overwrite(ref.start, ref.end, text, (0, ref.start))

    def rename_meta_and_dynamic_imports(self) -> list[str]:
        """`import.meta` and `import(…)` become the runner's; answers the literal specifiers."""
        edits = self.edits
        for start, end in self.analysis.import_meta:
            edits.overwrite(start, end, "__vite_ssr_import_meta__", (0, start))
        dynamic_deps: list[str] = []
        for dyn in self.analysis.dynamic_imports:
            edits.overwrite(dyn.start, dyn.import_end, "__vite_ssr_dynamic_import__", (0, dyn.start))
            if dyn.specifier is not None:
                dynamic_deps.append(dyn.specifier)
        return dynamic_deps

    def import_records(self) -> list[ImportRecord]:
        imports = self.entries.imports
        # `export * as ns from`: one pass over the exports, not one per import (an index re-exporting
        # hundreds of modules by name made this quadratic).
        namespace_reexports = {e.import_index for e in self.entries.exports
                               if e.import_index is not None and e.import_name == "*"}
        records = []
        for n, imp in enumerate(imports):
            line, column = self.position(imp.spec_start)
            names = [x.imported for x in imp.names if x.imported != "*"]
            namespace = imp.star or n in namespace_reexports or any(x.imported == "*" for x in imp.names)
            records.append(ImportRecord(imp.specifier, list(dict.fromkeys(names)), namespace,
                                        dict(imp.attributes), line, column))
        return records

    def _import_of(self, local: str) -> tuple[int, str]:
        for n, imp in enumerate(self.entries.imports):
            for name in imp.names:
                if name.local == local:
                    return n, name.imported
        raise KeyError(local)

    def export_statement(self, node: Node) -> None:
        """The export syntax goes, declarations stay; a default export's value is bound to
        `__vite_ssr_export_default__` (see the module docstring)."""
        edits = self.edits
        fields = self.entries.fields
        known = fields.get(node.start_byte) if fields is not None else None
        if known is not None:
            declaration, value, _ = known
        else:
            declaration = node.child_by_field_id(F_DECLARATION)
            value = node.child_by_field_id(F_VALUE)
        if declaration is not None:
            edits.overwrite(node.start_byte, declaration.start_byte, "")
            return
        if value is None:
            self.remove_statement(node)
            return
        head = default_declaration_head(value)
        if head is not None and head.child_by_field_id(F_NAME) is None:
            if head.type == "class":
                edits.overwrite(node.start_byte, head.start_byte, f"const {DEFAULT_LOCAL} = ({{ default: ",
                                (0, node.start_byte))
                edits.overwrite(head.end_byte, head.end_byte, " }).default;")
                return
            # `export default function () {}` is a hoisted declaration: name it, fix `.name`.
            edits.overwrite(node.start_byte, head.start_byte, "")
            params = head.child_by_field_id(F_PARAMETERS)
            if params is not None:
                space = "" if self.src[params.start_byte - 1:params.start_byte].isspace() else " "
                edits.overwrite(params.start_byte, params.start_byte, space + DEFAULT_LOCAL)
            fix_name = (f'Object.defineProperty({DEFAULT_LOCAL}, "name", '
                        '{value: "default", configurable: true});')
            edits.prepend(fix_name, (0, node.start_byte))
            return
        inner = value
        while inner.type == "parenthesized_expression" and inner.named_child_count == 1:
            inner = inner.named_children[0]
        anonymous = inner.type in _ANON_DEFINITIONS and (
            inner.type == "arrow_function" or inner.child_by_field_id(F_NAME) is None)
        if anonymous:
            # NamedEvaluation through a property key gives the function or class the name "default".
            edits.overwrite(node.start_byte, value.start_byte, f"const {DEFAULT_LOCAL} = ({{ default: ",
                            (0, node.start_byte))
            edits.overwrite(value.end_byte, value.end_byte, " }).default;")
        else:
            edits.overwrite(node.start_byte, value.start_byte, f"const {DEFAULT_LOCAL} = ", (0, node.start_byte))
            edits.overwrite(value.end_byte, value.end_byte, ";")

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and 1-based character column of a byte offset."""
        line, start = self.edits.line_of(offset)
        return line + 1, len(self.src[start:offset].decode("utf-8", "surrogatepass")) + 1
