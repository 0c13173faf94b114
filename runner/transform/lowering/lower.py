"""TypeScript and JSX source -> JavaScript with a source map, in one pass of edits over the
original text: types erased (typescript.py), JSX lowered (jsx.py), the non-erasable TypeScript
constructs lowered (constructs.py), then unused imports elided. Every edit keeps its lines, so the
map is line-for-line; erased types keep every column too."""

from __future__ import annotations

from typing import Any

from ..early_errors import parse_error, tree_error
from ..edits import Edits
from .constructs import ConstructLowering
from .edit_list import EditList
from .grammars import dialect_of, parse, parse_typescript
from .jsx import JsxLowering
from .options import LoweringOptions
from .typescript import TypeStripper


def lower(code: str, file: str, options: LoweringOptions) -> tuple[str, dict[str, Any] | None] | None:
    """`code` of `file` as JavaScript and its source map (None when nothing changed); None when
    the file is neither TypeScript nor JSX. Raises ParseError for syntax errors and for TypeScript
    it cannot lower (code ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX)."""
    dialect = dialect_of(file)
    if dialect is None:
        return None
    src = code.encode("utf-8", "surrogatepass")
    tree, erase = parse_typescript(src, dialect) if dialect != "jsx" else (parse(src, dialect), [])
    root = tree.root_node
    if root.has_error:
        error = tree_error(root, src)
        if error is not None:
            raise parse_error(code, src, error[0], error[1], file)
    edits = EditList(src)
    stripper = None
    if dialect != "jsx":
        stripper = TypeStripper(edits, root, dialect, verbatim_module_syntax=options.verbatim_module_syntax)
        constructs = stripper.run()
        for start, end in erase:
            statement = root.descendant_for_byte_range(start, start + 6) if end < 0 else None
            while statement is not None and statement.type != "export_statement":
                statement = statement.parent
            if statement is not None:
                edits.erase(statement.start_byte, statement.end_byte, statement=True)
            elif end >= 0:
                edits.erase(start, end)
    uses: set[str] = set()
    if dialect in ("tsx", "jsx"):
        uses = JsxLowering(edits, root, dialect, code, file, options.jsx).run()
    if stripper is not None:
        ConstructLowering(edits, stripper, code, file, commonjs=file.endswith(".cts")).run(constructs)
        stripper.elide_imports(uses)
    if not edits.edits:
        return code, None
    result = Edits(src)
    edits.apply(result)
    return result.result(file, code)
