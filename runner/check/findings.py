"""What `modrun check` reports: findings (a rule broken at a place, reached through an import chain)
and the report of one check; the interface between the analysis and the command that renders it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class Location:
    #: root-relative posix path, or the package path inside node_modules
    file: str
    #: 1-based
    line: int
    #: 1-based, in characters
    column: int
    #: a code frame (runner/code_frame.py) around the position
    frame: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "frame": self.frame}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    location: Location | None
    #: the import chain from ENTRY (first) to the module holding the finding (last), root-relative ids
    chain: tuple[str, ...]
    #: the npm package the module belongs to; None for the project's own files
    package: str | None
    source: Literal["static", "run"] = "static"

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "message": self.message,
                "location": self.location.to_json() if self.location is not None else None,
                "chain": list(self.chain), "package": self.package, "source": self.source}


@dataclass
class Report:
    entry: str
    profile: str
    findings: list[Finding]
    #: modules walked
    modules: int
    #: findings that config allowed (not in `findings`)
    allowed: int
    duration_ms: float

    @property
    def compatible(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            counts[f.severity] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        summary: dict[str, Any] = {**self.counts(), "modules": self.modules, "allowed": self.allowed,
                                   "compatible": self.compatible, "duration_ms": round(self.duration_ms, 3)}
        return {"entry": self.entry, "profile": self.profile,
                "findings": [f.to_json() for f in self.findings], "summary": summary}
