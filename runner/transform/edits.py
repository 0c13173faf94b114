"""Edits of one source, applied into code and a source map, in the spirit of MagicString.

An edit replaces a byte range of the UTF-8 source by text; edits never overlap. Every edit
keeps the source's lines: its text holds no newline and is followed by the newlines of the
range it replaces, and the prologue (text put before the source, on its first line) holds
none either. So generated line N is original line N, which lets the map be encoded in the same
pass that assembles the code (see `Edits._assemble`).

The map has a segment for every word token copied from the source (identifiers, keywords,
numbers: where engines put stack positions), but in the ranges the caller leaves unmapped
(comments), and one for each point an edit names. Columns are UTF-16 code units, as the
format prescribes.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate
from operator import itemgetter
from typing import Any

from .sourcemap import VLQ, vlq_encode

# A mapped point of an edit: (byte offset into the edit's text as UTF-8, byte offset of the
# source it maps to).
Point = tuple[int, int]

# Mapped tokens: words (identifiers, keywords, numbers); a chunk is a token and the gap after
# it, up to the next token on the line.
_CHUNK = re.compile(rb"[\w$\x80-\xff\\]+[^\w$\x80-\xff\\\n]*")


class _PairTable(dict[int, str]):
    """Segment of a token `d` columns after the previous one, on the same line of both. Both tables
    are filled as their entries are first asked for: built whole at import (1024 each), they cost
    every process that transforms about 1.5 ms, mostly for distances no module of it has."""

    def __missing__(self, d: int) -> str:
        seg = self[d] = vlq_encode(d) + "AA" + vlq_encode(d)
        return seg


_PAIRS = _PairTable()


class _CommaPairTable(dict[int, str]):
    """The same, preceded by the separator."""

    def __missing__(self, d: int) -> str:
        seg = self[d] = "," + _PAIRS[d]
        return seg


_COMMA_PAIRS = _CommaPairTable()
# The source's shape: token bytes (as in _CHUNK) -> "a", newlines kept, other bytes -> " ".
_SHAPE = bytes(97 if i >= 0x80 or chr(i).isalnum() or chr(i) in "_$\\" else 10 if i == 10 else 32
               for i in range(256))
# A piece of one line of the shape (below) -> (column of its first token, the segments of the tokens
# after it, each led by ",", column of its last token), or (-1, "", -1) without a token. The same lines
# recur, within a module and across a package's modules (indentation, `});`, `return x;`): their
# segments are made once. Bounded: long lines (which rarely recur) are not kept, and the table is
# emptied when full.
_LINES: dict[bytes, tuple[int, str, int]] = {}
_LINES_MAX = 1 << 14  # (about 4 MB when full)
_LINE_MAX = 200
_NO_TOKEN = (-1, "", -1)


def _line_tokens(text: bytes) -> tuple[int, str, int]:
    """See `_LINES`. A chunk is a token and the gap after it: "|" is put before each token, which
    starts the piece or follows a gap, and the piece split there."""
    entry = _LINES.get(text)
    if entry is None:
        marked = text.replace(b" a", b" |a")
        if text[:1] == b"a":
            marked = b"|" + marked
        if 124 not in marked:  # "|"
            entry = _NO_TOKEN
        else:
            parts = marked.split(b"|")
            count = len(parts)
            tail = "".join(map(_COMMA_PAIRS.__getitem__, map(len, parts[1:-1]))) if count > 2 else ""
            entry = (len(parts[0]), tail, len(marked) - count + 1 - len(parts[-1]))
        if len(text) <= _LINE_MAX:
            if len(_LINES) >= _LINES_MAX:
                _LINES.clear()
            _LINES[text] = entry
    return entry


class Edits:
    """The edits of one source (`src`, UTF-8), and their result (`result`)."""

    def __init__(self, src: bytes) -> None:
        self.src = src
        self._edits: list[tuple[int, int, bytes, tuple[Point, ...]]] = []
        self._prologue: list[tuple[bytes, tuple[Point, ...]]] = []
        self._line_ends: list[int] | None = None
        # `line_of`'s last answer (offset, line, line start), and how often it was asked behind it.
        self._at = self._line = self._start = self._rewinds = 0

    def prepend(self, text: str, *points: Point) -> None:
        """Put `text` before the source, after the text prepended so far."""
        if "\n" in text:
            raise ValueError("a prologue holds no newline")
        self._prologue.append((text.encode("utf-8", "surrogatepass"), points))

    def overwrite(self, start: int, end: int, text: str, *points: Point) -> None:
        """Replace [start, end) by `text` and the newlines the range held (an insertion when
        start == end; insertions at one offset come out in call order)."""
        if "\n" in text:
            raise ValueError("an edit's text holds no newline (the range's own are kept)")
        data = text.encode("utf-8", "surrogatepass")
        newlines = self.src.count(b"\n", start, end)
        if newlines:
            data += b"\n" * newlines
        self._edits.append((start, end, data, points))

    def result(self, source_name: str, source_content: str,
               unmapped: Iterable[tuple[int, int]] = ()) -> tuple[str, dict[str, Any]]:
        """The edited code and its source map (v3); the (start, end) ranges of `unmapped` are
        copied without segments."""
        code, mappings = self._assemble(unmapped)
        return code, {"version": 3, "sources": [source_name], "sourcesContent": [source_content], "names": [],
                      "mappings": mappings}

    def line_of(self, offset: int) -> tuple[int, int]:
        """0-based line and the offset of its start, for a byte offset of the source (shared with
        callers that need positions too).

        Callers ask in runs of growing offsets (the prologue's export getters, then its imports; the
        import records), a few per module: an answer counts the newlines from the previous one (or
        from the start, when asked behind it) rather than indexing every line of the source. Asked
        behind it too often, it indexes them all."""
        if self._line_ends is None:
            if offset >= self._at:
                return self._advance(self._at, self._line, self._start, offset)
            if self._rewinds < 4:
                self._rewinds += 1
                return self._advance(0, 0, 0, offset)
            # Offsets just past each line's newline (the last line's end, +1, closes the list).
            self._line_ends = list(accumulate(map((1).__add__, map(len, self.src.split(b"\n")))))
        ends = self._line_ends
        line = bisect_right(ends, offset)
        return line, ends[line - 1] if line else 0

    def _advance(self, at: int, line: int, start: int, offset: int) -> tuple[int, int]:
        """`line_of(offset)` from the answer (`line`, `start`) for `at` <= `offset`."""
        src = self.src
        newlines = src.count(b"\n", at, offset)
        if newlines:
            line += newlines
            start = src.rfind(b"\n", at, offset) + 1
        self._at = offset
        self._line = line
        self._start = start
        return line, start

    def _line_col(self, offset: int) -> tuple[int, int]:
        """0-based line and column (in source-map units) of a byte offset."""
        line, start = self.line_of(offset)
        return line, _units(self.src[start:offset])

    def _assemble(self, unmapped: Iterable[tuple[int, int]]) -> tuple[str, str]:
        """Apply the edits, encoding the mappings as it goes (segments come in column order).

        Generated line N is original line N, so a copied token at original column c of line N
        sits at generated column c + shift, where shift changes only at edits on that line.
        Every word token copied (outside the `unmapped` ranges) gets a segment. Within one
        copied piece of a line, consecutive tokens advance the generated and original columns
        alike, by the length of a "chunk" (a token and the gap after it): those segments are
        table lookups by chunk length, made once per distinct piece of a line of the source's
        shape (token bytes turned into `a`, gap bytes into spaces: see `_line_tokens`). Columns
        are UTF-16 units: on a line with non-ASCII text, chunk lengths are measured in units
        rather than bytes.
        """
        src = self.src
        n = len(src)
        out: list[bytes] = []
        V = VLQ
        pairs = _PAIRS.__getitem__
        find = src.find
        shape = src.translate(_SHAPE)
        line_parts: list[str] = []
        segs: list[str] = []
        # Encoder state: previous generated column (per line), source line and column.
        pg = psl = psc = 0
        wide_file = not src.isascii() or not all(map(bytes.isascii, map(_DATA, self._edits)))
        wide = False

        col = 0
        if self._prologue:
            for text, points in self._prologue:
                for off, at in points:
                    sl, sc = self.line_of(at)
                    sc = at - sc
                    if wide_file:
                        sc = _units(src[at - sc:at])
                    g = col + _units(text[:off]) if off else col
                    segs.append(V[g - pg] + "A" + V[sl - psl] + V[sc - psc])
                    pg, psl, psc = g, sl, sc
                out.append(text)
                col += _units(text)  # (export names can be non-ASCII in an ASCII source: escapes)
        edits = sorted(self._edits, key=_RANGE)
        edits.append((n, n, b"", ()))
        # Unmapped ranges (comments, for the transform) are copied, but copies are split around them.
        comments = sorted(unmapped)
        ci = 0
        nc = len(comments)
        line = 0
        line_start = 0
        shift = col
        if wide_file:
            wide = not _line_is_ascii(src, 0)
        pos = 0
        for start, end, data, points in edits:
            if start > pos:
                out.append(src[pos:start])
                a = pos
                while a < start:
                    if nc:
                        while ci < nc and comments[ci][1] <= a:
                            ci += 1
                        if ci < nc and comments[ci][0] < start:
                            b, skip_to = max(a, comments[ci][0]), min(comments[ci][1], start)
                        else:
                            b = skip_to = start
                    else:
                        b = skip_to = start
                    if not wide_file and b - a == 1 and src[a] == 10:
                        # A lone newline (between removed statements, say): the line ends.
                        line_parts.append(",".join(segs))
                        segs = []
                        line += 1
                        line_start = b
                        shift = pg = 0
                    elif not wide_file:
                        # ASCII: the rest of the current line, whole lines (no edit on them so far:
                        # shift 0), and the start of the line the copy stops in.
                        texts = shape[a:b].split(b"\n")
                        c, tail, last = _line_tokens(texts[0])
                        if c >= 0:
                            base = a - line_start
                            c += base
                            g = c + shift
                            # (The tail's segments in the same element: `segs` is joined by ",".)
                            segs.append(V[g - pg] + "A" + V[line - psl] + V[c - psc] + tail)
                            c = base + last
                            pg = c + shift
                            psc = c
                            psl = line
                        last_index = len(texts) - 1
                        if last_index:
                            line_parts.append(",".join(segs))
                            for i in range(1, last_index):
                                line += 1
                                c, tail, last = _line_tokens(texts[i])
                                if c < 0:
                                    line_parts.append("")
                                    continue
                                line_parts.append(V[c] + "A" + V[line - psl] + V[c - psc] + tail)
                                psl = line
                                psc = last
                            line += 1
                            text = texts[last_index]
                            line_start = b - len(text)
                            shift = 0
                            segs = []
                            c, tail, last = _line_tokens(text)
                            if c >= 0:
                                segs.append(V[c] + "A" + V[line - psl] + V[c - psc] + tail)
                                pg = psc = last
                                psl = line
                            else:
                                pg = 0
                    else:
                        # Tokens of [a, b): the rest of the current line ...
                        nl = find(b"\n", a, b)
                        y = b if nl < 0 else nl
                        if a < y:
                            if wide:
                                chunks = _CHUNK.findall(src, a, y)
                                if chunks:
                                    lens = list(map(_units, chunks))
                                    c = _units(src[line_start:y - sum(map(len, chunks))])
                                    g = c + shift
                                    segs.append(V[g - pg] + "A" + V[line - psl] + V[c - psc])
                                    lens.pop()
                                    if lens:
                                        segs.extend(map(pairs, lens))
                                        advance = sum(lens)
                                        c += advance
                                        g += advance
                                    pg = g
                                    psc = c
                                    psl = line
                            else:
                                c, tail, last = _line_tokens(shape[a:y])
                                if c >= 0:
                                    base = a - line_start
                                    c += base
                                    g = c + shift
                                    segs.append(V[g - pg] + "A" + V[line - psl] + V[c - psc] + tail)
                                    c = base + last
                                    pg = c + shift
                                    psc = c
                                    psl = line
                        if nl >= 0:
                            # ... whole lines (no edit on them so far: shift 0) ...
                            line_parts.append(",".join(segs))
                            texts = shape[nl + 1:b].split(b"\n")
                            last_text = texts.pop()
                            wide_lines = src[nl + 1:b].split(b"\n") if wide_file else None
                            for i in range(len(texts)):
                                line += 1
                                c, tail, last = _line_tokens(texts[i])
                                if c < 0:  # no token on the line
                                    line_parts.append("")
                                    continue
                                if wide_lines is not None and not wide_lines[i].isascii():
                                    orig = wide_lines[i]
                                    chunks = _CHUNK.findall(orig)
                                    lens = list(map(_units, chunks))
                                    c = _units(orig[:len(orig) - sum(map(len, chunks))])
                                    first = V[c] + "A" + V[line - psl] + V[c - psc]
                                    lens.pop()
                                    if lens:
                                        line_parts.append(first + "," + ",".join(map(pairs, lens)))
                                        c += sum(lens)
                                    else:
                                        line_parts.append(first)
                                    psl = line
                                    psc = c
                                    continue
                                line_parts.append(V[c] + "A" + V[line - psl] + V[c - psc] + tail)
                                psl = line
                                psc = last
                            # ... and the start of the line the copy stops in.
                            line += 1
                            line_start = b - len(last_text)
                            shift = pg = 0
                            segs = []
                            if wide_file:
                                wide = not _line_is_ascii(src, line_start)
                            if last_text:
                                if wide:
                                    chunks = _CHUNK.findall(src, line_start, b)
                                    if chunks:
                                        lens = list(map(_units, chunks))
                                        c = _units(src[line_start:b - sum(map(len, chunks))])
                                        segs.append(V[c] + "A" + V[line - psl] + V[c - psc])
                                        lens.pop()
                                        if lens:
                                            segs.extend(map(pairs, lens))
                                            c += sum(lens)
                                        pg = psc = c
                                        psl = line
                                else:
                                    c, tail, last = _line_tokens(last_text)
                                    if c >= 0:
                                        segs.append(V[c] + "A" + V[line - psl] + V[c - psc] + tail)
                                        pg = psc = last
                                        psl = line
                    k = src.count(b"\n", b, skip_to) if b < skip_to else 0
                    if k:
                        line += k
                        line_start = src.rfind(b"\n", b, skip_to) + 1
                        shift = pg = 0
                        line_parts.append(",".join(segs))
                        line_parts.extend([""] * (k - 1))
                        segs = []
                        if wide_file:
                            wide = not _line_is_ascii(src, line_start)
                    a = skip_to
            elif start < pos:
                raise AssertionError(f"overlapping edits at {start}")
            if points:
                c = _units(src[line_start:start]) if wide else start - line_start
                gen = c + shift
                for off, at in points:
                    sl, sc = (line, c) if at == start else self._line_col(at)
                    g = gen + (_units(data[:off]) if wide_file else off)
                    segs.append(V[g - pg] + "A" + V[sl - psl] + V[sc - psc])
                    pg, psl, psc = g, sl, sc
            if data:
                out.append(data)
            newlines = data.count(b"\n")
            if newlines:
                line += newlines
                line_start = src.rfind(b"\n", start, end) + 1
                shift = -_units(src[line_start:end]) if wide_file else -(end - line_start)
                pg = 0
                line_parts.append(",".join(segs))
                line_parts.extend([""] * (newlines - 1))
                segs = []
                if wide_file:
                    wide = not _line_is_ascii(src, line_start)
            elif wide_file:
                shift += _units(data) - _units(src[start:end])
            else:
                shift += len(data) - (end - start)
            pos = end
        line_parts.append(",".join(segs))
        return b"".join(out).decode("utf-8", "surrogatepass"), ";".join(line_parts)


def _line_is_ascii(src: bytes, start: int) -> bool:
    end = src.find(b"\n", start)
    return src[start:end if end >= 0 else len(src)].isascii()


_DATA = itemgetter(2)
_RANGE = itemgetter(0, 1)
# UTF-16 length of UTF-8 text = bytes - continuation bytes + 4-byte leads (surrogate pairs).
_CONT_TABLE = bytes(1 if 0x80 <= i < 0xC0 else 0 for i in range(256))
_LEAD4_TABLE = bytes(1 if i >= 0xF0 else 0 for i in range(256))


def _units(text: bytes) -> int:
    """Length in UTF-16 code units (the source-map column unit) of UTF-8 `text`."""
    if text.isascii():
        return len(text)
    return len(text) - sum(text.translate(_CONT_TABLE)) + sum(text.translate(_LEAD4_TABLE))

