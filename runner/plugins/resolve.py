"""Resolution of import specifiers to ids (absolute file paths, or `\\0` virtual ids).

- relative (`./a`, `../a`) against the importer's directory;
- root-relative (`/src/a.js`) against the root, then as an absolute path;
- `file://` URLs;
- bare (`pkg`, `pkg/sub`, `@scope/pkg`) through node_modules, from the importer's directory up
  to the root, honouring package.json `exports` with the environment's conditions, then
  `module`, then `main`;
- with extension and index probing where the file is not named exactly.
Node's built-in modules are refused with a message that says so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import LoadError
from ..ids import file_of, split_query
from ..plugin import Plugin

EXTENSIONS = (".mjs", ".js", ".mts", ".ts", ".jsx", ".tsx", ".json")
NODE_BUILTINS = frozenset(
    "assert async_hooks buffer child_process cluster console constants crypto dgram diagnostics_channel dns "
    "domain events fs http http2 https inspector module net os path perf_hooks process punycode querystring "
    "readline repl stream string_decoder sys timers tls trace_events tty url util v8 vm wasi worker_threads "
    "zlib test sqlite".split())


def is_node_builtin(source: str) -> bool:
    if source.startswith("node:"):
        return True
    return source.split("/", 1)[0] in NODE_BUILTINS


def probe(path: Path | str) -> Path | None:
    """The file `path` names, trying extensions and directory indexes as Vite does."""
    text = os.path.normpath(path)
    if os.path.isfile(text):  # the usual case, checked without building Path objects
        return Path(text)
    path = Path(text)
    for ext in EXTENSIONS:
        candidate = path.with_name(path.name + ext)
        if candidate.is_file():
            return candidate
    if path.is_dir():
        package = _read_package(path)
        if package:
            entry = package_entry(path, package, ())
            if entry:
                return entry
        for ext in EXTENSIONS:
            candidate = path / f"index{ext}"
            if candidate.is_file():
                return candidate
    return None


def _read_package(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / "package.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _match_conditions(target: Any, conditions: tuple[str, ...]) -> str | None:
    """Node's PACKAGE_TARGET_RESOLVE for strings, condition objects and fallback arrays."""
    if isinstance(target, str):
        return target
    if isinstance(target, list):
        for item in target:
            found = _match_conditions(item, conditions)
            if found is not None:
                return found
        return None
    if isinstance(target, dict):
        for key, value in target.items():
            if key == "default" or key in conditions:
                found = _match_conditions(value, conditions)
                if found is not None:
                    return found
    return None


def exports_target(exports: Any, subpath: str, conditions: tuple[str, ...]) -> str | None:
    """The file a package's `exports` maps `subpath` ("." or "./x") to, or None."""
    if isinstance(exports, str | list) or (
            isinstance(exports, dict) and exports and not any(k.startswith(".") for k in exports)):
        return _match_conditions(exports, conditions) if subpath == "." else None
    if not isinstance(exports, dict):
        return None
    if subpath in exports and "*" not in subpath:
        return _match_conditions(exports[subpath], conditions)
    best: tuple[str, str] | None = None
    for key in exports:
        if "*" not in key:
            continue
        prefix, _, suffix = key.partition("*")
        if subpath.startswith(prefix) and subpath.endswith(suffix) and len(subpath) >= len(prefix) + len(suffix):
            if best is None or len(prefix) > len(best[0].partition("*")[0]):
                best = (key, subpath[len(prefix): len(subpath) - len(suffix)])
    if best is None:
        return None
    target = _match_conditions(exports[best[0]], conditions)
    return target.replace("*", best[1]) if target is not None else None


def package_entry(directory: Path, package: dict[str, Any], conditions: tuple[str, ...],
                  subpath: str = ".") -> Path | None:
    if "exports" in package:
        target = exports_target(package["exports"], subpath, conditions)
        if target is None:
            return None
        candidate = (directory / target).resolve()
        return candidate if candidate.is_file() else None
    if subpath != ".":
        return probe(directory / subpath)
    for field in ("module", "main"):
        value = package.get(field)
        if isinstance(value, str):
            found = probe(directory / value)
            if found:
                return found
    return probe(directory / "index")


class ResolvePlugin(Plugin):
    name = "modrun:resolve"

    def resolve_id(self, source: str, importer: str | None, environment: Any) -> str | None:
        root: Path = environment.root
        if source.startswith("\0"):
            return source
        if source.startswith("/@id/"):
            return source[5:].replace("__x00__", "\0")
        if source.startswith("file://"):
            found = probe(Path(unquote(urlparse(source).path)))
            return str(found) if found else None
        base = os.path.dirname(file_of(importer)) if importer and os.path.isabs(importer) else str(root)
        path, query = split_query(source)
        if path.startswith(("./", "../")) or path in (".", ".."):
            found = probe(os.path.join(base, path))
            return str(found) + query if found else None
        if path.startswith("/"):
            found = probe(os.path.join(root, path.lstrip("/")))
            if found is None and Path(path).is_absolute():
                found = probe(Path(path))
            return str(found) + query if found else None
        if is_node_builtin(source):
            raise LoadError(
                f"'{source}' is a Node.js built-in module, which the {environment.profile} profile does not "
                "provide: use Web APIs instead" + (f" (imported from {importer})" if importer else ""),
                code="ERR_NODE_BUILTIN", importer=importer, id=source)
        return self._resolve_bare(source, Path(base), root, tuple(environment.conditions))

    def _resolve_bare(self, source: str, base: Path, root: Path, conditions: tuple[str, ...]) -> str | None:
        parts = source.split("/")
        name_parts = 2 if source.startswith("@") else 1
        name = "/".join(parts[:name_parts])
        subpath = "./" + "/".join(parts[name_parts:]) if len(parts) > name_parts else "."
        directory = base
        while True:
            package_dir = directory / "node_modules" / name
            if package_dir.is_dir():
                package = _read_package(package_dir) or {}
                found = package_entry(package_dir, package, conditions, subpath)
                return str(found) if found else None
            if directory == root or directory.parent == directory or root not in directory.parents:
                return None
            directory = directory.parent
