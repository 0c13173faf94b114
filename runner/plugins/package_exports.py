"""package.json `exports` and `imports`, as Node's resolution algorithm defines them
(PACKAGE_EXPORTS_RESOLVE, PACKAGE_IMPORTS_RESOLVE, PACKAGE_TARGET_RESOLVE): condition objects in
their own order, subpath patterns with `*` ranked by PATTERN_KEY_COMPARE, `null` targets that
exclude a subpath, arrays of fallbacks, and the sugar forms of `exports` (a string, an array, or
a condition object standing for ".").

A target that matches nothing is Node's `undefined` (NO_MATCH: keep looking); a `null` target is
Node's `null` (None: the subpath is excluded). Failures raise PackageError with Node's code.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

NO_MATCH: Any = object()
BareResolver = Callable[[str], str]


@functools.cache
def _bad_segment() -> re.Pattern[str]:
    """Compiled when a package's exports are first matched, not by every process that imports this."""
    return re.compile(r"(^|[\\/])(\.\.?|node_modules|%2e%2e?|%2e\.|\.%2e|node%5fmodules)?([\\/]|$)", re.I)


class PackageError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _has_dot_keys(exports: dict[str, Any], package_json: str) -> bool:
    dotted = [key.startswith(".") for key in exports]
    if dotted and any(dotted) and not all(dotted):
        raise PackageError("ERR_INVALID_PACKAGE_CONFIG",
                           f"Invalid package config {package_json}: \"exports\" cannot contain some keys starting "
                           "with '.' and some not; the keys of an \"exports\" object are either all subpaths or all "
                           "conditions")
    return bool(dotted) and dotted[0]


def exports_resolve(directory: str, subpath: str, exports: Any, conditions: Sequence[str],
                    package_json: str) -> str:
    """The file `exports` maps `subpath` ("." or "./x") to; PackageError when it maps none."""
    resolved: Any = NO_MATCH
    dot_keys = isinstance(exports, dict) and _has_dot_keys(exports, package_json)
    if subpath == ".":
        main = exports.get(".", NO_MATCH) if dot_keys else exports
        if main is not NO_MATCH:
            resolved = _target(directory, main, None, False, conditions, package_json, None)
    elif dot_keys:
        resolved = _match(subpath, exports, directory, False, conditions, package_json, None)
    if resolved is NO_MATCH or resolved is None:
        raise PackageError("ERR_PACKAGE_PATH_NOT_EXPORTED", _not_exported(subpath, package_json, conditions))
    return str(resolved)


def imports_resolve(specifier: str, directory: str, imports: Any, conditions: Sequence[str], package_json: str,
                    bare: BareResolver) -> str:
    """The file (or, through `bare`, the package) a `#name` specifier is mapped to."""
    if specifier == "#" or specifier.startswith("#/"):
        raise PackageError("ERR_INVALID_MODULE_SPECIFIER",
                           f"Invalid module specifier '{specifier}': '#' must be followed by a name")
    resolved: Any = NO_MATCH
    if isinstance(imports, dict):
        resolved = _match(specifier, imports, directory, True, conditions, package_json, bare)
    if resolved is NO_MATCH or resolved is None:
        raise PackageError("ERR_PACKAGE_IMPORT_NOT_DEFINED",
                           f"Package import specifier '{specifier}' is not defined in {package_json} "
                           f"(conditions: {', '.join(conditions)})")
    return str(resolved)


def _not_exported(subpath: str, package_json: str, conditions: Sequence[str]) -> str:
    if subpath == ".":
        return (f"No \"exports\" main defined in {package_json} for the conditions "
                f"{', '.join(conditions)}")
    return (f"Package subpath '{subpath}' is not defined by \"exports\" in {package_json} "
            f"(conditions: {', '.join(conditions)})")


def _pattern_key_compare(a: str, b: str) -> int:
    """Node's PATTERN_KEY_COMPARE: the longer prefix before `*` first, then the longer key."""
    base_a, base_b = a.find("*") + 1, b.find("*") + 1
    if base_a != base_b:
        return -1 if base_a > base_b else 1
    if "*" not in a:
        return 1
    if "*" not in b:
        return -1
    if len(a) != len(b):
        return -1 if len(a) > len(b) else 1
    return 0


def _match(key: str, mapping: dict[str, Any], directory: str, is_imports: bool, conditions: Sequence[str],
           package_json: str, bare: BareResolver | None) -> Any:
    """PACKAGE_IMPORTS_EXPORTS_RESOLVE."""
    if key in mapping and "*" not in key:
        return _target(directory, mapping[key], None, is_imports, conditions, package_json, bare)
    patterns = sorted((k for k in mapping if k.count("*") == 1), key=functools.cmp_to_key(_pattern_key_compare))
    for pattern in patterns:
        base, _, trailer = pattern.partition("*")
        if key.startswith(base) and key != base and (
                not trailer or (key.endswith(trailer) and len(key) >= len(pattern))):
            match = key[len(base): len(key) - len(trailer)]
            return _target(directory, mapping[pattern], match, is_imports, conditions, package_json, bare)
    return None


def _target(directory: str, target: Any, match: str | None, is_imports: bool, conditions: Sequence[str],
            package_json: str, bare: BareResolver | None) -> Any:
    """PACKAGE_TARGET_RESOLVE: a path, None (excluded) or NO_MATCH (no condition applied)."""
    if isinstance(target, str):
        if not target.startswith("./"):
            if not is_imports or target.startswith(("../", "/")) or re.match(r"^[a-zA-Z][a-zA-Z\d+.-]*:", target):
                raise _invalid_target(target, package_json, match)
            assert bare is not None
            return bare(target.replace("*", match) if match is not None else target)
        if _bad_segment().search(target[2:]) and not target[2:] == "":
            raise _invalid_target(target, package_json, match)
        if match is not None and _bad_segment().search(match) and match != "":
            raise PackageError("ERR_INVALID_MODULE_SPECIFIER",
                               f"Invalid module specifier: the pattern match '{match}' for target '{target}' in "
                               f"{package_json} contains '.', '..' or 'node_modules' segments")
        resolved = target.replace("*", match) if match is not None else target
        return os.path.normpath(os.path.join(directory, resolved))
    if isinstance(target, list):
        if not target:
            return None
        last_error: PackageError | None = None
        result: Any = NO_MATCH
        for item in target:
            try:
                result = _target(directory, item, match, is_imports, conditions, package_json, bare)
            except PackageError as error:
                if error.code != "ERR_INVALID_PACKAGE_TARGET":
                    raise
                last_error = error
                continue
            if result is NO_MATCH:
                continue
            return result
        if last_error is not None and result is NO_MATCH:
            raise last_error
        return result
    if isinstance(target, dict):
        for key, value in target.items():
            if key.isdigit():
                raise PackageError("ERR_INVALID_PACKAGE_CONFIG",
                                   f"Invalid package config {package_json}: \"exports\" cannot contain numeric "
                                   "property keys")
            if key == "default" or key in conditions:
                result = _target(directory, value, match, is_imports, conditions, package_json, bare)
                if result is NO_MATCH:
                    continue
                return result
        return NO_MATCH
    if target is None:
        return None
    raise _invalid_target(repr(target), package_json, match)


def _invalid_target(target: str, package_json: str, match: str | None) -> PackageError:
    return PackageError("ERR_INVALID_PACKAGE_TARGET",
                        f"Invalid \"exports\" or \"imports\" target '{target}' in {package_json}: targets must be "
                        "relative paths starting with './' inside the package (an \"imports\" target may also "
                        "name a package)")
