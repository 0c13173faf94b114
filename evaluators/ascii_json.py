"""JSON text for QuickJS as ASCII: every character beyond ASCII as a \\u escape (an astral one as
its surrogate pair), the same value to JSON.parse. QuickJS keeps a string holding any character
beyond Latin-1 as 16-bit, and parses that slower: date-fns's locale data put its 1.1 MB graph
payload there (JSON.parse plus the binding's conversion about 8.6 ms, against 6.2 as ASCII,
escaping included). Characters beyond ASCII are rare in these payloads (a few runs per megabyte):
the ASCII stretches between them are decoded by the C decoder, only the runs escaped in Python."""

from __future__ import annotations


def ascii_json(data: bytes) -> str:
    """`data` (UTF-8 JSON; surrogates allowed, as a UTF-8 decoder with surrogatepass reads them) as
    ASCII text; raises UnicodeDecodeError where it is not UTF-8."""
    parts: list[str] = []
    done = 0
    while True:
        try:
            parts.append(data[done:].decode("ascii") if done else data.decode("ascii"))
            return "".join(parts) if len(parts) > 1 else parts[0]
        except UnicodeDecodeError as error:
            start = done + error.start
        parts.append(data[done:start].decode("ascii"))
        end = start + 1
        while end < len(data) and data[end] >= 0x80:
            end += 1
        units = data[start:end].decode("utf-8", "surrogatepass").encode("utf-16-be", "surrogatepass").hex()
        parts.append("".join(["\\u" + units[at:at + 4] for at in range(0, len(units), 4)]))
        done = end
