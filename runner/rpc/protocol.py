"""The protocol between an environment and the module runners it serves, declared once.

Messages are Vite's. A request is
`{"type": "custom", "event": "vite:invoke", "data": {"name", "id": "send:N", "data": [args]}}` and
its answer `{"type": "custom", "event": "vite:invoke", "data": {"name", "id": "response:N",
"data": {"result": ...} | {"error": ErrorPayload}}}`. Either side may invoke the other:

- a runtime invokes its environment (`ENVIRONMENT_METHODS`): `fetchModule` for every module it
  loads (and `fetchCode` for the code of those it was sent as keys: code_keys.py); a remote Vite
  runner also asks `getBuiltins`; and the host capabilities of its profile
  (`CAPABILITY_METHODS`: `fetch`, `subtle`) and the host's bindings (`BINDINGS_METHOD`, in every
  profile), the runtime's only ways out of its sandbox, answered by runner/capabilities/;
- the host invokes the runtime's module runner (`RUNTIME_METHODS`, answered by
  runner/js/host_api.js): import a module, call an export, read a binding, run a script.

Besides requests the runtime sends events (`CONSOLE_EVENT`, `LIMIT_EVENT`, `TIMERS_EVENT`); the host
sends a new runtime its entropy (`SEED_EVENT`) before anything else and wakes an idle runtime whose
timer is due with `WAKE_EVENT`. Runtimes also send custom events of `import.meta.hot.send`; HMR
payloads (`HotPayload`: Vite's `update`, `full-reload`, `prune`, `error`, `custom`) reach a runtime
through the `hmr` method and remote runners over WebSocket. The JS side gets the names from here
too (`js_constants`,
bundled into every runtime by runner/js/bundle.py).

The payloads' shapes (`ErrorPayload`, `FetchedModule`, `LinkMeta`…) are typed dicts in payloads.py,
which only type checking loads: at run time they are plain dicts, and making the classes would cost
every process a millisecond and a half.

`answer_invoke` is the one place a request is answered: the in-memory runner client and the
WebSocket server both use it, so an unknown method is the same error everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ModrunError, UsageError

if TYPE_CHECKING:
    from .payloads import ErrorPayload

Message = dict[str, Any]
Handler = Callable[..., Any]

INVOKE_EVENT = "vite:invoke"
#: what the host may invoke on a runtime's module runner
RUNTIME_METHODS = ("import", "call", "awaitCall", "get", "evalScript", "clearCache", "pendingTimers", "hmr",
                   "globalNames", "regExpError",
                   # fetch-handler dispatch (runner/dispatch.py; edge profile only)
                   "dispatchFetch", "readBody", "cancelBody", "settleWaits")
#: host capabilities a profile may declare (runner/js/profiles.py), invoked by the runtime:
#: `fetch(FetchRequestPayload) -> FetchResponsePayload`, `subtle(operation, ...args)` (Web Crypto)
CAPABILITY_METHODS = ("fetch", "subtle")
#: the host's bindings, in every profile: `bindings("describe") -> {values, functions}` and
#: `bindings("call", name, args) -> result` (runner/capabilities/bindings.py, runner/js/bindings.js)
BINDINGS_METHOD = "bindings"
#: what a module runner may invoke on its environment
ENVIRONMENT_METHODS = ("fetchModule", "fetchCode", "getBuiltins", *CAPABILITY_METHODS, BINDINGS_METHOD)
#: the virtual module whose default export is the bindings' `env` object, and its id
ENV_MODULE = "modrun:env"
ENV_MODULE_ID = "\0" + ENV_MODULE
#: `{level, text}`: console output of the runtime
CONSOLE_EVENT = "modrun:console"
#: `{limit, message}`: the runtime exceeded a limit it enforces itself (console output)
LIMIT_EVENT = "modrun:limit"
#: `{seed}` (hex): the host's entropy for a new runtime's crypto.getRandomValues, sent before any
#: other message, so that it is never part of a snapshot
SEED_EVENT = "modrun:seed"
#: `{delay}`: when the runtime's event loop wants its next turn, in milliseconds from now (0: at
#: once), or null once nothing is scheduled; sent at the end of a turn whenever that changed
TIMERS_EVENT = "modrun:timers"
#: sent to an idle runtime when its timer is due: any message makes it run a turn, this one only that
WAKE_EVENT = "modrun:wake"
#: what the runtime's `drain` answers (instead of its outbox) when it ran a task: the engine runs the
#: microtasks, then calls `drain` again (runner/js/event_loop.js)
DRAIN_AGAIN = "+"
#: what `drain` answers when the runtime waits for wrappers its engine compiles: the engine serves
#: them, runs the microtasks, then calls `drain` again (runner/js/module_runner/host_compiler.js)
DRAIN_COMPILE = "?"
#: the `code` of the error answering a method nobody handles
UNKNOWN_METHOD = "ERR_UNKNOWN_METHOD"


#: any of Vite's HMR payloads: `update`, `full-reload {triggeredBy, path}`, `prune {paths}`,
#: `error {err}` (an ErrorPayload with `loc` and `frame`), `custom {event, data}`, `connected`
HotPayload = dict[str, Any]


def invoke_message(name: str, call_id: int, args: list[Any]) -> Message:
    return {"type": "custom", "event": INVOKE_EVENT, "data": {"name": name, "id": f"send:{call_id}", "data": args}}


def response_message(name: str, request_id: str, body: dict[str, Any]) -> Message:
    return {"type": "custom", "event": INVOKE_EVENT,
            "data": {"name": name, "id": "response:" + request_id.removeprefix("send:"), "data": body}}


def request_of(message: Message) -> dict[str, Any] | None:
    """The invoke request a message carries (`{name, id: "send:N", data}`), if it is one."""
    data = message.get("data")
    if message.get("event") == INVOKE_EVENT and isinstance(data, dict) and str(data.get("id", "")).startswith("send:"):
        return data
    return None


def error_payload(error: BaseException) -> ErrorPayload:
    """An exception raised while answering a request, as data. modrun's own errors keep their
    kind; anything else is a bug in a handler, reported to the caller as a crash."""
    if isinstance(error, ModrunError):
        return error.to_payload()  # type: ignore[return-value]
    name = type(error).__name__
    return {"name": name, "message": str(error), "stack": f"{name}: {error}", "kind": "crash"}


def unknown_method(name: str, known: Mapping[str, Handler]) -> UsageError:
    listed = ", ".join(sorted(known)) or "none"
    return UsageError(f"no invoke method named {name!r} here (known: {listed})", code=UNKNOWN_METHOD)


async def answer_invoke(handlers: Mapping[str, Handler], request: dict[str, Any]) -> Message:
    """Run the handler a request names and build its response message; a failure (an unknown
    method included) is answered as an error, never raised."""
    import inspect  # here, as orjson in check_json: a process-evaluator worker imports this file for its constants

    name = str(request.get("name"))
    args = request.get("data")
    try:
        handler = handlers.get(name)
        if handler is None:
            raise unknown_method(name, handlers)
        result = handler(*(args if isinstance(args, list) else []))
        if inspect.isawaitable(result):
            result = await result
        body: dict[str, Any] = {"result": result}
    except Exception as error:  # a handler's failure is the caller's answer, not the host's crash
        body = {"error": error_payload(error)}
    return response_message(name, str(request.get("id")), body)


def check_json(args: list[Any]) -> None:
    """Arguments for the runtime must be JSON: say so before anything is sent."""
    import orjson

    try:
        orjson.dumps(args)
    except orjson.JSONEncodeError as error:
        raise TypeError(f"arguments must be JSON-serialisable: {error}") from None


def js_constants() -> dict[str, Any]:
    """The protocol's names as the JS side sees them (the bundle's `PROTOCOL` constant)."""
    return {"invokeEvent": INVOKE_EVENT, "runtimeMethods": list(RUNTIME_METHODS),
            "environmentMethods": list(ENVIRONMENT_METHODS), "consoleEvent": CONSOLE_EVENT,
            "limitEvent": LIMIT_EVENT, "seedEvent": SEED_EVENT, "timersEvent": TIMERS_EVENT,
            "drainAgain": DRAIN_AGAIN, "drainCompile": DRAIN_COMPILE,
            "unknownMethod": UNKNOWN_METHOD, "envModuleId": ENV_MODULE_ID}
