"""TypeScript lowering against TypeScript itself, on TypeScript published on npm: every .ts file of
the packages in tests/npm/ts-corpus is lowered by modrun and by TypeScript's transpileModule
(the reference), both outputs are parsed as JavaScript, and their syntax trees must be equal up
to what does not change meaning: comments, semicolons, redundant parentheses, trailing commas,
quote characters and empty `export {}`. Prints `N passed, N failed` per package.

    python -m tests.conformance.typescript [-v] [PACKAGE ...]

(The bounded form, on the smaller packages, is tests/test_typescript_corpus.py.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from runner import ModrunError
from runner.transform.lowering.lower import lower
from runner.transform.lowering.options import LoweringOptions
from runner.transform.repair import parse_module

# package -> (the set in tests/npm that installs it, its TypeScript folder); effect is large, and
# only this full form installs it.
PACKAGES = {
    "rxjs": ("ts-corpus", "rxjs/src"), "@tanstack/query-core": ("ts-corpus", "@tanstack/query-core/src"),
    "immer": ("ts-corpus", "immer/src"), "zod": ("ts-corpus", "zod/src"), "effect": ("ts-corpus-large", "effect/src"),
}
_DROPPED = frozenset({"comment", ";", "empty_statement", "html_comment", "hash_bang_line"})
_CLOSERS = frozenset({")", "]", "}"})


@dataclass
class Score:
    passed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0  # spent lowering


def files_of(installed: Path, package: str) -> list[Path]:
    return sorted(p for p in (installed / "node_modules" / PACKAGES[package][1]).rglob("*.ts")
                  if not p.name.endswith(".d.ts"))


def reference(tools: Path, files: list[Path]) -> dict[str, str | dict[str, str]]:
    """TypeScript's output for each file (its transpileModule, run by Node from `tools`, the
    installed ts-corpus set)."""
    done = subprocess.run(["node", str(tools / "transpile.mjs")], input="\n".join(map(str, files)),
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout)


def shape(code: str) -> tuple[list[str], bool]:
    """The JavaScript syntax tree of `code` as tokens and node kinds, normalised; and whether it
    parsed without error."""
    tree = parse_module(code.encode("utf-8", "surrogatepass")).tree
    out: list[str] = []

    def walk(node: Node) -> None:
        kind = node.type
        if kind in _DROPPED:
            return
        if kind == "parenthesized_expression" and node.named_child_count == 1:
            walk(node.named_children[0])
            return
        if kind == "export_statement" and [c.type for c in node.named_children] == ["export_clause"] and \
                not node.named_children[0].named_child_count:
            return
        if not node.child_count:
            out.append('"' if kind in ("'", '"') else (node.text or b"").decode("utf-8", "replace"))
            return
        out.append("(" + kind)
        for child in node.children:
            walk(child)
        out.append(")")

    walk(tree.root_node)
    tokens = [t for i, t in enumerate(out) if not (t == "," and i + 1 < len(out) and out[i + 1] in _CLOSERS)]
    return tokens, not tree.root_node.has_error


def compare(file: Path, expected: str) -> str | None:
    """None when modrun's lowering of `file` means what TypeScript's output does, else why not."""
    source = file.read_text(encoding="utf-8")
    try:
        lowered = lower(source, str(file), LoweringOptions())
    except ModrunError as error:
        return f"load error: {error.message}" + (f" at {error.extra.get('loc')}" if error.extra.get("loc") else "")
    assert lowered is not None
    mine, clean = shape(lowered[0])
    theirs, _ = shape(expected)
    if mine == theirs and clean:
        return None
    at = next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), min(len(mine), len(theirs)))
    return ("output does not parse; " if not clean else "") + \
        f"first difference: {' '.join(mine[at:at + 12])!r} vs TypeScript {' '.join(theirs[at:at + 12])!r}"


def run(installed: dict[str, Path], packages: list[str]) -> dict[str, Score]:
    """`installed`: the directory of each set of tests/npm the packages need (ts-corpus always)."""
    scores: dict[str, Score] = {}
    for package in packages:
        root = installed[PACKAGES[package][0]]
        files = files_of(root, package)
        expected = reference(installed["ts-corpus"], files)
        score = scores[package] = Score()
        for file in files:
            wanted = expected[str(file)]
            started = time.perf_counter()
            problem = compare(file, wanted) if isinstance(wanted, str) else f"TypeScript failed: {wanted}"
            score.seconds += time.perf_counter() - started
            if problem is None:
                score.passed += 1
            else:
                score.failures.append((str(file.relative_to(root / "node_modules")), problem))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="*", metavar="PACKAGE", help=f"some of: {', '.join(PACKAGES)}")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every failure")
    args = parser.parse_args()
    unknown = sorted(set(args.packages) - set(PACKAGES))
    if unknown:
        parser.error(f"unknown package {', '.join(unknown)}; known: {', '.join(PACKAGES)}")
    sys.path.insert(0, str(Path(__file__).parents[2]))
    from tests.npm_cache import Unavailable, ensure

    packages = args.packages or list(PACKAGES)
    try:
        installed = {name: ensure(name) for name in {"ts-corpus", *(PACKAGES[p][0] for p in packages)}}
    except Unavailable as reason:
        sys.exit(str(reason))
    total = Score()
    for package, score in run(installed, packages).items():
        count = score.passed + len(score.failures)
        print(f"{package}: {score.passed} passed, {len(score.failures)} failed "
              f"({count} files, lowered in {score.seconds:.2f} s)")
        if args.verbose:
            for file, problem in score.failures:
                print(f"  {file}: {problem}")
        total.passed += score.passed
        total.failures += score.failures
    print(f"{total.passed} passed, {len(total.failures)} failed")


if __name__ == "__main__":
    main()
