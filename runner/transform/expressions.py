"""The scope walk's handlers for expressions: references (reads, writes through assignment
targets, calls, `typeof`), `await`, `import.meta` and `new.target`, dynamic `import()`, `super`.

Each handler takes the walker (walker.py) and a node of the kind it is registered for there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tree_sitter import Node

from .entries import identifier_name, string_value
from .parser import F_ARGUMENT, F_ARGUMENTS, F_FUNCTION, F_KEY, F_LEFT, F_OPERATOR, F_RIGHT, F_VALUE, named_kind_ids
from .scope import (
    AWAIT_ASYNC,
    AWAIT_MODULE,
    CALLEE,
    READ,
    SHORTHAND,
    THIS_METHOD,
    THIS_MODULE,
    TYPEOF,
    WRITE,
    DynamicImport,
    Reference,
)

if TYPE_CHECKING:
    from .walker import Walker

K_IDENTIFIER = named_kind_ids("identifier", "undefined")
_K_PAREN = named_kind_ids("parenthesized_expression")
_AWAIT_MISREAD = frozenset({"call_expression", "subscript_expression", "binary_expression",
                            "member_expression"})
_new_tuple = tuple.__new__  # builds NamedTuples without their Python-level __new__


def ref(w: Walker, node: Node, flags: int) -> None:
    """Record a reference (unless the sieve says it cannot matter)."""
    start = node.start_byte
    end = node.end_byte
    raw = w.src[start:end]
    if w.watched is not None and raw not in w.kept and 92 not in raw:
        return  # a reference that does not matter (see `walker.analyze`)
    name = w.names.get(raw)
    if name is None:
        name = w.names[raw] = identifier_name(raw.decode("utf-8", "surrogatepass"))
    if name == "await":
        w.misplaced.append((start, "await-identifier"))
    elif flags & WRITE and name in ("eval", "arguments"):
        w.misplaced.append((start, "strict-assign"))
    w.refs.append(_new_tuple(Reference, (name, w.scope, start, end, flags)))


def identifier(w: Walker, node: Node) -> None:
    start = node.start_byte
    end = node.end_byte
    raw = w.src[start:end]
    if w.watched is not None and raw not in w.kept and 92 not in raw:
        return  # a reference that does not matter (see `walker.analyze`)
    name = w.names.get(raw)
    if name is None:
        name = w.names[raw] = identifier_name(raw.decode("utf-8", "surrogatepass"))
    if name == "await":
        await_identifier(w, node, start)
        return
    w.refs.append(_new_tuple(Reference, (name, w.scope, start, end, READ)))


def await_identifier(w: Walker, node: Node, start: int) -> None:
    """tree-sitter, which cannot tell whether a function is async, reads `await (x)`,
    `await [x]` or `await -x` as an identifier `await` called, indexed or subtracted from.
    Where `await` is an operator (async functions, the top level) that is an await
    expression; anywhere else, or without an operand, it is an error."""
    if w.await_ctx == AWAIT_MODULE or w.await_ctx == AWAIT_ASYNC:
        parent = node.parent
        if parent is not None and parent.start_byte == start and parent.type in _AWAIT_MISREAD:
            await_at(w, start)
            return
        w.misplaced.append((node.end_byte, "await-operand"))  # the operator with no operand: what follows is blamed
        return
    w.misplaced.append((start, "await-identifier"))


def shorthand(w: Walker, node: Node) -> None:
    ref(w, node, READ | SHORTHAND)


def assignment(w: Walker, node: Node) -> None:
    left = node.child_by_field_id(F_LEFT)
    if left is not None:
        target(w, left, WRITE)
    w.children_but(node, left)


def target(w: Walker, node: Node, flags: int, declare_only: bool = False) -> None:
    """An assignment target: identifiers become write references; the rest is visited."""
    t = node.type
    if t == "identifier" or t == "undefined":
        ref(w, node, flags)
    elif t == "shorthand_property_identifier_pattern":
        ref(w, node, flags | SHORTHAND)
    elif t == "parenthesized_expression":
        for child in node.named_children:
            target(w, child, flags, declare_only)
    elif t == "object_pattern" or t == "array_pattern" or t == "rest_pattern":
        for child in node.named_children:
            target(w, child, flags, declare_only)
    elif t == "pair_pattern":
        key = node.child_by_field_id(F_KEY)
        if key is not None and key.type == "computed_property_name" and not declare_only:
            w.children(key)
        value = node.child_by_field_id(F_VALUE)
        if value is not None:
            target(w, value, flags, declare_only)
    elif t == "assignment_pattern" or t == "object_assignment_pattern":
        left = node.child_by_field_id(F_LEFT)
        right = node.child_by_field_id(F_RIGHT)
        if left is not None:
            target(w, left, flags, declare_only)
        if right is not None and not declare_only:
            w.visit(right)
    elif t == "meta_property":
        w.misplaced.append((node.start_byte, "assign-meta"))
    elif not declare_only and t != "comment":
        w.visit(node)


def augmented_assignment(w: Walker, node: Node) -> None:
    left = node.child_by_field_id(F_LEFT)
    if left is not None:
        inner = left
        while inner.kind_id in _K_PAREN and inner.named_child_count == 1:
            inner = inner.named_child(0)  # type: ignore[assignment]
        if inner.kind_id in K_IDENTIFIER:
            ref(w, inner, READ | WRITE)
        elif inner.type == "meta_property":
            w.misplaced.append((inner.start_byte, "assign-meta"))
        else:
            w.visit(left)
    w.children_but(node, left)


def update(w: Walker, node: Node) -> None:
    arg = node.child_by_field_id(F_ARGUMENT)
    if arg is None:
        w.children(node)
        return
    inner = arg
    while inner.kind_id in _K_PAREN and inner.named_child_count == 1:
        inner = inner.named_child(0)  # type: ignore[assignment]
    if inner.kind_id in K_IDENTIFIER:
        ref(w, inner, READ | WRITE)
    elif inner.type == "meta_property":
        w.misplaced.append((inner.start_byte, "assign-meta"))
    else:
        w.visit(arg)


def unary(w: Walker, node: Node) -> None:
    op = node.child_by_field_id(F_OPERATOR)
    arg = node.child_by_field_id(F_ARGUMENT)
    if op is None or arg is None:
        w.children(node)
        return
    t = op.type
    inner = arg
    while inner.kind_id in _K_PAREN and inner.named_child_count == 1:
        inner = inner.named_child(0)  # type: ignore[assignment]
    if t == "delete" and inner.kind_id in K_IDENTIFIER:
        w.misplaced.append((arg.start_byte, "delete-identifier"))
    if t == "typeof" and inner.kind_id in K_IDENTIFIER:
        ref(w, inner, READ | TYPEOF)
    else:
        w.visit(arg)


def call(w: Walker, node: Node) -> None:
    fn = node.child_by_field_id(F_FUNCTION)
    if fn is None:
        w.children(node)
        return
    if fn.type == "import":
        args = node.child_by_field_id(F_ARGUMENTS)
        spec = None
        if args is not None:
            first = args.named_child(0) if args.named_child_count else None
            if first is not None and first.type == "string" and args.named_child_count <= 2:
                spec = string_value(w.src, first)
        w.dynamic_imports.append(DynamicImport(node.start_byte, node.end_byte, fn.end_byte, spec))
        if args is not None:
            w.children(args)
        return
    inner = fn
    while inner.kind_id in _K_PAREN and inner.named_child_count == 1:
        inner = inner.named_child(0)  # type: ignore[assignment]
    if inner.kind_id in K_IDENTIFIER and w.src[inner.start_byte:inner.end_byte] == b"await":
        identifier(w, inner)
    elif inner.kind_id in K_IDENTIFIER:
        ref(w, inner, READ | CALLEE)
        if w.src[inner.start_byte:inner.end_byte] == b"eval":
            w.uses_eval = True
    else:
        w.visit(fn)
    w.children_but(node, fn)


def meta_property(w: Walker, node: Node) -> None:
    first = node.child(0)
    if first is not None and first.type == "import":
        w.import_meta.append((node.start_byte, node.end_byte))
    elif w.this_ctx == THIS_MODULE:
        w.misplaced.append((node.children[-1].start_byte, "new.target"))  # Node blames `target`


def await_at(w: Walker, start: int) -> None:
    ctx = w.await_ctx
    if ctx == AWAIT_MODULE:
        if w.tla is None:
            w.tla = start
    elif ctx != AWAIT_ASYNC:
        w.misplaced.append((start, "await"))


def await_expression(w: Walker, node: Node) -> None:
    await_at(w, node.start_byte)
    w.children(node)


def super_(w: Walker, node: Node) -> None:
    if w.this_ctx != THIS_METHOD:
        w.misplaced.append((node.start_byte, "super"))

