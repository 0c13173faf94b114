"""JSON as modrun writes and reads it: between host and runtime, and in its caches.

orjson does the work, with two exceptions. JavaScript strings may hold lone surrogates (half of an
emoji cut by `slice`), which JSON escapes allow but orjson refuses: those rare texts go through the
standard library instead of failing. And orjson's import costs about 4 ms (it loads dataclasses,
uuid, platform and datetime), more than all the JSON of a small run: until something loads orjson,
the first SPEND characters of small texts and plain values go through the standard library, which
gives for them exactly what orjson gives (what it might not, a number of 19 digits or more or a
float written with an exponent, is handed to orjson). Once orjson is loaded, it does all of it.
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
#: and until they add up to this much: json.loads takes about twice orjson's time, so a run with
#: more JSON than this pays orjson's import back
SPEND = 64 * 1024
_spent = [0]
_fast: list[ModuleType] = []  # orjson, once something has loaded it

#: where an integer orjson may read as a float could be (beyond 64 bits: 19 digits or more), found
#: as a run of 19 ones once every digit is made a one (a translation: a regex search costs more than
#: json.loads itself)
_ONES = bytes.maketrans(b"0123456789", b"1111111111")
_LONG = b"1" * 19


class _Differs(Exception):
    """The standard library would read this text otherwise than orjson."""


def _orjson() -> ModuleType | None:
    """orjson, if something has loaded it."""
    if _fast:
        return _fast[0]
    module = sys.modules.get("orjson")
    if module is not None:
        _fast.append(module)
    return module


def _load_orjson() -> ModuleType:
    if not _fast:
        import orjson

        _fast.append(orjson)
    return _fast[0]


def _spend(size: int) -> bool:
    """Is there room left for `size` more of the standard library's work (taken if so)?"""
    _spent[0] += size
    return _spent[0] <= SPEND


def _std_text(text: str | bytes) -> bool:
    """Does the standard library read `text` as orjson does (and is it its turn to)?"""
    if len(text) >= SMALL or not _spend(len(text)):
        return False
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return _LONG not in data.translate(_ONES)


def loads(text: str | bytes) -> Any:
    """orjson's answer, else (lone surrogates, NaN…) the standard library's."""
    orjson = _orjson()
    if orjson is None:
        if _std_text(text):
            return json.loads(text)
        orjson = _load_orjson()
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _refused(text: str) -> Any:
    raise _Differs  # NaN, Infinity: orjson refuses them


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Differs  # beyond a double's range: orjson refuses it
    return value


def strict_loads(text: str) -> Any:
    """orjson's answer or its error (orjson.JSONDecodeError, a ValueError), for JSON a user wrote."""
    # (no \u escapes: a lone surrogate's, which orjson refuses, would be one)
    if _orjson() is None and "\\u" not in text and _std_text(text):
        try:
            return json.loads(text, parse_float=_float, parse_constant=_refused)
        except (_Differs, ValueError, RecursionError):
            pass  # orjson answers, or says why not
    return _load_orjson().loads(text)


def _small_plain(value: Any) -> bool:
    """Is `value` small and made only of what the standard library writes as orjson does: dicts with
    string keys, lists, tuples, strings, integers within 64 bits, floats without an exponent,
    booleans and None?"""
    room = min(SMALL, SPEND - _spent[0])
    budget = [_NODES, room]
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
    return budget[1] >= 0 and _spend(room - budget[1])


def _plain_text(value: Any) -> str | None:
    """`value` as orjson writes it, by the standard library, where that is its turn and the same."""
    if _spent[0] > SPEND or not _small_plain(value):
        return None
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode()
    except UnicodeEncodeError:  # lone surrogates: escaped, as below
        return json.dumps(value, separators=(",", ":"))
    return text


def dumps(value: Any) -> str:
    orjson = _orjson()
    if orjson is None:
        text = _plain_text(value)
        if text is not None:
            return text
        orjson = _load_orjson()
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as error:
        if "surrogates" not in str(error):
            raise
        return json.dumps(value, separators=(",", ":"))  # escapes the lone surrogates


def dumps_bytes(value: Any) -> bytes:
    """`dumps` as UTF-8 bytes, for channels that carry bytes."""
    orjson = _orjson()
    if orjson is None:
        text = _plain_text(value)
        if text is not None:
            return text.encode()
        orjson = _load_orjson()
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as error:
        if "surrogates" not in str(error):
            raise
        return json.dumps(value, separators=(",", ":")).encode()
