"""Module ids: an absolute path, maybe with a query (`/a.js?v=2` is a module of its own, read
from /a.js), or a virtual id starting with `\\0`."""

from __future__ import annotations


def file_of(id: str) -> str:
    """The file behind an id: the id without its query."""
    return id.partition("?")[0]


def split_query(specifier: str) -> tuple[str, str]:
    path, sep, query = specifier.partition("?")
    return path, sep + query


def shown(id: str) -> str:
    """How a module is named where people read it (error places, its source map's source): its id, a virtual
    one without the `\\0` that marks it, which a terminal prints as nothing."""
    return id[1:] if id.startswith("\0") else id
