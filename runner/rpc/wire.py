"""JSON between host and runtime. JavaScript strings may hold lone surrogates (half of an emoji
cut by `slice`), which JSON escapes allow but orjson refuses: those rare texts go through the
standard library instead of failing."""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as error:
        if "surrogates" not in str(error):
            raise
        return json.dumps(value, separators=(",", ":"))  # escapes the lone surrogates


def dumps_bytes(value: Any) -> bytes:
    """`dumps` as UTF-8 bytes, for channels that carry bytes."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as error:
        if "surrogates" not in str(error):
            raise
        return json.dumps(value, separators=(",", ":")).encode()


def strict_loads(text: str) -> Any:
    """orjson's answer or its error (orjson.JSONDecodeError, a ValueError), for JSON a user wrote."""
    return orjson.loads(text)
