"""`[tool.modrun.check]`: which findings a project allows, per package and per file, severity
overrides, and the CommonJS switch. Read from the root's pyproject.toml, else from its
modrun.check.json (the same keys, for projects without a pyproject.toml):

    [tool.modrun.check]
    commonjs = true                                   # report CommonJS modules (rule commonjs-module)
    severity = { "dynamic-require" = "error", "eval" = "off" }
    [tool.modrun.check.allow]                         # package -> rules ("*": every rule)
    "some-pkg" = ["node-global", "guarded-node-global"]
    [tool.modrun.check.allow-files]                   # root-relative glob (`*` crosses `/`) -> rules
    "src/legacy/*.js" = ["eval"]
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .findings import SEVERITIES, Finding
from .rules import RULES

_KEYS = frozenset(("allow", "allow-files", "severity", "commonjs"))


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

    def enabled(self, rule: str) -> bool:
        if self.severity.get(rule) == "off":
            return False
        return self.commonjs or not RULES[rule].optional

    def allows(self, finding: Finding) -> bool:
        if finding.package is not None and _names(self.allow_packages.get(finding.package, ()), finding.rule):
            return True
        file = finding.location.file if finding.location is not None else finding.chain[-1] if finding.chain else ""
        return any(_names(rules, finding.rule) and fnmatchcase(file, glob) for glob, rules in self.allow_files.items())


def _names(rules: tuple[str, ...], rule: str) -> bool:
    return rule in rules or "*" in rules


def load_check_config(root: str | Path) -> CheckConfig:
    """The check config of the project at `root` (defaults where it has none); a malformed one is a
    UsageError that names the file and the key."""
    root = Path(root)
    pyproject = root / "pyproject.toml"
    table: Any = None
    where = ""
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise UsageError(f"{pyproject}: {error}") from None
        table = data.get("tool", {}).get("modrun", {}).get("check")
        where = f"{pyproject} [tool.modrun.check]"
    if table is None and (root / "modrun.check.json").is_file():
        path = root / "modrun.check.json"
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise UsageError(f"{path}: {error}") from None
        where = str(path)
    if table is None:
        return CheckConfig()
    return _parse(table, where)


def _parse(table: Any, where: str) -> CheckConfig:
    if not isinstance(table, dict):
        raise UsageError(f"{where}: expected a table of {', '.join(sorted(_KEYS))}")
    unknown = set(table) - _KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_KEYS))}")
    commonjs = table.get("commonjs", False)
    if not isinstance(commonjs, bool):
        raise UsageError(f"{where}: commonjs must be true or false")
    severity = _mapping(table.get("severity", {}), where, "severity")
    for rule, value in severity.items():
        _rule(rule, where, "severity")
        if value not in (*SEVERITIES, "off"):
            raise UsageError(f"{where}: severity of {rule!r} must be one of "
                             f"{', '.join(SEVERITIES)}, off; got {value!r}")
    return CheckConfig(allow_packages=_allow(table.get("allow", {}), where, "allow"),
                       allow_files=_allow(table.get("allow-files", {}), where, "allow-files"),
                       severity=severity, commonjs=commonjs)


def _mapping(value: Any, where: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: {key} must be a table")
    return value


def _allow(value: Any, where: str, key: str) -> dict[str, tuple[str, ...]]:
    allowed: dict[str, tuple[str, ...]] = {}
    for name, rules in _mapping(value, where, key).items():
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise UsageError(f"{where}: {key}.{name} must be a list of rule ids")
        for rule in rules:
            if rule != "*":
                _rule(rule, where, f"{key}.{name}")
        allowed[name] = tuple(rules)
    return allowed


def _rule(rule: str, where: str, key: str) -> None:
    if rule not in RULES:
        raise UsageError(f"{where}: {key}: unknown rule {rule!r}; rules: {', '.join(RULES)}")
