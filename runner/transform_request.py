"""Vite's transformRequest: load a module through the plugins, transform it, then turn it into
runner format — deduped while in flight, cached per module by content and on disk by hash."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import re
import time
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from .code_frame import code_frame
from .errors import LoadError, Location, ParseError
from .file_identity import Stamp, racy, stamp_of
from .ids import file_of
from .plugin import LoadResult
from .plugins.module_types import split_type
from .resumed import resumed
from .transform.sourcemap import compose, original_point

_MODULE_EXTENSIONS = (".mjs", ".mts", ".json", ".jsx", ".tsx")

if TYPE_CHECKING:
    from .environment import Environment
    from .module_graph import ModuleNode
    from .rpc.payloads import ImportEntry, LinkMeta
    from .transform.ssr_transform import TransformResult


class TransformedModule(NamedTuple):  # not a dataclass: every run makes this class, and a dataclass costs a compile
    code: str
    map: dict[str, Any] | None
    meta: LinkMeta  # link metadata for the module runner
    deps: list[str]
    dynamic_deps: list[str]
    source: str | None  # the loaded source, for code frames (None: found by its stamp, not read: transform_stamps.py)
    source_hash: str
    stamp: Stamp = None  # of the file it was read from (file_identity.py)
    hint: str = "auto"  # format_hint when it was built: a package.json's "type" may change it
    settled: bool = False  # the file had not changed for RACY_S when read: its stamp stands for what was read


def dependency_key(specifier: str, module_type: str | None) -> str:
    """How the runner names a dependency: the specifier, plus the module type asked for with
    `with { type }` (mirrored in runner/js/module_runner/module_runner.js)."""
    return f"{specifier}\0{module_type}" if module_type else specifier


def runner_meta(result: TransformResult) -> LinkMeta:
    """What the JS module runner needs to link a module before running it."""
    exports: dict[str, Any] = {}
    constants = []
    for name, record in result.exports.items():
        if record.kind == "local":
            exports[name] = {"kind": "local", "var": True} if record.hoisted_var else {"kind": "local"}
            if record.constant:
                constants.append(name)
        else:
            exports[name] = {"kind": "indirect", "specifier": record.specifier, "import": record.import_name}
    imports: list[ImportEntry] = [
        {"specifier": r.specifier, "key": dependency_key(r.specifier, r.attributes.get("type")),
         "names": list(r.imported_names), "line": r.line, "column": r.column} for r in result.imports]
    # One dependency per (specifier, module type), in source order: a module may import the same
    # file as code and as text. Each import and export is looked at once, not once per dependency:
    # a barrel (lodash-es, date-fns) has hundreds of each, and the entry's barrel is on every cold
    # import's critical path.
    keys: dict[str, list[str]] = {}
    for entry in imports:
        keys.setdefault(entry["specifier"], []).append(entry["key"])
    untyped = {e.specifier for e in result.exports.values() if e.kind != "local"}
    untyped.update(result.star_exports)
    ordered: dict[str, None] = {}  # a dict for its order, with a set's lookups
    for specifier in result.deps:
        typed = keys.get(specifier)
        if not typed or specifier in typed or specifier in untyped:
            ordered[specifier] = None
        for key in typed or ():
            ordered[key] = None
    deps = list(ordered)
    meta: LinkMeta = {
        "deps": deps,
        "imports": imports,
        "exports": exports,
        "starExports": list(result.star_exports),
        "constants": constants,
        "hasTLA": result.has_tla,
    }
    awaits = prologue_awaits(result.code) if imports else None
    if awaits is not None:
        meta["awaits"] = awaits
    return meta


_GATE = "await __vite_ssr_import_meta__;"


def prologue_awaits(code: str) -> list[int] | None:
    """Where the prologue's `await`s are (the gate last), as offsets in UTF-16 code units (the
    runner's string indexes), or None when the code has none: what the runner's evaluator would
    find by scanning the code (prologueAwaits in runner/js/module_runner/esm_evaluator.js, the same
    walk), found once here, where it costs microseconds, rather than in every runtime that imports
    the module."""
    found: list[int] = []
    at = code.find("await ")
    opening = code.find('"')
    while True:
        if at < 0:
            return None
        if 0 <= opening < at:
            end = _string_end(code, opening + 1)
            if end < 0:
                return None
            opening = code.find('"', end + 1)
            if at <= end:  # that one was inside the string
                at = code.find("await ", end + 1)
            continue
        found.append(at)
        if code.startswith(_GATE, at):
            break
        at = code.find("await ", at + 1)
    prologue = code[:at]
    if not prologue.isascii():  # characters beyond the BMP take two code units in JS
        found = [len(code[:offset].encode("utf-16-le")) // 2 for offset in found]
    return found


def _string_end(code: str, start: int) -> int:
    """The closing quote of a JSON string whose text begins at `start`, or -1."""
    while True:
        closing = code.find('"', start)
        if closing < 0:
            return -1
        escapes = 0
        while code[closing - 1 - escapes] == "\\":
            escapes += 1
        if escapes % 2 == 0:
            return closing
        start = closing + 1


def _import_in_source(entry: ImportEntry, map_: dict[str, Any]) -> ImportEntry:
    """An import's position in the loaded source, through the plugins' map (line 0 for an import a
    plugin added, which has none)."""
    point = original_point(map_, entry["line"], entry["column"] - 1) if entry["line"] else None
    line, column = (point[0], point[1] + 1) if point is not None else (0, 0)
    return {**entry, "line": line, "column": column}


def _in_source(error: ParseError, map_: dict[str, Any] | None, source: str, id: str) -> ParseError:
    """A syntax error of module `id` (the transform names it by its ModuleNode.source_name),
    located in the loaded source where the plugins' map says."""
    if error.loc is None or error.frame is None:
        return error
    point = original_point(map_, error.loc.line, error.loc.column - 1) if map_ is not None else None
    if point is None:
        return ParseError(error.message, loc=error.loc, frame=error.frame, id=id, code=error.code)
    line, column = point[0], point[1] + 1
    return ParseError(error.message, loc=Location(error.loc.file, line, column),
                      frame=code_frame(source, line, column), id=id, code=error.code)


