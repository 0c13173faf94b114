"""Payloads handed to QuickJS as ASCII (evaluators/ascii_json.py): JSON.parse in the engine reads
the same value as from the UTF-8 text."""

from __future__ import annotations

import json

import _quickjs
import pytest

from evaluators.ascii_json import ascii_json
from runner.rpc import wire

# Latin-1, the BMP beyond it, astral characters (a surrogate pair each), runs of them, in keys and
# values, at the start and the end of the text
VALUES = ["plain", "café ÿ", "€ — \u0101 \ufe0f \uffff", "\U0001F600 \U0010FFFF", {"ключ": ["日本", "\x7f\x80"]}, "é"]


def test_payloads_beyond_ascii_parse_to_the_same_value() -> None:
    parsed = _quickjs.Context().eval("(text) => JSON.stringify(JSON.parse(text))")
    lengths = _quickjs.Context().eval("(text) => JSON.parse(text)[3].length")
    data = wire.dumps_bytes(VALUES)
    escaped = ascii_json(data)
    assert escaped.isascii() and not data.isascii()
    assert parsed(escaped) == parsed(data.decode())
    assert json.loads(parsed(escaped)) == json.loads(escaped) == VALUES
    assert lengths(escaped) == lengths(data.decode()) == 5  # two code units per astral character
    assert ascii_json("日本".encode()) == "\\u65e5\\u672c"
    assert ascii_json("\U0001F600".encode()) == "\\ud83d\\ude00"


def test_ascii_payloads_and_lone_surrogates() -> None:
    assert ascii_json(b'["ascii"]') == '["ascii"]'
    assert ascii_json(b"") == ""
    # lone surrogates take the standard library's path, which escapes every character beyond ASCII
    data = wire.dumps_bytes(["\ud83d alone \udc00", "é"])
    assert data.isascii() and ascii_json(data) == data.decode()
    parsed = _quickjs.Context().eval("(text) => JSON.stringify(JSON.parse(text))")
    assert json.loads(parsed(ascii_json(data))) == ["\ud83d alone \udc00", "é"]
    # encoded surrogates read as a decoder with surrogatepass reads them (the process worker did)
    assert ascii_json('["\ud83d"]'.encode("utf-8", "surrogatepass")) == '["\\ud83d"]'


def test_text_that_is_not_utf8_is_refused() -> None:
    for broken in (b'["\xff"]', b'["a\xc3"]', b'["\xe6\x97"]'):
        with pytest.raises(UnicodeDecodeError):
            ascii_json(broken)
