"""The walk's sieve: what scope analysis can leave unwalked, decided from the source text alone.

Told which names matter (imports, all of whose references matter; exported locals, whose writes
only matter), the walk leaves out the statements, functions and classes whose text shows they
cannot hold anything it would record (see `Sieve.quiet`). ASCII sources only (elsewhere words
are not told apart reliably), and not when JSX could be present (see `maybe_jsx`).
"""

from __future__ import annotations

import re
from bisect import bisect_left

from tree_sitter import Node

from .entries import RESERVED_WORDS

# For `Sieve.quiet`, in ASCII source: words are runs of these bytes ...
_WORD_BYTES = bytes(i if chr(i).isascii() and (chr(i).isalnum() or chr(i) in "_$") else 32 for i in range(256))
# ... words always watched ...
ALWAYS_WATCHED = frozenset({b"arguments", b"await", b"eval", b"super", b"import", b"export", b"delete",
                            b"target"})
# ... and at the top level also those that can declare in the module scope or are misplaced there.
_TOP_LEVEL_WATCHED = frozenset({b"var", b"let", b"const", b"using", b"function", b"class", b"return"})
# What follows a name that is only read: member access, call, index, tagged template.
_READ_FOLLOWERS = frozenset(b".([`")
# Escapes and comment openers (HTML-like ones included).
_SPECIALS = (b"\\", b"//", b"/*", b"<!--", b"-->")


def marked(marks: list[int], start: int, end: int) -> bool:
    """Does a special (see `_SPECIALS`) start in or overlap [start, end)?"""
    i = bisect_left(marks, start - 3)
    return i < len(marks) and marks[i] < end


class Sieve:
    """The text tests of one walk. The walker extends it (rather than holding one) because the
    walk's hottest paths read `watched` and `kept`.

    Without `watched`, nothing is left out: every test answers "walk it".
    """

    def __init__(self, src: bytes, watched: frozenset[bytes] | None = None,
                 written: frozenset[bytes] = frozenset()) -> None:
        self.src = src
        # Words whose presence makes a subtree worth walking (None: walk everything) ...
        self.watched = watched
        self.watched_top: frozenset[bytes] = frozenset()
        # ... names for which only writes matter (see `quiet`) ...
        self.written = written
        # ... and the names of the references and declarations worth recording.
        self.kept: frozenset[bytes] = frozenset()
        self.words = b""  # the source with every byte but [A-Za-z0-9_$] blanked
        self.marks: list[int] = []  # offsets of backslashes and comment openers
        if watched is not None:
            self.watched_top = watched | _TOP_LEVEL_WATCHED
            self.kept = watched | written
            self.words = src.translate(_WORD_BYTES)
            marks = self.marks
            for special in _SPECIALS:
                at = src.find(special)
                while at >= 0:
                    marks.append(at)
                    at = src.find(special, at + 1)
            marks.sort()

    def quiet(self, node: Node, name: Node | None) -> bool:
        """Can the function or class `node` (its own name `name` aside) be left unwalked?

        Its scopes cannot affect anything outside it, so walking it only matters for what the
        walk records: references to the watched names and `arguments`, writes to the `written`
        names, the context-dependent syntax noted for the early errors (`await`, `super`,
        `new.target`, `import`, `export`, `delete`, `eval`; at the top level also `return` and
        declarations, see `Walker.statements`), comments, and escaped names. None of those can be
        there without a watched word, a written name that is not plainly read (see
        `quiet_range`), a backslash or a comment opener in the text. (JSX is ruled out for the
        whole module beforehand, see `maybe_jsx`.)
        """
        watched = self.watched
        if watched is None:
            return False
        marks = self.marks
        start = node.start_byte
        end = node.end_byte
        if marks and marked(marks, start, end):
            return False
        if name is None:
            return self.quiet_range(start, end, watched)
        if self.words[name.start_byte:name.end_byte] == b"await":
            return False
        return (self.quiet_range(start, name.start_byte, watched)
                and self.quiet_range(name.end_byte, end, watched))

    def quiet_range(self, start: int, end: int, watched: frozenset[bytes]) -> bool:
        """No watched word in [start, end), and the `written` names there only read: each
        followed in the range by `.`, `?.`, `(`, `[` or a template (member access, call, tag),
        which cannot be an assignment target, nor a declaration (but for `function name(`:
        not with the word `function` in the range), parameter or pattern element."""
        words = self.words[start:end].split()
        if not watched.isdisjoint(words):
            return False
        written = self.written
        if not written or written.isdisjoint(words):
            return True
        if b"function" in words:
            return False
        text = self.words
        src = self.src
        size = len(text)
        for word in written.intersection(words):
            at = text.find(word, start, end)
            while at >= 0:
                after = at + len(word)
                if (not at or text[at - 1] == 32) and (after == size or text[after] == 32):
                    follower = src[after:min(after + 32, end)].lstrip()[:2]
                    if not follower or (follower[0] not in _READ_FOLLOWERS and follower != b"?."):
                        return False
                at = text.find(word, after, end)
        return True


def maybe_jsx(src: bytes) -> bool:
    """Could a `<` of (ASCII) `src` start JSX? Not after a non-keyword word, `)` or `]` (an
    operand: the `<` is an operator), nor as part of `<<` or `<=`."""
    at = src.find(b"<")
    while at >= 0:
        if (at and src[at - 1] == 60) or src[at + 1:at + 2] in (b"<", b"="):  # "<<", "<="
            at = src.find(b"<", at + 1)
            continue
        before = src[max(0, at - 80):at].rstrip()
        at = src.find(b"<", at + 1)
        if not before:
            return True
        last = before[-1]
        if last == 41 or last == 93:  # ")" "]"
            continue
        word = _WORD_BEFORE.search(before)
        if word is None or word.group().decode() in RESERVED_WORDS or word.group() in _EXPRESSION_WORDS:
            return True
    return False


_WORD_BEFORE = re.compile(rb"[\w$]+$")
_EXPRESSION_WORDS = frozenset({b"of", b"async", b"get", b"set", b"as", b"from"})

