"""Source maps (v3): base64 VLQ, a builder, line shifting, lookup and composition.

Conventions used throughout this module:
- `SourceMapBuilder.add` takes 0-based lines and 0-based columns, as the mappings encode them;
- `original_position` takes a 1-based generated line and a 0-based column and answers a 1-based
  original line and 0-based column (the convention of Mozilla's `source-map` and of Vite's
  `trace-mapping`), so a stack frame `file:L:C` (both 1-based) is looked up as `(L, C - 1)`;
- columns are UTF-16 code units, as the format prescribes. QuickJS-ng reports columns in UTF-8
  bytes: convert with `utf8_to_utf16_column` when the line holds non-ASCII text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUE = {c: i for i, c in enumerate(_B64)}


def vlq_encode(value: int) -> str:
    """One signed integer as base64 VLQ (sign in the lowest bit, 5 bits per digit)."""
    v = (-value << 1) | 1 if value < 0 else value << 1
    out = []
    while True:
        digit = v & 31
        v >>= 5
        if v:
            out.append(_B64[digit | 32])
        else:
            out.append(_B64[digit])
            return "".join(out)


class _VlqTable(dict[int, str]):
    """VLQ of an integer: a lookup for the common ones, filled as they are first asked for (built whole
    at import, it cost every process about 1 ms); others are encoded, not stored."""

    def __missing__(self, value: int) -> str:
        code = vlq_encode(value)
        if -1024 <= value <= 1024:
            self[value] = code
        return code


# Deltas are nearly always small: a table avoids the loop above for almost every number.
VLQ = _VlqTable()


def vlq_decode(segment: str) -> list[int]:
    """All signed integers of one VLQ-encoded segment (e.g. `"AAgBC"` -> `[0, 0, 16, 1]`)."""
    values: list[int] = []
    shift = acc = 0
    for ch in segment:
        digit = _B64_VALUE[ch]
        acc += (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        values.append(-(acc >> 1) if acc & 1 else acc >> 1)
        shift = acc = 0
    if shift:
        raise ValueError(f"truncated VLQ segment {segment!r}")
    return values


class Segment(NamedTuple):
    """One decoded mapping: absolute 0-based values; `source` is None for unmapped segments."""

    column: int
    source: int | None = None
    line: int = 0
    source_column: int = 0
    name: int | None = None


@lru_cache(maxsize=128)
def decode_mappings(mappings: str) -> tuple[tuple[Segment, ...], ...]:
    """The `mappings` string as one tuple of segments per generated line (cached by string)."""
    lines: list[tuple[Segment, ...]] = []
    src = src_line = src_col = name = 0
    for text in mappings.split(";"):
        segs: list[Segment] = []
        col = 0
        if text:
            for part in text.split(","):
                if not part:
                    continue
                v = vlq_decode(part)
                col += v[0]
                if len(v) == 1:
                    segs.append(Segment(col))
                    continue
                src += v[1]
                src_line += v[2]
                src_col += v[3]
                if len(v) >= 5:
                    name += v[4]
                    segs.append(Segment(col, src, src_line, src_col, name))
                else:
                    segs.append(Segment(col, src, src_line, src_col))
            segs.sort(key=lambda s: s.column)
        lines.append(tuple(segs))
    return tuple(lines)


def encode_mappings(lines: list[list[tuple[int, ...]]]) -> str:
    """Per generated line, sorted `(column, source, line, source_column[, name])` tuples -> VLQ."""
    out: list[str] = []
    src = src_line = src_col = name = 0
    vlq = VLQ.__getitem__
    for segs in lines:
        col = 0
        parts: list[str] = []
        for seg in segs:
            if len(seg) == 1:
                parts.append(vlq(seg[0] - col))
                col = seg[0]
                continue
            s = vlq(seg[0] - col) + vlq(seg[1] - src) + vlq(seg[2] - src_line) + vlq(seg[3] - src_col)
            col, src, src_line, src_col = seg[0], seg[1], seg[2], seg[3]
            if len(seg) >= 5 and seg[4] is not None:
                s += vlq(seg[4] - name)
                name = seg[4]
            parts.append(s)
        out.append(",".join(parts))
    return ";".join(out)


class SourceMapBuilder:
    """Collects mappings (0-based lines and columns) and renders a v3 source map."""

    def __init__(self, sources: list[str] | None = None, sources_content: list[str | None] | None = None,
                 *, file: str | None = None) -> None:
        self.sources = list(sources or [])
        self.sources_content = list(sources_content) if sources_content is not None else None
        self.file = file
        self.names: list[str] = []
        self._name_index: dict[str, int] = {}
        self._lines: list[list[tuple[int, ...]]] = []

    def add_source(self, source: str, content: str | None = None) -> int:
        """Register one more source; answers its index."""
        self.sources.append(source)
        if self.sources_content is None:
            self.sources_content = [None] * (len(self.sources) - 1)
        self.sources_content.append(content)
        return len(self.sources) - 1

    def add(self, gen_line: int, gen_col: int, src_line: int, src_col: int, name: str | None = None,
            source: int = 0) -> None:
        """Map generated (line, column) to original (line, column) of `sources[source]`."""
        lines = self._lines
        while len(lines) <= gen_line:
            lines.append([])
        if name is None:
            lines[gen_line].append((gen_col, source, src_line, src_col))
            return
        idx = self._name_index.get(name)
        if idx is None:
            idx = self._name_index[name] = len(self.names)
            self.names.append(name)
        lines[gen_line].append((gen_col, source, src_line, src_col, idx))

    def to_dict(self) -> dict[str, Any]:
        lines = []
        for segs in self._lines:
            # Drop exact duplicates at one column (the first mapping added wins).
            segs = sorted(segs, key=lambda s: s[0])
            kept: list[tuple[int, ...]] = []
            last = -1
            for s in segs:
                if s[0] != last:
                    kept.append(s)
                    last = s[0]
            lines.append(kept)
        result: dict[str, Any] = {"version": 3}
        if self.file is not None:
            result["file"] = self.file
        result["sources"] = list(self.sources)
        result["sourcesContent"] = (list(self.sources_content) if self.sources_content is not None
                                    else [None] * len(self.sources))
        result["names"] = list(self.names)
        result["mappings"] = encode_mappings(lines)
        return result


def shift_columns(source_map: dict[str, Any], shifts: list[tuple[int, int, int]]) -> dict[str, Any]:
    """A copy of `source_map` for code where, on generated line `line` (0-based), the text from
    column `column` on moved by `delta` columns (a string literal replaced by a longer one)."""
    def plain(seg: Segment) -> tuple[int, ...]:
        if seg.source is None:
            return (seg.column,)
        head = (seg.column, seg.source, seg.line, seg.source_column)
        return head if seg.name is None else (*head, seg.name)

    lines = [[plain(seg) for seg in segs] for segs in decode_mappings(source_map.get("mappings", ""))]
    for line, column, delta in shifts:
        if line < len(lines):
            lines[line] = [(seg[0] + delta, *seg[1:]) if seg[0] > column else seg for seg in lines[line]]
    shifted = dict(source_map)
    shifted["mappings"] = encode_mappings(lines)
    return shifted


def shift_lines(source_map: dict[str, Any], n: int) -> dict[str, Any]:
    """A copy of `source_map` for code with `n` lines prepended (e.g. a wrapper's header)."""
    shifted = dict(source_map)
    if n > 0:
        shifted["mappings"] = ";" * n + source_map.get("mappings", "")
    elif n < 0:
        shifted["mappings"] = ";".join(source_map.get("mappings", "").split(";")[-n:])
    return shifted


class OriginalPosition(NamedTuple):
    source: str | None
    line: int  # 1-based
    column: int  # 0-based
    name: str | None


def _segment_at(source_map: dict[str, Any], line: int, column: int) -> Segment | None:
    """The closest mapped segment at or left of (1-based `line`, 0-based `column`)."""
    lines = decode_mappings(source_map.get("mappings", ""))
    if line < 1 or line > len(lines):
        return None
    segs = lines[line - 1]
    lo, hi = 0, len(segs)
    while lo < hi:
        mid = (lo + hi) // 2
        if segs[mid].column <= column:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0 or segs[lo - 1].source is None:
        return None
    return segs[lo - 1]


def original_position(source_map: dict[str, Any], line: int, column: int) -> OriginalPosition | None:
    """Where generated `line` (1-based) and `column` (0-based) come from, or None if unmapped.

    Picks the closest mapping at or left of `column` on that line, as stack remappers do.
    """
    seg = _segment_at(source_map, line, column)
    if seg is None or seg.source is None:
        return None
    sources = source_map.get("sources") or []
    names = source_map.get("names") or []
    source = sources[seg.source] if seg.source < len(sources) else None
    root = source_map.get("sourceRoot")
    if source is not None and root:
        source = root.rstrip("/") + "/" + source
    name = names[seg.name] if seg.name is not None and seg.name < len(names) else None
    return OriginalPosition(source, seg.line + 1, seg.source_column, name)


def original_point(source_map: dict[str, Any], line: int, column: int) -> tuple[int, int] | None:
    """Where generated `line` (1-based) and `column` (0-based) come from, as a 1-based line and
    0-based column: the closest mapping at or left of it, moved right by the distance to it (text
    copied from the source is the same in both). None if unmapped."""
    seg = _segment_at(source_map, line, column)
    if seg is None or seg.source is None:
        return None
    return seg.line + 1, seg.source_column + column - seg.column


def compose(outer: dict[str, Any], inner: dict[str, Any]) -> dict[str, Any]:
    """Chain two maps: `outer` maps the final code to its input, which `inner` maps to the
    original sources (e.g. outer = our runner transform's map, inner = a plugin's map).

    Each outer mapping is looked up in `inner`; mappings that fall on nothing are dropped.
    The result has inner's sources (and sourceRoot) and content.
    """
    builder = SourceMapBuilder(file=outer.get("file"))
    inner_sources = inner.get("sources") or []
    inner_content = inner.get("sourcesContent") or []
    inner_names = inner.get("names") or []
    outer_names = outer.get("names") or []
    index: dict[int, int] = {}
    for gen_line, segs in enumerate(decode_mappings(outer.get("mappings", ""))):
        for seg in segs:
            if seg.source is None:
                continue
            target = _segment_at(inner, seg.line + 1, seg.source_column)
            if target is None or target.source is None:
                continue
            src_index = index.get(target.source)
            if src_index is None:
                source = inner_sources[target.source] if target.source < len(inner_sources) else ""
                content = inner_content[target.source] if target.source < len(inner_content) else None
                src_index = index[target.source] = builder.add_source(source or "", content)
            name = outer_names[seg.name] if seg.name is not None and seg.name < len(outer_names) else None
            if name is None and target.name is not None and target.name < len(inner_names):
                name = inner_names[target.name]
            builder.add(gen_line, seg.column, target.line, target.source_column, name, src_index)
    result = builder.to_dict()
    if inner.get("sourceRoot"):
        result["sourceRoot"] = inner["sourceRoot"]
    return result


def utf8_to_utf16_column(line_text: str, byte_column: int) -> int:
    """A column counted in UTF-8 bytes (QuickJS-ng's stack traces) as UTF-16 code units."""
    if line_text.isascii():
        return byte_column
    prefix = line_text.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore")
    return len(prefix.encode("utf-16-le")) // 2
