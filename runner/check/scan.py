"""The scan of one module: what it imports (with where) and what it uses that the profile does not
provide, by scope analysis over the tree-sitter tree (runner/transform/walker.py), never by text
search: a local named `process` is not the global, `typeof process` guards make their branches
`info`, and branches a constant condition never takes (after `define`) are not reported."""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from ..transform.cjs_transform import in_dead_branch, literal_argument, module_syntax
from ..transform.entries import string_value
from ..transform.parser import parse_javascript
from ..transform.scope import CALLEE, READ, TYPEOF, WRITE
from ..transform.walker import analyze
from .guards import Guards, is_test, unary
from .rules import BROWSER_GLOBALS, COMMONJS_WRAPPER, GLOBAL_OBJECTS

_FUNCTION_CONSTRUCTORS = {"function_expression": "Function", "arrow_function": "Function",
                          "generator_function": "GeneratorFunction"}


@dataclass(frozen=True)
class Hit:
    rule: str
    start: int  # byte offsets into the scanned code
    end: int
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Scan:
    commonjs: bool
    #: (specifier, byte offset of its string, "import" or "require"): literal imports, re-exports,
    #: import() and require() calls, in source order
    specifiers: list[tuple[str, int, str]]
    hits: list[Hit]
    #: the parser met a syntax error (the module's transform says where and why)
    broken: bool


def scan(code: str, provided: frozenset[str], hint: str, node_globals: frozenset[str]) -> Scan:
    """`hint` is the module format the name says ("module", "commonjs" or "auto", as
    transform_request.format_hint); `node_globals` are Node's globals (reported when read as
    `globalThis.NAME` too)."""
    src = code.encode("utf-8", "surrogatepass")
    root = parse_javascript(src).root_node
    commonjs = hint == "commonjs" or (hint == "auto" and module_syntax(src, root) == "commonjs")
    analysis = analyze(root, src)
    guards = Guards(root, src)
    specifiers: list[tuple[str, int, str]] = []
    hits: list[Hit] = []
    for item in analysis.items:
        source = item.child_by_field_name("source")
        if source is not None and source.type == "string":
            specifiers.append((string_value(src, source), source.start_byte, "import"))
    for dynamic in analysis.dynamic_imports:
        if dynamic.specifier is not None:
            specifiers.append((dynamic.specifier, dynamic.start, "import"))
        else:
            node = root.descendant_for_byte_range(dynamic.start, dynamic.end)
            if node is not None and not in_dead_branch(node):
                hits.append(Hit("dynamic-import-expression", dynamic.start, dynamic.end))
    foreign = BROWSER_GLOBALS | node_globals | {"WebAssembly"}
    for ref in analysis.references:
        name = ref.name
        if (ref.flags & (READ | WRITE)) == WRITE or analysis.resolve(ref) is not None:
            continue
        if commonjs and name in COMMONJS_WRAPPER:
            if name == "require" and ref.flags & CALLEE:
                call = _node(root, ref.start, ref.end).parent
                if call is not None and call.type == "call_expression" and not in_dead_branch(call):
                    specifier = literal_argument(src, call)
                    if specifier is not None:
                        specifiers.append((specifier, call.start_byte, "require"))
                    else:
                        hits.append(Hit("dynamic-require", call.start_byte, call.end_byte))
            continue
        if name in provided:
            hit = _provided_use(_node(root, ref.start, ref.end), src, guards, name, ref.flags, provided, foreign)
        elif ref.flags & TYPEOF:
            continue  # `typeof X` is how code asks, not a use
        else:
            node = _node(root, ref.start, ref.end)
            if in_dead_branch(node) or (commonjs and guards.unreached_in_commonjs(node)):
                continue
            rule = "webassembly" if name == "WebAssembly" else \
                "guarded-node-global" if guards.guarded(node, name) else "node-global"
            hit = Hit(rule, ref.start, ref.end, {"name": name})
        if hit is not None:
            hits.append(hit)
    hits += _constructor_reads(root, src)
    specifiers.sort(key=lambda s: s[1])
    hits.sort(key=lambda h: h.start)
    return Scan(commonjs, specifiers, hits, root.has_error)


def _node(root: Node, start: int, end: int) -> Node:
    node = root.descendant_for_byte_range(start, end)
    assert node is not None  # a reference's own range
    return node


def _provided_use(node: Node, src: bytes, guards: Guards, name: str, flags: int, provided: frozenset[str],
                  foreign: frozenset[str]) -> Hit | None:
    """Code generation through a provided global (`eval`, `Function`), or a global the profile
    lacks read as a property of the global object (`globalThis.process`, `self["Buffer"]`)."""
    if name == "eval" and not flags & TYPEOF:
        return None if in_dead_branch(node) else Hit("eval", node.start_byte, node.end_byte)
    parent = node.parent
    if name == "Function" and parent is not None and (
            (parent.type == "new_expression" and parent.child_by_field_name("constructor") == node)
            or flags & CALLEE):
        return None if in_dead_branch(parent) else Hit("function-constructor", parent.start_byte, parent.end_byte,
                                                       {"name": "Function"})
    if name not in GLOBAL_OBJECTS or parent is None:
        return None
    prop: str | None = None
    if parent.type == "member_expression" and parent.child_by_field_name("object") == node:
        key = parent.child_by_field_name("property")
        prop = key.text.decode() if key is not None and key.text is not None else None
    elif parent.type == "subscript_expression" and parent.child_by_field_name("object") == node:
        key = parent.child_by_field_name("index")
        prop = string_value(src, key) if key is not None and key.type == "string" else None
    if prop is None or prop in provided or prop not in foreign:
        return None
    grand = parent.parent
    if grand is not None and unary(grand) == "typeof":
        return None
    if grand is not None and grand.type == "assignment_expression" and grand.child_by_field_name("left") == parent:
        return None  # a program defining the global for itself
    if is_test(parent) or in_dead_branch(parent):
        return None
    rule = "webassembly" if prop == "WebAssembly" else \
        "guarded-node-global" if guards.guarded(parent, prop) else "node-global"
    return Hit(rule, parent.start_byte, parent.end_byte, {"name": f"{name}.{prop}"})


def _constructor_reads(root: Node, src: bytes) -> list[Hit]:
    """`(async function () {}).constructor` and `Object.getPrototypeOf(function* () {}).constructor`:
    the AsyncFunction / GeneratorFunction constructors, reached without naming them."""
    hits = []
    start = 0
    while (at := src.find(b"constructor", start)) >= 0:
        start = at + 11
        key = root.descendant_for_byte_range(at, at + 11)
        member = key.parent if key is not None else None
        if member is None or member.type != "member_expression" or member.child_by_field_name("property") != key:
            continue
        target = member.child_by_field_name("object")
        while target is not None and target.type == "parenthesized_expression":
            target = target.named_child(0)
        if target is not None and target.type == "call_expression" and \
                (target.child_by_field_name("function") or target).text == b"Object.getPrototypeOf":
            arguments = target.child_by_field_name("arguments")
            target = arguments.named_child(0) if arguments is not None and arguments.named_child_count else None
        kind = _FUNCTION_CONSTRUCTORS.get(target.type) if target is not None else None
        if target is None or kind is None or in_dead_branch(member):
            continue
        is_async = any(child.type == "async" for child in target.children)
        name = ("Async" if is_async else "") + kind
        hits.append(Hit("function-constructor", member.start_byte, member.end_byte, {"name": name}))
    return hits
