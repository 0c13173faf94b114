"""Resolution of import and require specifiers to ids (absolute file paths, or `\\0` virtual ids).

- relative (`./a`, `../a`) against the importer's directory; root-relative (`/src/a.js`) against
  the root, then as an absolute path; `file://` URLs;
- `#name` through the `imports` of the importer's package (conditions and patterns);
- bare (`pkg`, `pkg/sub`, `@scope/pkg`): the package's own name from inside it (self-reference),
  else node_modules from the importer's directory upwards (nested, hoisted, scoped, and
  symlinked layouts such as pnpm's: ids are real paths, so a package has one identity). With
  `exports`, only what it exports, with the kind's conditions; without, the `browser` field
  (where the conditions include `browser`), `module` (for imports), then `main`;
- the `browser` field's object form maps files and packages inside a package (`false`: an empty
  module) where the conditions include `browser`;
- extensions and directory indexes are probed where bundlers probe: relative paths and packages
  without `exports`; never an `exports` or `imports` target;
- `alias` (from the config) replaces a specifier, or a prefix of it, before anything else;
- Node's built-in modules are refused (node_builtins.py).

`options["kind"]` says what asks: "import" (static or dynamic import) or "require" (a CommonJS
require, resolved with the require conditions). A failure raises LoadError naming the specifier,
the importer and what was tried.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import LoadError
from ..ids import file_of, split_query
from ..plugin import Plugin
from .fs_stamps import FileStamps, Stamp
from .node_builtins import builtin_error, builtin_name
from .package_exports import PackageError, exports_resolve, imports_resolve
from .packages import Package, PackageCache
from .real_paths import RealPaths
from .resolve_store import ResolveStore

EXTENSIONS = (".mjs", ".js", ".mts", ".ts", ".jsx", ".tsx", ".json", ".cjs", ".cts")
REQUIRE_EXTENSIONS = (".js", ".json", ".cjs", ".mjs", ".ts", ".cts", ".mts", ".tsx", ".jsx")
#: what a `browser` field's `false` resolves to: an empty CommonJS module (`{}` to require, and the
#: default export to import)
EMPTY_MODULE = "\0modrun:empty.cjs"


class ResolvePlugin(Plugin):
    name = "modrun:resolve"
    LOADS_ONLY_OWN_IDS = True  # EMPTY_MODULE (PluginContainer.files_load_as_read)

    def __init__(self, packages: PackageCache | None = None, real_paths: RealPaths | None = None,
                 stamps: FileStamps | None = None, store: ResolveStore | None = None) -> None:
        self.packages = packages or PackageCache()
        self.real_paths = real_paths or RealPaths()
        self.stamps = stamps or FileStamps()
        self.store = store  # answers of earlier processes, checked as these are (resolve_store.py)
        # A resolution depends on the importer only through its directory (relative paths, node_modules
        # upwards, the package scope): modules of one directory share their answers. Each is kept with
        # the stamps of what it read (fs_stamps.py) and used again while they hold, until forget(),
        # which the environment calls with its own remembered resolutions; failures are not kept.
        self._by_directory: dict[tuple[Any, str | None, str, str], tuple[str, tuple[tuple[str, Stamp], ...]]] = {}
        self._directory_of: dict[str | None, str | None] = {}  # importer -> its directory (None: the root)

    def resolve_id(self, source: str, importer: str | None, environment: Any,
                   options: dict[str, Any] | None = None) -> str | None:
        kind = (options or {}).get("kind", "import")
        key = self._key(source, importer, kind, environment)
        known = self._by_directory.get(key)
        if known is None and self.store is not None:
            known = self.store.get(key[1:])
            if known is not None and self.stamps.unchanged(known[1]):
                self._by_directory[key] = known
                self.store.hits += 1
                return known[0]
        elif known is not None and self.stamps.unchanged(known[1]):
            return known[0]
        began = time.time_ns()
        resolution = _Resolution(self.packages, self.real_paths, environment, importer, kind)
        id = resolution.specifier(source)
        if id is not None:
            entry = self._by_directory[key] = (id, self.stamps.taken(resolution.looked))
            if self.store is not None:
                self.store.put(key[1:], entry, began)
        return id

    def still(self, source: str, importer: str | None, kind: str, id: str, environment: Any) -> bool:
        """Does a remembered resolution still hold? One this resolver gave holds while the files it read
        are unchanged; another plugin's is kept as that plugin gave it."""
        known = self._by_directory.get(self._key(source, importer, kind, environment))
        return known is None or known[0] != id or self.stamps.unchanged(known[1])

    def read_for(self, source: str, importer: str | None, kind: str, id: str,
                 environment: Any) -> tuple[tuple[str, Stamp], ...]:
        """The stamps of what this resolver read to resolve `source` to `id` (none where another plugin
        gave that id)."""
        known = self._by_directory.get(self._key(source, importer, kind, environment))
        return known[1] if known is not None and known[0] == id else ()

    def forget(self) -> None:
        """Files appeared or went, or a package.json changed: resolve again."""
        self._by_directory.clear()
        if self.store is not None:
            self.store.forget()

    def directory_of(self, importer: str | None) -> str | None:
        """What of the importer an answer depends on: its directory (None: the root)."""
        try:
            return self._directory_of[importer]
        except KeyError:
            directory = self._directory_of[importer] = \
                os.path.dirname(file_of(importer)) if importer and os.path.isabs(importer) else None
            return directory

    def _key(self, source: str, importer: str | None, kind: str, environment: Any) -> tuple[Any, str | None, str, str]:
        return environment, self.directory_of(importer), source, kind

    def load(self, id: str, environment: Any) -> str | None:
        return "module.exports = {};\n" if id == EMPTY_MODULE else None


