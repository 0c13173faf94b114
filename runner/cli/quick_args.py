"""A plain `modrun run` command line, parsed without argparse.

argparse, with the gettext and locale modules it loads, and the parser it builds cost a run about
4 ms, as much as a one-module import. Most command lines are plain: `run`, one ENTRY, and options
spelled out in full (`--name value` or `--name=value`, `--json` alone). Those are parsed here, from
the same table argparse is given (run.OPTIONS), into the values argparse would give. Anything else
(help, an abbreviated or unknown option, `--`, a value or ENTRY starting with "-", a missing or a
second ENTRY, a value argparse would refuse) answers None: argparse parses it, and says what is wrong.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def parse_run(argv: list[str]) -> SimpleNamespace | None:
    """The namespace argparse would answer for `argv`, where it is a plain `modrun run` command line."""
    if argv[:1] != ["run"]:
        return None
    from .run import OPTIONS

    values: dict[str, Any] = {"command": "run"}
    for name, spec in OPTIONS.items():
        default = spec.get("default", False if spec.get("action") == "store_true" else None)
        # argparse converts a default given as a string with the option's type
        values[name[2:]] = spec["type"](default) if isinstance(default, str) and "type" in spec else default
    entries = []
    tokens = iter(argv[1:])
    for token in tokens:
        if not token.startswith("-"):
            entries.append(token)
            continue
        name, given, value = token.partition("=")
        option = OPTIONS.get(name)
        if option is None:
            return None
        if option.get("action") == "store_true":
            if given:
                return None
            values[name[2:]] = True
            continue
        if not given:
            following = next(tokens, None)
            if following is None or following.startswith("-"):
                return None
            value = following
        try:
            converted = option["type"](value) if "type" in option else value
        except (TypeError, ValueError):
            return None
        if "choices" in option and converted not in option["choices"]:
            return None
        values[name[2:]] = converted
    if len(entries) != 1:
        return None
    values["entry"] = entries[0]
    return SimpleNamespace(**values)
