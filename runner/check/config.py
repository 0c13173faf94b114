"""`[tool.modrun.check]`: which findings a project allows, per package and per file, and severity overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CheckConfig:
    #: package name -> rule ids allowed in it ("*" allows every rule)
    allow_packages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: root-relative file glob -> rule ids allowed in matching files
    allow_files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: rule id -> severity ("error", "warning", "info", or "off")
    severity: dict[str, str] = field(default_factory=dict)
    #: report CommonJS modules (rule `commonjs-module`)
    commonjs: bool = False


def load_check_config(root: str | Path) -> CheckConfig:
    raise NotImplementedError
