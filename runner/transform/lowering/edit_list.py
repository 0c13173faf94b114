"""The edits one lowering pass collects before they are applied (edits.py applies them into code
and a source map): erasures that keep columns, replacements, insertions, and text moved to a
later place (a JSX `key`, which the automatic runtime takes as an argument after the props)."""

from __future__ import annotations

from bisect import bisect_right

from ..edits import Edits, Point


class Moved:
    """Text of a source range, with the edits inside it applied, to be put elsewhere; resolved
    when the edits are applied (`EditList.apply`), so edits recorded later still count."""

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end


# One edit: [start, end, text parts, points]; a part is text or a Moved range.
Edit = tuple[int, int, list["str | Moved"], tuple[Point, ...]]


class EditList:
    def __init__(self, src: bytes) -> None:
        self.src = src
        self.edits: list[Edit] = []
        self.erased: list[tuple[int, int]] = []  # type-only ranges, for the import-use scan

    def replace(self, start: int, end: int, text: str | list[str | Moved], *points: Point) -> None:
        """[start, end) becomes `text` (no newline in it; the range's newlines are kept)."""
        self.edits.append((start, end, [text] if isinstance(text, str) else text, points))

    def insert(self, at: int, text: str | list[str | Moved], *points: Point) -> None:
        self.replace(at, at, text, *points)

    def erase(self, start: int, end: int, *, statement: bool = False) -> None:
        """Blank [start, end) with spaces, line by line, so that every other column stays put; a
        `statement` erasure starts with `;`, so that what follows it cannot join what precedes it
        (`a\\ninterface I {}\\n(b)` must not become a call)."""
        if start >= end:
            return
        self.erased.append((start, end))
        src = self.src
        first = True
        at = start
        while at < end:
            nl = src.find(b"\n", at, end)
            stop = end if nl < 0 else nl
            if stop > at:
                width = len(src[at:stop].decode("utf-8", "surrogatepass").rstrip("\r"))
                text = (";" + " " * (width - 1)) if first and statement else " " * width
                carriage = src[at:stop].endswith(b"\r")
                self.edits.append((at, stop - 1 if carriage else stop, [text], ()))
            first = False
            at = stop + 1

    def is_erased(self, offset: int) -> bool:
        """Does `offset` fall in a range erased so far (`sort_erased` first)?"""
        i = bisect_right(self._erased_starts, offset) - 1
        return i >= 0 and offset < self.erased[i][1]

    def sort_erased(self) -> None:
        self.erased.sort()
        self._erased_starts = [s for s, _ in self.erased]

    def apply(self, edits: Edits) -> None:
        """Put the edits into `edits`, moved ranges rendered from the source and the edits
        inside them (which are then dropped from their original places)."""
        items = sorted(self.edits, key=lambda e: (e[0], e[1]))
        moved = [part for e in items for part in e[2] if isinstance(part, Moved)]
        consumed: set[int] = set()
        rendered: dict[int, str] = {}
        for m in moved:
            rendered[id(m)] = self._render(m, items, consumed)
        for index, (start, end, parts, points) in enumerate(items):
            if index in consumed:
                continue
            text = "".join(rendered[id(p)] if isinstance(p, Moved) else p for p in parts)
            edits.overwrite(start, end, text, *points)

    def _render(self, moved: Moved, items: list[Edit], consumed: set[int]) -> str:
        """The text of a moved range on one line: its edits applied, line breaks turned into
        spaces (the caller erases comments inside it first); the range is blanked where it was."""
        out: list[str] = []
        at = moved.start
        for index, (start, end, parts, _) in enumerate(items):
            if start < moved.start or end > moved.end or (start == end and start in (moved.start, moved.end)):
                continue
            consumed.add(index)
            out.append(self.src[at:start].decode("utf-8", "surrogatepass"))
            out.append("".join(p for p in parts if isinstance(p, str)))
            at = end
        out.append(self.src[at:moved.end].decode("utf-8", "surrogatepass"))
        items.append((moved.start, moved.end, [""], ()))
        return "".join(out).replace("\r", " ").replace("\n", " ").strip()
