"""The shapes of the protocol's payloads (protocol.py), as typed dicts: for type checking. At run
time they are plain dicts, built as literals; modules name these types in annotations and import
them under TYPE_CHECKING, so that a run does not make the classes (a typed dict costs about 0.1 ms
to make, these fifteen 1.5 ms of every process)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class ErrorPayload(TypedDict, total=False):
    """An error as data: Vite's `{name, message, stack}`, modrun's `kind` (js, usage, load, limit,
    crash) and whatever else the error carries (`code`, `loc`, `frame`, `importer`, `limit`…)."""

    name: str
    message: str
    stack: str
    kind: str
    code: str


class ImportEntry(TypedDict):
    """A static import or re-export, as the runner links it."""

    specifier: str
    key: str  # the specifier, plus "\0<type>" for an import with a module type
    names: list[str]
    line: int
    column: int


class RequireEntry(TypedDict):
    """A literal `require("…")` call of a CommonJS module."""

    specifier: str
    line: int
    column: int


class LinkMeta(TypedDict):
    """What the JS module runner needs to link a module before running it (`FetchResult.modrun`)."""

    deps: list[str]
    imports: list[ImportEntry]
    # name -> {kind: local, var?: true (undefined, not in a TDZ, before the module runs)}
    #   | {kind: indirect, specifier, import}
    exports: dict[str, dict[str, Any]]
    starExports: list[str]
    constants: list[str]
    hasTLA: bool
    awaits: NotRequired[list[int]]  # where the prologue's awaits are in the code, the gate last (UTF-16 offsets)
    resolved: NotRequired[dict[str, str]]  # dependency key (or literal import() specifier) -> its url
    hot: NotRequired[bool]  # HMR is on and the code uses import.meta.hot: it gets a hot context
    importMeta: NotRequired[bool]  # False: the code reads import.meta nowhere but at its gate (none is made)
    # CommonJS modules (runner/transform/cjs_transform.py, runner/js/module_runner/commonjs.js):
    format: NotRequired[str]  # "commonjs"; absent for an ES module
    requires: NotRequired[list[RequireEntry]]  # the literal require() calls, fetched with the module
    required: NotRequired[dict[str, str]]  # require specifier -> the url it resolved to
    resolves: NotRequired[list[str]]  # the literal require.resolve() calls
    reexports: NotRequired[list[str]]  # modules whose named exports are also this one's (Node's lexer)
    dynamicImport: NotRequired[bool]  # the code calls import()
    unresolved: NotRequired[dict[str, ErrorPayload]]  # require specifier -> why it did not resolve
    files: NotRequired[dict[str, str]]  # require.resolve specifier -> the file it names
    objects: NotRequired[int]  # as sent: no fewer than the JSON objects it is, itself among them (sent_module.py)


class FetchedModule(TypedDict):
    """`fetchModule`'s answer for a module to evaluate."""

    code: str
    file: str | None
    id: str
    url: str
    invalidate: bool
    map: NotRequired[str]  # when the runner asked for the map as a field: its JSON text (sent_module.py)
    codeKey: NotRequired[str]  # to a runner that asked with codeKeys: in place of `code`, or with it (code_keys.py)
    modrun: dict[str, Any]  # LinkMeta, as sent (sent_module.py)
    # modrun's runner asked with `graph`: its static dependencies' answers too (runner/rpc/graph_fetch.py)
    graph: NotRequired[list[FetchedModule]]


class CachedModule(TypedDict):
    """`fetchModule`'s answer when the runner's copy is current."""

    cache: Literal[True]


FetchResult = FetchedModule | CachedModule


class FetchOptions(TypedDict, total=False):
    """`fetchModule`'s third argument."""

    cached: bool
    startOffset: int  # lines the runner's wrapper puts before line 1 (the source map accounts for them)
    inlineSourceMap: bool
    attributes: dict[str, str]
    graph: GraphRequest  # modrun's extension: answer with the warm static graph too (runner/rpc/graph_fetch.py)
    codeKeys: str  # with `graph`: "instead" of code, or "alongside" it, keys to wrappers (code_keys.py)


class GraphRequest(TypedDict):
    """What modrun's runner sends as `graph` in a fetch's options: the modules it forgot since its last
    fetch (ids), or `clear`: all it held."""

    forget: list[str]
    clear: NotRequired[bool]


class FetchRequestPayload(TypedDict):
    """`fetch`'s argument: a Request, its body read whole (base64, or None)."""

    url: str
    method: str
    headers: list[list[str]]  # [name, value] pairs, names lowercase, in order
    body: str | None
    redirect: str  # follow | error | manual


class FetchResponsePayload(TypedDict):
    """`fetch`'s answer: a Response, its body whole (base64)."""

    url: str
    status: int
    statusText: str
    headers: list[list[str]]
    body: str
    redirected: bool


class PendingTimer(TypedDict, total=False):
    """A timer still pending in a runtime (`pendingTimers`): which function set it, its delay in
    milliseconds (after clamping), how long until it is due, its callback's name and where that
    callback is defined (`file:line:column`, when it is in a module)."""

    kind: str  # setTimeout | setInterval
    delay: float
    remaining: float
    callback: str
    at: str


class ImportAnswer(TypedDict):
    """The runtime's answer to `import`: the module's url, its export names and their values as
    data (functions as `{"$modrun": "function", path, name}` markers)."""

    url: str
    exports: list[str]
    values: dict[str, Any]


class Update(TypedDict):
    """One module to update: `path` is the boundary, `acceptedPath` the module it accepts (itself
    when self-accepting)."""

    type: Literal["js-update"]
    timestamp: int
    path: str
    acceptedPath: str
    explicitImportRequired: bool
    isWithinCircularImport: bool
    firstInvalidatedBy: NotRequired[str]


class UpdateExtras(TypedDict):
    """modrun's addition to an `update` payload (other runners ignore it): the urls of every
    module whose instance is stale, from the changed modules up to the accepted ones."""

    invalidated: list[str]


class UpdatePayload(TypedDict):
    type: Literal["update"]
    updates: list[Update]
    modrun: NotRequired[UpdateExtras]
