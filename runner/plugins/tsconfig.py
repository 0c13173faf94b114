"""tsconfig.json, read for the compiler options that change how TypeScript and JSX are lowered
(as Vite reads them for esbuild): `jsx`, `jsxFactory`, `jsxFragmentFactory`, `jsxImportSource`
and `verbatimModuleSyntax`. A file uses the nearest tsconfig.json from its directory up to the
root; `extends` (a path, a package's file, or a list of them) is followed, later ones winning.
tsconfig files are JSON with comments and trailing commas (read with `json5`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import LoadError

OPTIONS = ("jsx", "jsxFactory", "jsxFragmentFactory", "jsxImportSource", "verbatimModuleSyntax")


class TsconfigReader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._by_directory: dict[str, dict[str, Any]] = {}
        self._by_file: dict[Path, dict[str, Any]] = {}

    def options_for(self, file: str) -> dict[str, Any]:
        """The lowering options of the tsconfig.json that governs `file` ({} without one)."""
        directory = os.path.dirname(file)
        found = self._by_directory.get(directory)
        if found is None:
            path = Path(directory) / "tsconfig.json"
            if path.is_file():
                found = self._load(path, ())
            elif directory == str(self.root) or os.path.dirname(directory) == directory or \
                    not directory.startswith(str(self.root)):
                found = {}
            else:
                found = self.options_for(directory)
            self._by_directory[directory] = found
        return found

    def _load(self, path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
        known = self._by_file.get(path)
        if known is not None:
            return known
        if path in chain:
            raise LoadError(f"{path}: `extends` goes round in a circle ({' -> '.join(map(str, chain + (path,)))})",
                            code="ERR_TSCONFIG", id=str(path))
        # Imported here: its parser takes tens of ms to load, and most runs read no tsconfig.json.
        import json5

        try:
            data = json5.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise LoadError(f"cannot read {path}: {error}", code="ERR_TSCONFIG", id=str(path)) from None
        if not isinstance(data, dict):
            raise LoadError(f"{path} is not a JSON object", code="ERR_TSCONFIG", id=str(path))
        options: dict[str, Any] = {}
        extends = data.get("extends")
        for base in [extends] if isinstance(extends, str) else extends if isinstance(extends, list) else []:
            if isinstance(base, str):
                options.update(self._load(self._resolve_extends(base, path), chain + (path,)))
        compiler = data.get("compilerOptions")
        if isinstance(compiler, dict):
            options.update({k: v for k, v in compiler.items() if k in OPTIONS})
        self._by_file[path] = options
        return options

    def _resolve_extends(self, base: str, config: Path) -> Path:
        candidates: list[Path] = []
        if base.startswith((".", "/")):
            target = (config.parent / base).resolve()
            candidates = [target, target.with_name(target.name + ".json"), target / "tsconfig.json"]
        else:
            directory = config.parent
            while True:
                target = directory / "node_modules" / base
                candidates += [target, target.with_name(target.name + ".json"), target / "tsconfig.json"]
                if directory == directory.parent or directory == self.root.parent:
                    break
                directory = directory.parent
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise LoadError(f"{config}: cannot find the tsconfig it extends, {base!r}", code="ERR_TSCONFIG",
                        id=str(config))
