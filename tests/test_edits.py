"""Edits -> code and source map (runner/transform/edits.py), checked against a plain model.

The model applies the edits by splicing and lists the segments the map must hold: one at the
start of every word token copied from the source (outside the unmapped ranges), one per point
an edit names. The produced mappings are decoded twice, by sourcemap.decode_mappings and by a
plain decoder written here, so the encoder is not only checked against its own twin.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

import pytest

from runner.transform import edits as edits_module
from runner.transform.edits import Edits, Point
from runner.transform.sourcemap import decode_mappings

Edit = tuple[int, int, str, tuple[Point, ...]]
Prepend = tuple[str, tuple[Point, ...]]
Segment = tuple[int, int, int]  # generated column, original line, original column

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Word tokens, as engines put stack positions on them: identifiers, keywords, numbers (and
# escapes in identifiers), and any non-ASCII text.
_TOKEN_BYTE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$\\") | frozenset(
    range(0x80, 0x100))
_TOKEN = re.compile(r"(?:[A-Za-z0-9_$\\]|[^\x00-\x7f])+")


def plain_decode(mappings: str) -> list[list[Segment]]:
    """Base64 VLQ, decoded digit by digit: per generated line, (column, line, column)."""
    lines: list[list[Segment]] = []
    source = line = column = 0
    for text in mappings.split(";"):
        generated = 0
        segments: list[Segment] = []
        for field in text.split(","):
            if not field:
                continue
            values: list[int] = []
            value = shift = 0
            for char in field:
                digit = _B64.index(char)
                value += (digit & 31) << shift
                if digit & 32:
                    shift += 5
                else:
                    values.append(-(value >> 1) if value & 1 else value >> 1)
                    value = shift = 0
            assert shift == 0 and len(values) == 4, field
            generated += values[0]
            source += values[1]
            line += values[2]
            column += values[3]
            assert source == 0
            segments.append((generated, line, column))
        lines.append(sorted(segments))
    return lines


def _line_col(buf: bytes, offset: int) -> tuple[int, int]:
    """0-based line and UTF-16 column of a byte offset."""
    start = buf.rfind(b"\n", 0, offset) + 1
    return buf.count(b"\n", 0, offset), len(buf[start:offset].decode("utf-8").encode("utf-16-le")) // 2


def model(source: str, edits: Sequence[Edit], prologue: Sequence[Prepend],
          unmapped: Sequence[tuple[int, int]]) -> tuple[str, list[list[Segment]], set[tuple[int, int]]]:
    """The code, per generated line the sorted segments, and the generated (line, column) of
    the edits' points, by splicing byte by byte."""
    src = source.encode("utf-8")
    mapped = [True] * len(src)
    for start, end in unmapped:
        mapped[start:end] = [False] * (end - start)
    out = bytearray()
    points: list[tuple[int, int]] = []  # (generated offset, original offset)
    edited: list[int] = []
    for text, marks in prologue:
        points += [(len(out) + off, at) for off, at in marks]
        edited += [len(out) + off for off, _ in marks]
        out += text.encode("utf-8")
    pos = 0
    for start, end, text, marks in [*sorted(edits, key=lambda e: (e[0], e[1])), (len(src), len(src), "", ())]:
        for i in range(pos, start):
            run_start = i == pos or src[i - 1] not in _TOKEN_BYTE or not mapped[i - 1]
            if src[i] in _TOKEN_BYTE and mapped[i] and run_start:
                points.append((len(out) + i - pos, i))
        out += src[pos:start]
        points += [(len(out) + off, at) for off, at in marks]
        edited += [len(out) + off for off, _ in marks]
        out += text.encode("utf-8") + b"\n" * src.count(b"\n", start, end)
        pos = end
    code = bytes(out)
    lines: list[list[Segment]] = [[] for _ in range(code.count(b"\n") + 1)]
    for generated, original in points:
        gen_line, gen_col = _line_col(code, generated)
        lines[gen_line].append((gen_col, *_line_col(src, original)))
    return code.decode("utf-8"), [sorted(line) for line in lines], {_line_col(code, g) for g in edited}


