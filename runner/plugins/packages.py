"""package.json files as resolution reads them: found by directory, parsed once per version of
the file, and a broken one reported as Node reports it (ERR_INVALID_PACKAGE_CONFIG) with the
file and the parser's line and column."""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

from ..errors import LoadError
from ..file_identity import Stamp, stamp_of


class Package(NamedTuple):  # not a dataclass: every run that resolves makes this class, and a dataclass costs a compile
    """A package.json: its directory and its fields."""

    directory: str
    data: dict[str, Any]

    @property
    def path(self) -> str:
        return os.path.join(self.directory, "package.json")

    @property
    def name(self) -> str | None:
        name = self.data.get("name")
        return name if isinstance(name, str) else None

    @property
    def type(self) -> str:
        return "module" if self.data.get("type") == "module" else "commonjs"

    def has(self, field: str) -> bool:
        """Is the field present and not null (Node treats `"exports": null` as absent)."""
        return self.data.get(field) is not None


class PackageCache:
    """package.json files by directory, re-read only when the file changes (a stat per `read`).

    `scope` answers from a memo per directory, which takes no stat: every module of a directory (and of
    the directories below it) shares one walk. The memo is kept until `forget_scopes()`: the environment
    forgets it when files appear or go and when a package.json changes (the watcher's events), and, on a
    server that does not watch, at the start of each import (Environment.begin_import)."""

    def __init__(self) -> None:
        self._by_directory: dict[str, tuple[Stamp, Package | None]] = {}
        self._scopes: dict[str, Package | None] = {}

    def read(self, directory: str, importer: str | None = None) -> Package | None:
        """The package.json in `directory`, or None when there is none; a broken one raises."""
        path = os.path.join(directory, "package.json")
        stamp = stamp_of(path)  # with the change time: an edit that puts the modification time back is seen
        known = self._by_directory.get(directory)
        if known is not None and known[0] == stamp:
            return known[1]
        package = None if stamp is None else _parse(directory, path, importer)
        self._by_directory[directory] = (stamp, package)
        return package

    def scope(self, file: str) -> Package | None:
        """Node's LOOKUP_PACKAGE_SCOPE: the nearest package.json above `file`, stopping at a
        node_modules folder (a file directly in node_modules belongs to no package)."""
        directory = os.path.dirname(file)
        walked: list[str] = []
        found: Package | None = None
        while True:
            if directory in self._scopes:
                found = self._scopes[directory]
                break
            walked.append(directory)
            if os.path.basename(directory) == "node_modules":
                break
            found = self.read(directory, file)
            if found is not None:
                break
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        for each in walked:
            self._scopes[each] = found
        return found

    def forget_scopes(self) -> None:
        """package.json files may have appeared, gone or changed: the next `scope` walks again."""
        self._scopes.clear()


def _parse(directory: str, path: str, importer: str | None) -> Package:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise invalid_config(path, f"cannot read it: {error}", importer) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise invalid_config(path, f"{error.msg} at line {error.lineno}, column {error.colno}", importer) from None
    if not isinstance(data, dict):
        raise invalid_config(path, f"expected an object, found {type(data).__name__}", importer)
    return Package(directory, data)


def invalid_config(path: str, reason: str, importer: str | None) -> LoadError:
    where = f" while importing from {importer}" if importer else ""
    return LoadError(f"Invalid package config {path}: {reason}{where}", code="ERR_INVALID_PACKAGE_CONFIG",
                     importer=importer, id=path)
