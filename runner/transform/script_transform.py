"""Classic scripts (not modules) whose `import()` calls must reach the module runner.

A script is evaluated as global code, unchanged but for each `import(…)` call, which becomes
`__modrun_dynamic_import__("<script id>", …)`; the runtime defines that function. Forms of
`import(…)` that are syntax errors (`new import(x)`, `import()`, `import(...x)`, more than two
arguments) are reported here, because the rewritten call would be valid JavaScript.
"""

from __future__ import annotations

import json

from tree_sitter import Node

from ..code_frame import code_frame
from ..errors import Location, ParseError
from .parser import parse_javascript

CALLEE = "__modrun_dynamic_import__"


def _error(source: str, id: str, node: Node, message: str) -> ParseError:
    line, column = node.start_point[0] + 1, node.start_point[1] + 1
    return ParseError(message, loc=Location(id, line, column), frame=code_frame(source, line, column), id=id)


def _constructed_by(call: Node) -> Node | None:
    """The `new` expression whose constructor chain starts with this import() call, if any:
    `new import(x)` and `new import(x).prop` are both syntax errors."""
    node = call
    while node.parent is not None:
        parent = node.parent
        if parent.type == "new_expression":
            return parent if parent.child_by_field_name("constructor") == node else None
        if parent.type in ("member_expression", "subscript_expression") and \
                parent.child_by_field_name("object") == node:
            node = parent
            continue
        return None
    return None


def transform_script(source: str, id: str) -> str:
    """The script with its dynamic imports routed to the module runner. Other syntax errors are
    left for the engine, which reports them with its own messages when it evaluates the script."""
    data = source.encode("utf-8")
    tree = parse_javascript(data)
    edits: list[tuple[int, int, bytes]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "call_expression":
            callee = node.child_by_field_name("function")
            if callee is not None and callee.type == "import":
                constructed = _constructed_by(node)
                if constructed is not None:
                    raise _error(source, id, constructed, "import() cannot be used with new")
                arguments = node.child_by_field_name("arguments")
                args = [c for c in arguments.named_children if c.type != "comment"] if arguments else []
                if not args:
                    raise _error(source, id, node, "import() requires a specifier")
                if len(args) > 2:
                    raise _error(source, id, node, "import() takes at most two arguments")
                if any(a.type == "spread_element" for a in args):
                    raise _error(source, id, node, "import() does not accept spread arguments")
                assert arguments is not None
                edits.append((callee.start_byte, arguments.start_byte + 1,
                              f"{CALLEE}({json.dumps(id)}, ".encode()))
        stack.extend(node.children)
    if not edits:
        return source
    out = bytearray(data)
    for start, end, text in sorted(edits, reverse=True):
        out[start:end] = text
    return out.decode("utf-8")