def format_hint(environment: Environment, id: str) -> str:
    """"commonjs" or "module" where the id says which, as Node decides (the extension, else the
    nearest package.json's "type"), else "auto": the module's syntax decides (runner_format)."""
    return id_hint(id) or _scope_hint(environment, file_of(id))


def id_hint(id: str) -> str:
    """The format the id alone fixes: "module", "commonjs", or "" where its package's "type" decides."""
    path, module_type = split_type(id)
    file = file_of(path)
    if module_type is not None or file.endswith(_MODULE_EXTENSIONS):
        return "module"
    if file.endswith((".cjs", ".cts")):
        return "commonjs"
    if id.startswith("\0") or not os.path.isabs(file):
        return "module"
    return ""


def _scope_hint(environment: Environment, file: str) -> str:
    scope = environment.packages.scope(file)
    return "module" if scope is not None and scope.type == "module" else "auto"


def node_hint(environment: Environment, node: ModuleNode) -> str:
    """format_hint of a node's id, the id's part found once per node."""
    fixed = node.id_hint
    if fixed is None:
        fixed = node.id_hint = id_hint(node.id)
    return fixed or _scope_hint(environment, file_of(node.id))


@functools.cache
def _cjs_words() -> re.Pattern[str]:
    """Compiled by the first transform, not by every process that imports this (a warm run has none)."""
    return re.compile(r"\b(?:require|module|exports|__filename|__dirname)\b")


def runner_format(code: str, file: str, hint: str) -> dict[str, Any]:
    """The cached entry of a module: its runner-format code, map, link metadata and dynamic
    imports. Ambiguous files are CommonJS when their syntax says so (module_syntax): ES module
    syntax wins, and code with neither stays an ES module (strict, as modrun ran it before)."""
    # Imported here: a run whose transforms all come from the cache never loads the parser.
    parsed = None
    if hint == "commonjs" or (hint == "auto" and _cjs_words().search(code)):
        from .transform.cjs_transform import cjs_transform, module_syntax
        from .transform.parser import parse_javascript

        src = code.encode("utf-8", "surrogatepass")
        tree = parse_javascript(src)
        root = tree.root_node
        if hint == "commonjs" or module_syntax(src, root) == "commonjs":
            if hint == "commonjs":
                _no_module_syntax(code, src, root, file)
            out, map_, meta, dynamic = cjs_transform(code, file, src, root)
            return {"code": out, "map": map_, "meta": meta, "dynamic_deps": dynamic}
        parsed = src, tree  # an ES module after all: its tree serves the transform too
    from .transform.ssr_transform import ssr_transform

    result = ssr_transform(code, file, parsed)
    return {"code": result.code, "map": result.map, "meta": runner_meta(result),
            "dynamic_deps": list(result.dynamic_deps)}


