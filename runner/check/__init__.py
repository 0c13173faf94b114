"""`modrun check`'s analysis: the findings of a module graph against a profile (see findings.py)."""

from .analyze import analyze
from .config import CheckConfig, load_check_config
from .findings import Finding, Location, Report

__all__ = ["CheckConfig", "Finding", "Location", "Report", "analyze", "load_check_config"]