class _Resolution:
    """One resolution, remembering what it tried for the error message."""

    def __init__(self, packages: PackageCache, real_paths: RealPaths, environment: Any, importer: str | None,
                 kind: str) -> None:
        self.packages = packages
        self.real = real_paths.of
        self.real_file = real_paths.file  # the real path of a file there, or None (`_probe`'s paths are normal)
        self.environment = environment
        self.root = str(environment.root)
        self.importer = importer
        self.importer_file = file_of(importer) if importer and os.path.isabs(importer) else None
        self.base = os.path.dirname(self.importer_file) if self.importer_file else self.root
        self.require = kind == "require"
        self.conditions: list[str] = environment.require_conditions if self.require else environment.conditions
        self.browser = "browser" in self.conditions
        self.tried: list[str] = []
        # The directories whose entries, and the package.json files whose content, the answer depends on.
        self.looked: list[str] = []

    # ---- entry ----

    def specifier(self, source: str) -> str | None:
        if source.startswith("\0"):
            return source
        if source.startswith("/@id/"):
            return source[5:].replace("__x00__", "\0")
        aliased = self._alias(source)
        if aliased is not None:
            return aliased
        if source.startswith("file://"):
            return self._file(Path(unquote(urlparse(source).path)).as_posix(), source)
        path, query = split_query(source)
        if path.startswith(("./", "../")) or path in (".", ".."):
            return self._file(os.path.join(self.base, path), source, query)
        if path.startswith("/"):
            found = self._probe(os.path.join(self.root, path.lstrip("/")))
            if found is None and os.path.isabs(path) and not path.startswith(self.root + "/"):
                found = self._probe(path)
            if found is None:
                raise self._not_found(source, "module")
            return self._mapped_file(found) + query
        if path.startswith("#"):
            return self._imports(path) + query
        return self._bare(path) + query

    def _alias(self, source: str) -> str | None:
        """`alias` from the config: an exact key, or a key followed by `/…`; a built-in's key matches
        both its `name` and `node:name` forms. The replacement is resolved from the root: a path
        (`/polyfills/fs.js` or `./polyfills/fs.js`), or a package in node_modules."""
        aliases: dict[str, str] = self.environment.alias
        if not aliases:
            return None
        builtin = builtin_name(source)
        for key, target in aliases.items():
            if source == key or (builtin is not None and builtin_name(key) == builtin):
                replaced = target
            elif source.startswith(key + "/"):
                replaced = target + source[len(key):]
            else:
                continue
            path, query = split_query(replaced)
            if path.startswith(("/", "./", "../")):
                return self._file(os.path.join(self.root, path.lstrip("/") if path.startswith("/") else path),
                                  replaced, query)
            self.base = self.root
            return self._bare(path, builtins=False) + query
        return None

    # ---- files ----

    def _file(self, path: str, source: str, query: str = "") -> str:
        found = self._probe(path)
        if found is None:
            raise self._not_found(source, "module")
        return self._mapped_file(found) + query

    def _probe(self, path: str) -> str | None:
        """The file `path` names, trying extensions and then the directory (its package.json's
        entry, then an index file), as bundlers do."""
        text = os.path.normpath(path)
        self.looked.append(os.path.dirname(text))
        found = self.real_file(text)
        if found is not None:
            return found
        self.tried.append(text)
        for ext in REQUIRE_EXTENSIONS if self.require else EXTENSIONS:
            found = self.real_file(text + ext)
            if found is not None:
                return found
        if os.path.isdir(text):
            self.looked.append(text)
            package = self._read(text)
            if package is not None and not package.has("exports"):
                entry = self._legacy_entry(package)
                if entry is not None:
                    return entry
            for ext in REQUIRE_EXTENSIONS if self.require else EXTENSIONS:
                found = self.real_file(os.path.join(text, "index" + ext))
                if found is not None:
                    return found
            self.tried.append(os.path.join(text, "index"))
        return None

    def _mapped_file(self, file: str) -> str:
        """A file, or what its package's `browser` object maps it to."""
        if not self.browser:
            return file
        package = self._scope(file)
        if package is None or not isinstance(package.data.get("browser"), dict):
            return file
        relative = "./" + os.path.relpath(file, package.directory).replace(os.sep, "/")
        stem, _ = os.path.splitext(relative)
        mapping = package.data["browser"]
        for key in (relative, stem):
            if key in mapping:
                return self._browser_target(mapping[key], package, file)
        return file

    def _browser_target(self, target: Any, package: Package, original: str) -> str:
        if target is False:
            return EMPTY_MODULE
        if not isinstance(target, str):
            return original
        if target.startswith("."):
            found = self._probe(os.path.join(package.directory, target))
            if found is None:
                raise self._not_found(target, "module", f"the \"browser\" field of {package.path} maps to it")
            return found
        return self._bare(target, mapped=True)

    # ---- packages ----

    def _imports(self, specifier: str) -> str:
        scope = self._scope(self.importer_file or os.path.join(self.root, "package.json"))
        if scope is None:
            raise LoadError(f"Package import specifier '{specifier}' is used outside any package: no package.json "
                            f"above {self.importer or self.root}", code="ERR_PACKAGE_IMPORT_NOT_DEFINED",
                            importer=self.importer, id=specifier)
        try:
            target = imports_resolve(specifier, scope.directory, scope.data.get("imports"), self.conditions,
                                     scope.path, lambda bare: self._bare(bare, builtins=True))
        except PackageError as error:
            raise LoadError(self._with_importer(error.message), code=error.code, importer=self.importer,
                            id=specifier) from None
        return self._exported_file(target, specifier, scope, "imports")

    def _bare(self, specifier: str, *, builtins: bool = True, mapped: bool = False) -> str:
        if builtins and specifier.startswith("node:"):
            raise builtin_error(specifier, self.importer, self.environment.profile, self._verb)
        if self.browser and not mapped and self.importer_file:
            scope = self._scope(self.importer_file)
            browser = scope.data.get("browser") if scope is not None else None
            if isinstance(browser, dict) and specifier in browser and scope is not None:
                return self._browser_target(browser[specifier], scope, specifier)
        if specifier.startswith(("http://", "https://")):
            raise LoadError(f"Cannot load '{specifier}'" + self._from() + ": modules are not fetched over the "
                            "network (files, packages and data: URLs are imported); install the package with npm, or "
                            "load the URL with a plugin", code="ERR_UNSUPPORTED_ESM_URL_SCHEME", importer=self.importer,
                            id=specifier)
        name, subpath = _split_package(specifier)
        if name is None:
            raise LoadError(f"Invalid module specifier '{specifier}'" + self._from(),
                            code="ERR_INVALID_MODULE_SPECIFIER", importer=self.importer, id=specifier)
        own = self._self_reference(name, subpath, specifier)
        if own is not None:
            return own
        searched: list[str] = []
        directory = self.base
        while True:
            if os.path.basename(directory) != "node_modules":
                candidate = os.path.join(directory, "node_modules", name)
                searched.append(os.path.join(directory, "node_modules"))
                self.looked.append(os.path.dirname(candidate))
                if os.path.isdir(candidate):
                    return self._package(candidate, subpath, specifier)
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        if builtins and builtin_name(specifier) is not None:
            raise builtin_error(specifier, self.importer, self.environment.profile, self._verb)
        raise LoadError(
            f"Cannot find package '{name}'" + self._from() + "; looked for it in " + ", ".join(searched[:6]) +
            (f" and {len(searched) - 6} more folders above" if len(searched) > 6 else ""),
            code="ERR_MODULE_NOT_FOUND", importer=self.importer, id=specifier)

    def _self_reference(self, name: str, subpath: str, specifier: str) -> str | None:
        if self.importer_file is None:
            return None
        scope = self._scope(self.importer_file)
        if scope is None or scope.name != name or not scope.has("exports"):
            return None
        return self._exports(scope, subpath, specifier)

    def _package(self, directory: str, subpath: str, specifier: str) -> str:
        package = self._read(directory) or Package(directory, {})
        if package.has("exports"):
            return self._exports(package, subpath, specifier)
        if subpath == ".":
            entry = self._legacy_entry(package)
            if entry is None:
                raise self._not_found(specifier, "package",
                                      f"{package.path if os.path.isfile(package.path) else directory} names no entry "
                                      "file that exists")
            return self._mapped_file(entry)
        return self._file(os.path.join(directory, subpath), specifier)

    def _legacy_entry(self, package: Package) -> str | None:
        """A package's entry without `exports`: `browser` (a string, for browser conditions),
        `module` (for imports), `main`, then an index file."""
        fields = (["browser"] if self.browser else []) + ([] if self.require else ["module"]) + ["main"]
        for field in fields:
            value = package.data.get(field)
            if isinstance(value, str) and value:
                found = self._probe(os.path.join(package.directory, value))
                if found is not None:
                    return found
        self.looked.append(package.directory)
        for ext in REQUIRE_EXTENSIONS if self.require else EXTENSIONS:
            candidate = os.path.join(package.directory, "index" + ext)
            if os.path.isfile(candidate):
                return self.real(candidate)
        self.tried.append(os.path.join(package.directory, "index"))
        return None

    def _exports(self, package: Package, subpath: str, specifier: str) -> str:
        try:
            target = exports_resolve(package.directory, subpath, package.data["exports"], self.conditions,
                                     package.path)
        except PackageError as error:
            raise LoadError(self._with_importer(error.message), code=error.code, importer=self.importer,
                            id=specifier) from None
        return self._exported_file(target, specifier, package, "exports")

    def _exported_file(self, target: str, specifier: str, package: Package, field: str) -> str:
        if target == EMPTY_MODULE or target.startswith("\0") or not os.path.isabs(target):
            return target
        self.looked.append(os.path.dirname(target))
        if os.path.isdir(target):
            raise LoadError(f"Directory import '{target}' is not supported resolving '{specifier}'" + self._from() +
                            f" (the \"{field}\" of {package.path} maps it to a directory)",
                            code="ERR_UNSUPPORTED_DIR_IMPORT", importer=self.importer, id=specifier)
        if not os.path.isfile(target):
            raise LoadError(f"Cannot find module '{target}'" + self._from() + f": the \"{field}\" of {package.path} "
                            f"maps '{specifier}' to it, but there is no such file", code="ERR_MODULE_NOT_FOUND",
                            importer=self.importer, id=specifier)
        return self._mapped_file(self.real(target))

    def _read(self, directory: str) -> Package | None:
        self.looked.append(os.path.join(directory, "package.json"))
        return self.packages.read(directory, self.importer)

    def _scope(self, file: str) -> Package | None:
        """The package scope of `file`; the answer depends on its package.json, and on one appearing
        beside the file."""
        scope = self.packages.scope(file)
        self.looked.append(os.path.join(os.path.dirname(file), "package.json"))
        if scope is not None:
            self.looked.append(scope.path)
        return scope

    # ---- messages ----

    @property
    def _verb(self) -> str:
        return "required" if self.require else "imported"

    def _from(self) -> str:
        return f" {self._verb} from {self.importer}" if self.importer else ""

    def _with_importer(self, message: str) -> str:
        return message + self._from()

    def _not_found(self, source: str, kind: str, reason: str | None = None) -> LoadError:
        message = f"Cannot find {kind} '{source}'" + self._from()
        if reason:
            message += f": {reason}"
        elif self.tried:
            exts = REQUIRE_EXTENSIONS if self.require else EXTENSIONS
            message += f"; tried {self.tried[0]} (also with {', '.join(exts)}"
            message += ", and as a directory)" if any(t.endswith(os.sep + "index") for t in self.tried) else ")"
        return LoadError(message, code="ERR_MODULE_NOT_FOUND", importer=self.importer, id=source)


def _split_package(specifier: str) -> tuple[str | None, str]:
    """A bare specifier's package name and subpath ("." or "./x"); None for an invalid name."""
    parts = specifier.split("/")
    count = 2 if specifier.startswith("@") else 1
    if len(parts) < count or not all(parts[:count]):
        return None, "."
    name = "/".join(parts[:count])
    if name.startswith(".") or "\\" in name or "%" in name:
        return None, "."
    rest = parts[count:]
    return name, ("./" + "/".join(rest)) if rest else "."
