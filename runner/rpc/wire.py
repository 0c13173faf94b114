"""JSON as modrun writes and reads it: between host and runtime, and in its caches.

orjson does the work, with two exceptions. JavaScript strings may hold lone surrogates (half of an
emoji cut by `slice`), which JSON escapes allow but orjson refuses: those rare texts go through the
standard library instead of failing. And orjson's import costs about 4 ms (it loads dataclasses,
uuid, platform and datetime), more than all the JSON of a small run: until something needs orjson,
small texts and small plain values go through the standard library, which gives for them exactly
what orjson gives (what it would not, an integer beyond 64 bits or a float written with an exponent,
is handed to orjson). Once orjson is loaded, it does all of it.
"""

from __future__ import annotations

import json
import sys
from types import ModuleType
from typing import Any

#: texts (characters or bytes) and values (characters of their strings, about) below this size go
#: through the standard library while orjson is not loaded
SMALL = 64 * 1024
_NODES = 4096  # and values of fewer items


class _Differs(Exception):
    """The standard library would read this text otherwise than orjson."""


def _orjson() -> ModuleType:
    import orjson

    return orjson


def _int(text: str) -> int:
    value = int(text)
    if not -(1 << 63) <= value < 1 << 64:
        raise _Differs  # orjson reads it as a float
    return value


def _refused(text: str) -> Any:
    raise _Differs  # NaN, Infinity, a number beyond a double's range: orjson refuses them


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Differs
    return value


def loads(text: str | bytes) -> Any:
    """orjson's answer, else (lone surrogates, NaN…) the standard library's."""
    if len(text) < SMALL and "orjson" not in sys.modules:
        try:
            return json.loads(text, parse_int=_int)
        except _Differs:
            pass
    orjson = _orjson()
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def strict_loads(text: str) -> Any:
    """orjson's answer or its error (orjson.JSONDecodeError, a ValueError), for JSON a user wrote."""
    if len(text) < SMALL and "orjson" not in sys.modules and "\\u" not in text:  # no escaped surrogates
        try:
            return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_refused)
        except (_Differs, ValueError, RecursionError):
            pass  # orjson answers, or says why not
    return _orjson().loads(text)


def _small_plain(value: Any) -> bool:
    """Is `value` small and made only of what the standard library writes as orjson does: dicts with
    string keys, lists, tuples, strings, integers within 64 bits, floats without an exponent,
    booleans and None?"""
    budget = [_NODES, SMALL]
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        budget[0] -= 1
        if budget[0] < 0 or depth > 100:
            return False
        kind = type(item)
        if kind is str:
            budget[1] -= len(item)
            if budget[1] < 0:
                return False
        elif kind is int:
            if not -(1 << 63) <= item < 1 << 64:
                return False
        elif kind is float:
            written = float.__repr__(item)  # json's text of it; orjson's too, but for exponents, inf and nan
            if "e" in written or "n" in written:
                return False
        elif kind is dict:
            for key, member in item.items():
                if type(key) is not str:
                    return False
                budget[1] -= len(key)
                stack.append((member, depth + 1))
        elif kind is list or kind is tuple:
            stack.extend((member, depth + 1) for member in item)
        elif kind is not bool and item is not None:
            return False
    return budget[1] >= 0


def _plain_text(value: Any) -> str | None:
    """`value` as orjson writes it, by the standard library, where that is cheaper and the same."""
    if "orjson" in sys.modules or not _small_plain(value):
        return None
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode()
    except UnicodeEncodeError:  # lone surrogates: escaped, as below
        return json.dumps(value, separators=(",", ":"))
    return text


def dumps(value: Any) -> str:
    text = _plain_text(value)
    if text is not None:
        return text
    orjson = _orjson()
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as error:
        if "surrogates" not in str(error):
            raise
        return json.dumps(value, separators=(",", ":"))  # escapes the lone surrogates


def dumps_bytes(value: Any) -> bytes:
    """`dumps` as UTF-8 bytes, for channels that carry bytes."""
    text = _plain_text(value)
    if text is not None:
        return text.encode()
    orjson = _orjson()
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as error:
        if "surrogates" not in str(error):
            raise
        return json.dumps(value, separators=(",", ":")).encode()