def _no_module_syntax(code: str, src: bytes, root: Any, file: str) -> None:
    """A CommonJS file by its name (.cjs, .cts) holding an import or export declaration fails as
    in Node, with Node's message, located, and what to do instead."""
    from .transform.early_errors import parse_error

    for child in root.children:
        if child.type in ("import_statement", "export_statement"):
            keyword = "import" if child.type == "import_statement" else "export"
            message = ("Cannot use import statement outside a module" if keyword == "import"
                       else "Unexpected token 'export'")
            extension = os.path.splitext(file)[1]
            raise parse_error(code, src, child.start_byte, f"{message} ({file} is CommonJS by its {extension} "
                              "extension: use require and module.exports, or name it "
                              f"{'.mts' if extension == '.cts' else '.mjs'})", file)


async def load_source(environment: Environment, id: str) -> LoadResult:
    loaded = await environment.plugin_container.load(id)
    return loaded if loaded is not None else read_source(id)


def read_source(id: str) -> LoadResult:
    """A module's file, read on the loop's thread: module files are small, and a thread hop
    costs more than the read."""
    if id.startswith("\0") or not os.path.isabs(id):
        raise LoadError(f"no plugin could load {id!r}", code="ERR_LOAD", id=id)
    try:
        # Bytes decoded at once, newlines translated as text mode does (universal newlines): a text
        # file object costs more to set up than the read of a small module.
        text = _read_bytes(file_of(id)).decode("utf-8")
        return LoadResult(text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text)
    except FileNotFoundError:
        raise LoadError(f"Cannot find module '{id}'", code="ERR_MODULE_NOT_FOUND", id=id) from None
    except UnicodeDecodeError as error:
        data, at = error.object, error.start
        line, column = data.count(b"\n", 0, at) + 1, at - data.rfind(b"\n", 0, at)
        raise LoadError(f"cannot read {id}: it is not UTF-8 text (byte 0x{data[at]:02x} at line {line}, column "
                        f"{column})", code="ERR_LOAD", id=id) from None
    except OSError as error:
        raise LoadError(f"cannot read {id}: {error}", code="ERR_LOAD", id=id) from None


_CHUNK = 1 << 16