def apply(source: str, edits: Sequence[Edit], prologue: Sequence[Prepend],
          unmapped: Sequence[tuple[int, int]]) -> tuple[str, list[list[Segment]]]:
    """Through Edits, checking the map's fields and that both decoders agree."""
    e = Edits(source.encode("utf-8"))
    for text, marks in prologue:
        e.prepend(text, *marks)
    for start, end, text, marks in edits:
        e.overwrite(start, end, text, *marks)
    code, source_map = e.result("/src/x.js", source, unmapped)
    assert source_map["version"] == 3 and source_map["sources"] == ["/src/x.js"]
    assert source_map["sourcesContent"] == [source] and source_map["names"] == []
    lines = plain_decode(source_map["mappings"])
    assert lines == [sorted((s.column, s.line, s.source_column) for s in line)
                     for line in decode_mappings(source_map["mappings"])]
    assert all(s.source == 0 for line in decode_mappings(source_map["mappings"]) for s in line)
    return code, lines


def check(source: str, edits: Sequence[Edit] = (), prologue: Sequence[Prepend] = (),
          unmapped: Sequence[tuple[int, int]] = ()) -> tuple[str, list[list[Segment]], set[tuple[int, int]]]:
    """Through Edits and through the model, which must agree; answers the code, the segments
    and the generated positions of the points."""
    code, lines = apply(source, edits, prologue, unmapped)
    expected_code, expected_lines, edited = model(source, edits, prologue, unmapped)
    assert code == expected_code
    assert len(code.split("\n")) == len(source.split("\n"))  # original line N is generated line N
    assert lines == expected_lines
    return code, lines, edited


def token_at(lines: list[str], line: int, column: int) -> str:
    """The token starting at a UTF-16 column of a line ("" if none starts there)."""
    text = lines[line]
    units = text.encode("utf-16-le")
    prefix = units[:column * 2].decode("utf-16-le")
    match = _TOKEN.match(text, len(prefix))
    return match.group() if match else ""


def assert_tokens_map_back(code: str, source: str, lines: list[list[Segment]], edited: set[tuple[int, int]],
                           whole: bool = True) -> int:
    """Every segment of a copied token (not at an `edited` position: an edit's point) points at
    the same token in the source: the same text (`whole`), or, where an edit's text may follow
    the copied part of a token without a gap, the same first character. Answers how many."""
    code_lines, source_lines = code.split("\n"), source.split("\n")
    checked = 0
    for gen_line, segments in enumerate(lines):
        for gen_col, line, column in segments:
            if (gen_line, gen_col) in edited:
                continue
            token = token_at(code_lines, gen_line, gen_col)
            original = token_at(source_lines, line, column)
            assert token, (gen_line, gen_col)
            if whole:
                assert token == original, (gen_line, gen_col, line, column)
            else:
                assert token[0] == original[:1], (gen_line, gen_col, line, column)
            checked += 1
    return checked


def at(source: str, needle: str, nth: int = 0) -> int:
    """Byte offset of the nth occurrence of `needle`."""
    src, pos = source.encode("utf-8"), -1
    for _ in range(nth + 1):
        pos = src.index(needle.encode("utf-8"), pos + 1)
    return pos


# --- cases ------------------------------------------------------------------------------------

def test_pure_copy_maps_every_token() -> None:
    source = "const a = 1;\nlet  bb=a+2;\n\n  foo(bb)\n"
    code, lines, edited = check(source)
    assert code == source
    assert lines == [
        [(0, 0, 0), (6, 0, 6), (10, 0, 10)],
        [(0, 1, 0), (5, 1, 5), (8, 1, 8), (10, 1, 10)],
        [],
        [(2, 3, 2), (6, 3, 6)],
        [],
    ]
    assert assert_tokens_map_back(code, source, lines, edited) == 9


