"""Code frames: the few source lines around an error position, with a caret under the column."""

from __future__ import annotations


def code_frame(source: str, line: int, column: int, *, context: int = 2) -> str:
    """Lines around `line` (1-based) with a `^` under `column` (1-based), gutter-numbered."""
    lines = source.splitlines() or [""]
    line = max(1, min(line, len(lines)))
    first, last = max(1, line - context), min(len(lines), line + context)
    width = len(str(last))
    out = []
    for n in range(first, last + 1):
        marker = ">" if n == line else " "
        out.append(f"{marker} {n:>{width}} | {lines[n - 1].expandtabs(4)}")
        if n == line:
            prefix = lines[n - 1][: max(0, column - 1)].expandtabs(4)
            out.append(f"  {' ' * width} | {' ' * len(prefix)}^")
    return "\n".join(out)
