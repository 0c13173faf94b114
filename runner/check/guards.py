"""Feature tests in a module's syntax tree: which code runs only where a global exists
(`typeof process !== "undefined" && process.env`, `if (typeof Buffer === "function")`, a test kept
in a variable: `const hasStorage = typeof AsyncLocalStorage === "function"`), and which code a
CommonJS module never reaches (the browser arm of a UMD wrapper, after `typeof module !== "undefined"`)."""

from __future__ import annotations

from tree_sitter import Node

from .rules import COMMONJS_WRAPPER, GLOBAL_OBJECTS

_EXITS = frozenset(("return_statement", "throw_statement"))
_BOUNDARIES = frozenset(("expression_statement", "function_declaration", "function_expression", "arrow_function",
                         "statement_block", "program"))


def unary(node: Node) -> str | None:
    """The operator of a unary expression (None for any other node)."""
    operator = node.child(0) if node.type == "unary_expression" else None
    return operator.type if operator is not None else None


def is_test(node: Node) -> bool:
    """Is the value of `node` only tested (a condition, `!x`, `x === y`, the left of `&&` / `||`)?
    Reading an absent property of the global object gives undefined: testing it is a guard."""
    child = node
    parent = node.parent
    while parent is not None and (parent.type == "parenthesized_expression" or unary(parent) == "!"):
        child, parent = parent, parent.parent
    if parent is None:
        return False
    if parent.type == "ternary_expression" or parent.type == "if_statement":
        return child == parent.child_by_field_name("condition")
    if parent.type == "binary_expression":
        operator = parent.child_by_field_name("operator")
        op = operator.type if operator is not None else ""
        return op in ("===", "==", "!==", "!=") or (
            op in ("&&", "||", "??") and child == parent.child_by_field_name("left"))
    return False


class Guards:
    def __init__(self, root: Node, src: bytes) -> None:
        #: variables initialised with a feature test (`const isNode = typeof process === "object"`)
        self.tests: dict[bytes, Node] = {}
        at = src.find(b"typeof")
        while at >= 0:
            node = root.descendant_for_byte_range(at, at + 6)
            while node is not None and node.type not in _BOUNDARIES and node.type != "variable_declarator":
                node = node.parent
            if node is not None and node.type == "variable_declarator":
                name = node.child_by_field_name("name")
                value = node.child_by_field_name("value")
                if name is not None and name.type == "identifier" and value is not None and name.text:
                    self.tests[name.text] = value
            at = src.find(b"typeof", at + 6)

    def guarded(self, node: Node, name: str) -> bool:
        """Does `node` run only where NAME exists: the arm of an `if` or a ternary that a test of
        NAME selects, the right side of `&&` (`||` for a test of absence), or what follows
        `if (typeof NAME === "undefined") return`?"""
        return self._selected(node, name.rpartition(".")[2], True)

    def unreached_in_commonjs(self, node: Node) -> bool:
        """Is `node` in the arm a CommonJS module never takes: the one for where `module`,
        `exports` or `require` is absent (a UMD wrapper's browser global)?"""
        return any(self._selected(node, name, False) for name in COMMONJS_WRAPPER)

    def _selected(self, node: Node, name: str, present: bool) -> bool:
        """Is `node` in code that runs only where NAME is present (`present`) or absent?"""
        child = node
        parent = node.parent
        while parent is not None:
            kind = parent.type
            if kind in ("if_statement", "ternary_expression"):
                sense = self.sense(parent.child_by_field_name("condition"), name)
                arm = "consequence" if sense == present else "alternative"
                if sense is not None and child == parent.child_by_field_name(arm):
                    return True
            elif kind == "binary_expression" and child == parent.child_by_field_name("right"):
                operator = parent.child_by_field_name("operator")
                sense = self.sense(parent.child_by_field_name("left"), name)
                if operator is not None and sense is not None and operator.type == ("&&" if sense == present else "||"):
                    return True
            elif kind in ("statement_block", "program"):
                for sibling in parent.named_children:
                    if sibling == child:
                        break
                    if sibling.type == "if_statement" and _exits(sibling.child_by_field_name("consequence")) and \
                            self.sense(sibling.child_by_field_name("condition"), name) == (not present):
                        return True
            child = parent
            parent = parent.parent
        return False

    def sense(self, test: Node | None, name: str, depth: int = 0) -> bool | None:
        """True where `test` holds only if NAME exists (`typeof NAME !== "undefined"`, `typeof NAME
        === "function"`, `globalThis.NAME`), False where it holds only if NAME is absent, None if it
        does not ask (a conjunction or disjunction answers as its first part that asks)."""
        if test is None or depth > 8:
            return None
        kind = test.type
        if kind == "parenthesized_expression" and test.named_child_count == 1:
            return self.sense(test.named_child(0), name, depth + 1)
        if kind == "identifier":
            kept = self.tests.get(test.text or b"")
            return self.sense(kept, name, depth + 1) if kept is not None else None
        if kind == "unary_expression":
            if unary(test) == "!":
                inner = self.sense(test.child_by_field_name("argument"), name, depth + 1)
                return None if inner is None else not inner
            return None
        if kind == "member_expression":
            return True if _names(test, name) else None
        if kind != "binary_expression":
            return None
        operator = test.child_by_field_name("operator")
        left, right = test.child_by_field_name("left"), test.child_by_field_name("right")
        op = operator.type if operator is not None else ""
        if op in ("&&", "||"):
            first = self.sense(left, name, depth + 1)
            return first if first is not None else self.sense(right, name, depth + 1)
        if op not in ("===", "==", "!==", "!="):
            return None
        for probe, other in ((left, right), (right, left)):
            if probe is not None and other is not None and other.type == "string" and unary(probe) == "typeof":
                argument = probe.child_by_field_name("argument")
                if argument is not None and _names(argument, name):
                    absent = (other.text or b"")[1:-1] == b"undefined"
                    return absent != (op in ("===", "=="))
        return None


def _exits(node: Node | None) -> bool:
    if node is None:
        return False
    if node.type in _EXITS:
        return True
    return node.type == "statement_block" and any(c.type in _EXITS for c in node.named_children)


def _names(node: Node, name: str) -> bool:
    """Is `node` NAME itself or NAME read from the global object (`globalThis.NAME`, `self.NAME`)?"""
    if node.type == "identifier":
        return node.text == name.encode()
    if node.type == "member_expression":
        obj = node.child_by_field_name("object")
        prop = node.child_by_field_name("property")
        return obj is not None and (obj.text or b"").decode() in GLOBAL_OBJECTS and \
            prop is not None and prop.text == name.encode()
    return False
