"""Server and environment configuration, validated up front: a bad value is a UsageError that
says which key and what was expected, never a failure deep inside a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError, config_mapping
from .limits import Limits

PROFILES = ("bare",)  # `edge` arrives with the edge profile's Web APIs
MODES = ("production", "development")


@dataclass(frozen=True)
class EnvironmentConfig:
    evaluator: str = "inprocess"
    profile: str = "bare"
    limits: Limits = field(default_factory=Limits)
    conditions: tuple[str, ...] = ()
    plugins: tuple[Any, ...] = ()

    @classmethod
    def from_config(cls, name: str, value: EnvironmentConfig | dict[str, Any] | None) -> EnvironmentConfig:
        if value is None:
            return cls()
        if isinstance(value, EnvironmentConfig):
            return value
        value = config_mapping(value, {"evaluator", "profile", "limits", "conditions", "plugins"},
                               f"environment {name!r}")
        profile = value.get("profile", "bare")
        if profile not in PROFILES:
            hint = " (the edge profile is not available yet)" if profile == "edge" else ""
            raise UsageError(f"environment {name!r}: unknown profile {profile!r}{hint}; "
                             f"available: {', '.join(PROFILES)}")
        evaluator = value.get("evaluator", "inprocess")
        if not isinstance(evaluator, str):
            raise UsageError(f"environment {name!r}: evaluator must be a name")
        conditions = value.get("conditions", ())
        if isinstance(conditions, str) or not all(isinstance(c, str) for c in conditions):
            raise UsageError(f"environment {name!r}: conditions must be a list of strings")
        return cls(evaluator=evaluator, profile=profile, limits=Limits.from_config(value.get("limits")),
                   conditions=tuple(conditions), plugins=tuple(value.get("plugins", ())))


def resolve_conditions(config: EnvironmentConfig, mode: str) -> list[str]:
    """Conditions for package.json `exports`: the profile's, the mode, and the environment's own.
    Never `node`: a sandboxed runtime is not Node."""
    base = ["import", "module", "default", mode]
    return base + [c for c in config.conditions if c not in base and c != "node"]