def _read_bytes(path: str) -> bytes:
    """A file's bytes in four system calls (open, read, the read that finds the end, close) where a
    binary file object makes nine (its fstat, isatty and lseeks): on a cold run, once per module."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
    except OSError as error:
        error.filename = path  # named as open() names it: "[Errno 21] Is a directory: '<path>'"
        raise
    finally:
        os.close(fd)
    return b"".join(chunks)


async def transform_request(environment: Environment, node: ModuleNode) -> TransformedModule:
    """The module's transform, one at a time per module: a caller that finds one under way waits
    for it. The first caller runs it itself, in the caller's task, not a new one: a module whose file
    is unchanged answers without suspending, so a warm graph of N modules costs no event-loop turn
    per module (a task and a shield cost three), and, stepped by hand, no future either: others can
    find a transform under way only once it has suspended. Should that caller be cancelled mid-way,
    a waiter takes the work over rather than failing with it."""
    inflight = environment._transforms_in_flight
    while (pending := inflight.get(node.id)) is not None:
        try:
            return await asyncio.shield(pending)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not pending.cancelled() or (task is not None and task.cancelling()):
                raise  # this caller was cancelled, not the transform it waited for
    work = _transform(environment, node)
    try:
        waiting_on = work.send(None)
    except StopIteration as done:
        module: TransformedModule = done.value
        return module
    future: asyncio.Future[TransformedModule] = asyncio.get_running_loop().create_future()
    inflight[node.id] = future
    try:
        module = await resumed(work, waiting_on)
    except asyncio.CancelledError:
        future.cancel()
        raise
    except BaseException as error:
        future.set_exception(error)
        future.exception()  # read here: a failure no one waited for is not "never retrieved"
        raise
    finally:
        inflight.pop(node.id, None)
    future.set_result(module)
    return module


async def _new_entry(environment: Environment, key: str, transformed: LoadResult, id: str, file: str, hint: str,
                     source: str) -> dict[str, Any]:
    """A module's runner format, made by the transform worker when it takes it (transform_worker.py),
    else here; stored in the transform cache."""
    cache = environment.server.transform_cache
    encoded = await environment.server.transform_worker.transform(transformed.code, file, hint)
    if encoded is not None:
        cache.put_encoded(key, encoded)
        stored: dict[str, Any] = orjson.loads(encoded)
        return stored
    try:
        stored = runner_format(transformed.code, file, hint)
    except ParseError as error:
        raise _in_source(error, transformed.map, source, id) from None
    cache.put(key, stored)
    return stored


async def _transform(environment: Environment, node: ModuleNode) -> TransformedModule:
    cached: TransformedModule | None = node.transform_result
    hint = node_hint(environment, node)
    if cached is not None and cached.hint != hint:
        cached = None
    plugin_loaded = await environment.plugin_container.load(node.id)
    stamp = stamped = None
    began = time.time_ns()
    if plugin_loaded is None and node.file is not None:
        # A file whose stamp is unchanged since it was read, settled then, is not read again.
        stamp = stamp_of(node.file)
        if cached is not None and cached.settled and stamp is not None and cached.stamp == stamp:
            return cached
        if cached is None:  # nor, in a new process, one that an earlier process read
            stamped = environment.transform_stamps.key(node.id, node.file, hint, stamp)
            found = environment.transform_stamps.find(stamped, stamp)
            if found is not None:  # a row is of a settled file
                entry, source_hash = found
                module = TransformedModule(code=entry["code"], map=entry["map"], meta=entry["meta"],
                                           deps=entry["meta"]["deps"], dynamic_deps=entry["dynamic_deps"],
                                           source=None, source_hash=source_hash, stamp=stamp, hint=hint, settled=True)
                node.transform_result = module
                return module
    settled = stamp is not None and not racy(stamp, began)
    loaded = plugin_loaded if plugin_loaded is not None else read_source(node.id)
    source_hash = hashlib.sha1(loaded.code.encode("utf-8", "surrogatepass")).hexdigest()
    if cached is not None and cached.source_hash == source_hash:
        if cached.stamp is not None and (cached.stamp, cached.settled) != (stamp, settled):
            # the same code under a new stamp (touched, or settled since): kept, so the next fetch
            # need not read it (a stamp a hot update took away stays away: hmr/hot_update.py)
            cached = node.transform_result = cached._replace(stamp=stamp, settled=settled)
        return cached
    transformed = await environment.plugin_container.transform(loaded, node.id)
    cache = environment.server.transform_cache
    key = cache.key(f"{node.id}\0{hint}", transformed.code)
    stored = cache.get(key)
    if stored is None:
        stored = await _new_entry(environment, key, transformed, node.id, node.source_name, hint,
                                  loaded.code)
    if stamped is not None and transformed.map is None and transformed.code == loaded.code:
        environment.transform_stamps.keep(stamped, stamp, began, key, source_hash)
    map_ = stored["map"]
    meta = stored["meta"]
    if transformed.map is not None and map_ is not None:
        map_ = compose(map_, transformed.map)
        meta = {**meta, "imports": [_import_in_source(entry, transformed.map) for entry in meta["imports"]]}
        if "requires" in meta:
            meta["requires"] = [_import_in_source(entry, transformed.map) for entry in meta["requires"]]
    module = TransformedModule(code=stored["code"], map=map_, meta=meta, deps=stored["meta"]["deps"],
                               dynamic_deps=stored["dynamic_deps"], source=loaded.code, source_hash=source_hash,
                               stamp=stamp, hint=hint, settled=settled)
    node.transform_result = module
    return module
