"""The static check of a module graph: from ENTRY through the environment's own resolution (its
plugins: conditions, `exports` / `imports`, aliases, tsconfig paths, TypeScript and JSX, CommonJS
`require`s), each module loaded and transformed by the plugins once and scanned (scan.py), never
evaluated. The walk is breadth first, so each module's chain from ENTRY is a shortest one."""

from __future__ import annotations

import bisect
import os
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..code_frame import code_frame
from ..errors import LoadError, ModrunError
from ..ids import file_of, shown
from ..plugins.module_types import split_type
from ..transform.sourcemap import original_point
from ..transform_request import format_hint, load_source, transform_request
from .config import CheckConfig
from .findings import Finding, Location, Report
from .globals import node_global_hints, provided_globals
from .rules import RULES
from .scan import scan

if TYPE_CHECKING:
    from ..environment import Environment


async def analyze(environment: Environment, entry: str, config: CheckConfig) -> Report:
    """The findings of the graph under ENTRY (an absolute path, a path relative to the root, or a
    root-relative url). An ENTRY that does not resolve raises the environment's LoadError, as
    `modrun run` would."""
    started = time.perf_counter()
    walk = _Walk(environment, config, await provided_globals(environment))
    if not os.path.isabs(entry) and (environment.root / entry).is_file():
        entry = "/" + Path(entry).as_posix().removeprefix("./")
    entry_id = await environment.resolve(environment._entry_url(entry))
    await walk.run(entry_id)
    return Report(entry=walk.name(entry_id), profile=environment.profile, findings=walk.findings,
                  modules=len(walk.parent), allowed=walk.allowed, duration_ms=(time.perf_counter() - started) * 1000)


class _Walk:
    def __init__(self, environment: Environment, config: CheckConfig, provided: frozenset[str]) -> None:
        self.environment = environment
        self.config = config
        self.provided = provided
        self.hints = node_global_hints()
        self.node_globals = frozenset(self.hints)
        self.root = str(environment.root)
        self.parent: dict[str, str | None] = {}
        self.findings: list[Finding] = []
        self.allowed = 0

    async def run(self, entry_id: str) -> None:
        self.parent[entry_id] = None
        queue = deque([entry_id])
        while queue:
            first = len(self.findings)
            queue.extend(await self.module(queue.popleft()))
            # A module's findings in source order (imports, uses and calls are found apart).
            self.findings[first:] = sorted(self.findings[first:], key=_position)

    def name(self, id: str) -> str:
        """A module's root-relative posix path (its id, for a virtual module: without the `\\0` that marks it)."""
        file = file_of(id)
        if id.startswith("\0") or not os.path.isabs(file):
            return shown(id)
        try:
            return Path(file).relative_to(self.root).as_posix()
        except ValueError:
            return Path(file).as_posix()

    def chain(self, id: str) -> tuple[str, ...]:
        chain: list[str] = []
        at: str | None = id
        while at is not None:
            chain.append(self.name(at))
            at = self.parent[at]
        return tuple(reversed(chain))

    async def module(self, id: str) -> list[str]:
        """Scan one module; the ids of the dependencies not met before."""
        if split_type(id)[1] is not None:
            return []  # JSON, text, bytes: data, no code
        environment = self.environment
        try:
            loaded = await load_source(environment, id)
            transformed = await environment.plugin_container.transform(loaded, id)
        except ModrunError as error:
            self.report("load-error", id, None, {"reason": error.message.splitlines()[0]})
            return []
        positions = _Positions(transformed.code, transformed.map, loaded.code)
        found = scan(transformed.code, self.provided, format_hint(environment, id), self.node_globals)
        if found.broken:
            try:
                await transform_request(environment, environment.module_graph.ensure_entry_from_id(id))
            except LoadError as error:
                loc = error.loc
                where = Location(self.name(id), loc.line, loc.column, error.frame or "") if loc is not None else None
                self.report("load-error", id, where, {"reason": error.message.splitlines()[0]})
                return []
        if found.commonjs:
            self.report("commonjs-module", id, (positions, 0), {})
        seen: set[tuple[str, str, int]] = set()
        for hit in found.hits:
            fields = dict(hit.fields)
            if "name" in fields:
                # One finding per name and line: `typeof module == 'object' && module && module.x` is one use.
                key = (hit.rule, fields["name"], positions.row(hit.start))
                if key in seen:
                    continue
                seen.add(key)
            if hit.rule == "node-global":
                hint = self.hints.get(fields["name"].rpartition(".")[2])
                fields["hint"] = f": {hint}" if hint else ""
            self.report(hit.rule, id, (positions, hit.start), fields)
        new: list[str] = []
        for specifier, offset, kind in found.specifiers:
            try:
                dep = await environment.resolve(specifier, id, kind)
            except ModrunError as error:
                code = getattr(error, "code", None)
                rule = "node-builtin-import" if code == "ERR_NODE_BUILTIN" else "unresolved-import"
                self.report(rule, id, (positions, offset),
                            {"specifier": specifier, "reason": error.message.splitlines()[0]})
                continue
            if dep not in self.parent:
                self.parent[dep] = id
                new.append(dep)
        return new

    def report(self, rule_id: str, id: str, where: tuple[_Positions, int] | Location | None,
               fields: dict[str, str]) -> None:
        config = self.config
        if not config.enabled(rule_id):
            return
        rule = RULES[rule_id]
        file = self.name(id)
        location = where[0].location(file, where[1]) if isinstance(where, tuple) else where
        severity: Any = config.severity.get(rule_id, rule.severity)
        finding = Finding(rule=rule_id, severity=severity,
                          message=rule.message.format(profile=self.environment.profile, **fields),
                          location=location, chain=self.chain(id), package=_package(file))
        if config.allows(finding):
            self.allowed += 1
        else:
            self.findings.append(finding)


class _Positions:
    """Byte offsets in the plugins' output -> 1-based line and column in the loaded source."""

    def __init__(self, code: str, map_: dict[str, Any] | None, source: str) -> None:
        self.src = code.encode("utf-8", "surrogatepass")
        self.map = map_
        self.source = source
        self.starts = [0]
        at = self.src.find(b"\n")
        while at >= 0:
            self.starts.append(at + 1)
            at = self.src.find(b"\n", at + 1)

    def row(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def location(self, file: str, offset: int) -> Location | None:
        row = self.row(offset)
        start = self.starts[row]
        line, column = row + 1, len(self.src[start:offset].decode("utf-8", "replace"))
        if self.map is not None:
            point = original_point(self.map, line, column)
            if point is None:
                return None  # code a plugin added
            line, column = point
        return Location(file, line, column + 1, code_frame(self.source, line, column + 1))


def _position(finding: Finding) -> tuple[int, int]:
    return (finding.location.line, finding.location.column) if finding.location is not None else (0, 0)


def _package(file: str) -> str | None:
    """The npm package a root-relative file belongs to (the innermost node_modules), or None."""
    parts = file.split("/")
    if "node_modules" not in parts:
        return None
    at = len(parts) - 1 - parts[::-1].index("node_modules")
    name = parts[at + 1:at + 3] if at + 1 < len(parts) and parts[at + 1].startswith("@") else parts[at + 1:at + 2]
    return "/".join(name) or None
