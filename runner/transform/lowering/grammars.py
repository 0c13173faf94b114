"""The grammars of the source languages that are lowered to JavaScript, chosen by file extension
(tree-sitter-typescript's two dialects, and tree-sitter-javascript's JSX), and a parser per
grammar and thread (a Parser is not thread-safe)."""

from __future__ import annotations

import functools
import threading

from tree_sitter import Language, Parser, Query, Tree

from ..parser import JAVASCRIPT

_local = threading.local()


@functools.cache
def language(dialect: str) -> Language:
    """"typescript", "tsx" or "jsx" (JavaScript with JSX)."""
    if dialect == "jsx":
        return JAVASCRIPT
    import tree_sitter_typescript

    raw = tree_sitter_typescript.language_tsx() if dialect == "tsx" else tree_sitter_typescript.language_typescript()
    return Language(raw)


@functools.cache
def query(dialect: str, source: str) -> Query:
    return Query(language(dialect), source)


def dialect_of(path: str) -> str | None:
    """The dialect a file is written in, by its extension; None for plain JavaScript."""
    for ext, dialect in ((".tsx", "tsx"), (".jsx", "jsx"), (".ts", "typescript"), (".mts", "typescript"),
                         (".cts", "typescript")):
        if path.endswith(ext):
            return dialect
    return None


def parse(source: bytes, dialect: str) -> Tree:
    parsers: dict[str, Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(dialect)
    if parser is None:
        parser = parsers[dialect] = Parser(language(dialect))
    return parser.parse(source)