def test_mappings_text_of_a_small_copy() -> None:
    # The spec's encoding, written out: "a" at 0:0, "b" two columns on, "c" on the next line.
    e = Edits(b"a b\nc")
    assert e.result("s.js", "a b\nc")[1]["mappings"] == "AAAA,EAAE;AACF"


def test_replacements_on_one_line() -> None:
    source = "foo(bar, baz); qux"
    edits: list[Edit] = [
        (at(source, "bar"), at(source, "bar") + 3, "__m__.bar", ((0, at(source, "bar")), (6, at(source, "bar")))),
        (at(source, "baz"), at(source, "baz") + 3, "(0,__n__.z)", ((0, at(source, "baz")),)),
    ]
    code, lines, edited = check(source, edits)
    assert code == "foo(__m__.bar, (0,__n__.z)); qux"
    assert lines == [[(0, 0, 0), (4, 0, 4), (10, 0, 4), (15, 0, 9), (29, 0, 15)]]
    assert edited == {(0, 4), (0, 10), (0, 15)}
    assert assert_tokens_map_back(code, source, lines, edited) == 2


def test_edit_over_lines_keeps_them_and_the_rest_of_the_last_line() -> None:
    source = "a;\nimport {\n  x,\n} from 'm'; b(x)\nc"
    start, end = at(source, "import"), at(source, "; b(x)")
    code, lines, edited = check(source, [(start, end, "", ())])
    assert code == "a;\n\n\n; b(x)\nc"
    assert lines[3] == [(2, 3, 12), (4, 3, 14)]  # `b` and `x`, shifted left by the removed text
    assert assert_tokens_map_back(code, source, lines, edited) == 4


def test_insertions_and_an_edit_text_that_is_longer_than_its_range() -> None:
    source = "export default f(a)\nnext"
    value = at(source, "f(a)")
    edits: list[Edit] = [
        (0, value, "const __vite_ssr_export_default__ = ", ((0, 0),)),
        (len("export default f(a)"), len("export default f(a)"), ";", ()),
        (value, value, "/*1*/", ()), (value, value, "/*2*/", ()),  # one offset: call order
    ]
    code, lines, edited = check(source, edits)
    assert code == "const __vite_ssr_export_default__ = /*1*//*2*/f(a);\nnext"
    assert edited == {(0, 0)}
    assert assert_tokens_map_back(code, source, lines, edited) == 3


def test_text_with_a_newline_is_refused() -> None:
    e = Edits(b"a\nb")
    with pytest.raises(ValueError):
        e.overwrite(0, 1, "x\ny")
    with pytest.raises(ValueError):
        e.prepend("x\n")


def test_prologue_comes_first_in_call_order_and_shifts_line_one_only() -> None:
    source = "a(b)\n  c"
    prologue: list[Prepend] = [("const x = 1;", ((0, at(source, "b")),)), ("const __y__ = 2;", ((6, 0),))]
    code, lines, edited = check(source, prologue=prologue)
    assert code == "const x = 1;const __y__ = 2;a(b)\n  c"
    assert lines == [[(0, 0, 2), (18, 0, 0), (28, 0, 0), (30, 0, 2)], [(2, 1, 2)]]
    assert edited == {(0, 0), (0, 18)}
    assert assert_tokens_map_back(code, source, lines, edited) == 3


@pytest.mark.parametrize("text", ["é", "€", "😀", "𝒳y"], ids=["latin", "bmp", "astral", "astral-word"])
def test_non_ascii_on_edited_and_unedited_lines(text: str) -> None:
    source = f"let s = '{text}'; f(s, {text}x)\nconst {text}z = f; g(1)\nh({text})"
    f1 = at(source, "f(s")
    g = at(source, "g(1)")
    edits: list[Edit] = [
        (f1, f1 + 1, "(0,__m__.f)", ((0, f1), (8, f1))),
        (g, g + 1, f"__{text}__.g", ((0, g), (len(f"__{text}__.".encode()), g))),
    ]
    prologue: list[Prepend] = [(f"__vite_ssr_exportName__('{text}', () => z);", ((0, 0),))]
    code, lines, edited = check(source, edits, prologue)
    assert f"__{text}__.g(1)" in code
    prologue_units = len(prologue[0][0].encode("utf-16-le")) // 2
    # `x` after the text on line 1 (unedited before it but the prologue): UTF-16 columns.
    col = len(f"let s = '{text}'; (0,__m__.f)(s, ".encode("utf-16-le")) // 2 + prologue_units
    assert (col, 0, len(f"let s = '{text}'; f(s, ".encode("utf-16-le")) // 2) in lines[0]
    assert lines[2] == [(0, 2, 0), (2, 2, 2)]  # line 3 has no edit: same columns as the source
    assert assert_tokens_map_back(code, source, lines, edited) == 11


def test_comments_are_copied_but_not_mapped() -> None:
    source = "a /* b c */ d // e f\ng/*h*/i\n/**/j"
    unmapped = [(at(source, "/*"), at(source, "*/") + 2), (at(source, "//"), at(source, "\ng")),
                (at(source, "/*h"), at(source, "*/i") + 2), (at(source, "/**/"), at(source, "/**/") + 4)]
    code, lines, edited = check(source, unmapped=unmapped)
    assert code == source
    assert lines == [[(0, 0, 0), (12, 0, 12)], [(0, 1, 0), (6, 1, 6)], [(4, 2, 4)]]
    assert assert_tokens_map_back(code, source, lines, edited) == 5


def test_comment_inside_an_edit_and_an_edit_next_to_a_comment() -> None:
    source = "import {a /* x */} from 'm';/* y */b\nc"
    end = at(source, ";") + 1
    unmapped = [(at(source, "/* x"), at(source, "*/}") + 2), (at(source, "/* y"), at(source, "*/b") + 2)]
    code, lines, _ = check(source, [(0, end, "", ())], unmapped=unmapped)
    assert code == "/* y */b\nc"
    assert lines == [[(7, 0, 35)], [(0, 1, 0)]]


def test_crlf_lines() -> None:
    source = "a = b;\r\nc(d)\r\n\r\n e\r\n"
    d = at(source, "d")
    code, lines, edited = check(source, [(d, d + 1, "__m__.d", ((0, d), (6, d)))])
    assert code == "a = b;\r\nc(__m__.d)\r\n\r\n e\r\n"
    assert lines[1] == [(0, 1, 0), (2, 1, 2), (8, 1, 2)]
    assert lines[3] == [(1, 3, 1)]
    assert edited == {(1, 2), (1, 8)}
    assert assert_tokens_map_back(code, source, lines, edited) == 4


def test_long_lines_beyond_the_lookup_tables() -> None:
    # Chunks and column deltas over 1024 are encoded, not looked up.
    source = "a" + " " * 1500 + "b c\n" + "x " * 700 + "é" + " " * 1100 + "y\nz"
    y = at(source, "y")
    code, lines, edited = check(source, [(y, y + 1, "__m__." + "q" * 1200 + ".y", ((0, y), (1206, y)))])
    assert lines[0] == [(0, 0, 0), (1501, 0, 1501), (1503, 0, 1503)]
    assert assert_tokens_map_back(code, source, lines, edited) == 705


def test_point_that_maps_elsewhere_in_the_source() -> None:
    source = "x\n\n  y = 1"
    y = at(source, "y")
    _, lines, _ = check(source, [(0, 1, "z", ((0, y),))])
    assert lines[0] == [(0, 2, 2)]


# --- random edits against the model -------------------------------------------------------------

_PIECES = ["a", "bc", "_$x", "12", " ", "  ", "\t", "\n", "\r\n", "é", "€q", "😀", "(", ")", ".", ";",
           "\\u0061", "=", "'s'", "ü😀ü", "/*c*/", "//d\n"]
_TEXTS = ["", "x", "__m__.y", "(0,", ")", ";", "é", "😀z", " ", "€"]


def _random_case(rng: random.Random) -> tuple[str, list[Edit], list[Prepend], list[tuple[int, int]]]:
    source = "".join(rng.choice(_PIECES) for _ in range(rng.randrange(0, 40)))
    src = source.encode("utf-8")
    # Character boundaries only: edits and ranges never split a UTF-8 sequence.
    cuts = sorted({len(source[:i].encode("utf-8")) for i in range(len(source) + 1)})
    chosen = sorted(rng.sample(cuts, min(len(cuts), rng.randrange(0, 12))))
    edits: list[Edit] = []
    unmapped: list[tuple[int, int]] = []
    for start, end in zip(chosen[::2], chosen[1::2], strict=False):
        if rng.random() < 0.3:
            unmapped.append((start, end))
            continue
        if rng.random() < 0.3:
            end = start  # an insertion
        text = rng.choice(_TEXTS)
        marks: list[Point] = []
        if rng.random() < 0.8:
            marks.append((0, start))
        if text and rng.random() < 0.5:
            k = rng.randrange(1, len(text) + 1)
            marks.append((len(text[:k].encode("utf-8")), rng.choice(cuts)))
        edits.append((start, end, text, tuple(marks)))
    rng.shuffle(edits)  # the order of calls does not matter (but for insertions at one offset)
    prologue: list[Prepend] = [(rng.choice(["const a=1;", "é();", "x😀;"]), ((0, rng.choice(cuts)),))
                               for _ in range(rng.randrange(0, 3))]
    assert all(0 <= s <= e <= len(src) for s, e, _, _ in edits)
    return source, edits, prologue, unmapped


def test_random_edits_match_the_model() -> None:
    rng = random.Random(20240607)
    checked = 0
    for _ in range(1500):
        source, edits, prologue, unmapped = _random_case(rng)
        code, lines, edited = check(source, edits, prologue, unmapped)
        checked += assert_tokens_map_back(code, source, lines, edited, whole=False)
    assert checked > 5000


def test_remembered_lines_give_the_segments_of_a_cold_table(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lines' segments are remembered across sources (edits._LINES): a cold table, a warm one and one
    # emptied again and again as it fills must all give the model's mappings.
    rng = random.Random(20261205)
    cases = [_random_case(rng) for _ in range(300)]
    edits_module._LINES.clear()
    cold = [apply(*case) for case in cases]
    warm = [apply(*case) for case in cases]
    monkeypatch.setattr(edits_module, "_LINES_MAX", 3)
    edits_module._LINES.clear()
    small = [apply(*case) for case in cases]
    assert cold == warm == small
    assert 0 < len(edits_module._LINES) <= 3
    for case, (code, lines) in zip(cases[:50], cold, strict=False):
        expected_code, expected_lines, _ = model(*case)
        assert (code, lines) == (expected_code, expected_lines)


def test_long_lines_are_not_remembered() -> None:
    long_line = " ".join(f"w{i}" for i in range(200))
    edits_module._LINES.clear()
    code, lines, _ = check(f"short line\n{long_line}\n")
    assert len(lines[1]) == 200
    assert max(map(len, edits_module._LINES)) <= edits_module._LINE_MAX < len(long_line)


def test_line_of_answers_offsets_in_any_order() -> None:
    # Answers count newlines from the previous answer, start over when asked behind it, and index
    # every line once asked behind it too often: all give the lines a plain split gives.
    rng = random.Random(5)
    source = "".join(rng.choice(["a", "bc", "\n", "é", " ", "\n\n", "x" * 40]) for _ in range(400)).encode()
    expected = []
    line = start = 0
    for offset in range(len(source) + 1):
        expected.append((line, start))
        if offset < len(source) and source[offset] == 10:
            line, start = line + 1, offset + 1
    for order in ("growing", "runs", "random"):
        offsets = list(range(len(source) + 1))
        if order == "runs":
            offsets = offsets[200:] + offsets[:200] + offsets[100:300]
        elif order == "random":
            rng.shuffle(offsets)
        e = Edits(source)
        assert [e.line_of(offset) for offset in offsets] == [expected[offset] for offset in offsets]
