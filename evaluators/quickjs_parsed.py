"""Large messages to an in-process runtime delivered from a parse kept in memory, where the same text
was sent before.

The host's answer to a fresh runtime's graph fetch (runner/rpc/graph_fetch.py) is the same text each
time a graph is imported unchanged: about 0.9 MB for the 500-module tree or lodash-es, mostly link
metadata, whose JSON.parse cost each import 5-10 ms. The second time such a text is seen, the engine
parses it (its own JSON.parse, which module code cannot reach) and the parsed value is written with
JS_WriteObject into the process's code cache (compiled_code.py), under the text itself, compared
exactly as wrapper sources are (a message is a JSON array: no source or key starts as one does).
Later, JS_ReadObject makes the same value again in about a third of the time, and the runtime's
`deliver` takes it as `receive` takes what it parses (runner/js/transport.js): JS_ReadObject defines
the properties and elements as JSON.parse does, on new objects and arrays with the context's own
prototypes, so what the runtime then does with them (make them null-prototype, dispatch them) is the
same.

Written and read without JS_WRITE_OBJ_BYTECODE: data only, no function can come out of it. Kept in
memory only, never in a disk store. Where it cannot be used (compiled code off, a value that cannot
be written or read) the text is delivered as before.
"""

from __future__ import annotations

from collections.abc import Callable

import _quickjs

from .compiled_code import CodeCache
from .quickjs_bytecode import (
    JS_TAG_EXCEPTION,
    UNDEFINED,
    Api,
    JSValue,
    _pointers,
    _value,
    exception_text,
    write_bytecode,
)

#: shorter texts are parsed each time: too small for the kept parse to pay for the cache's lookup
MIN_CHARS = 64 * 1024


class ParsedMessages:
    """Delivers one runtime's messages (JSON text) through its entry points `receive` (the text) and
    `deliver` (the parsed messages), from the parse the cache keeps where it has one."""

    def __init__(self, api: Api, context: _quickjs.Context, cache: CodeCache, build: Callable[[], str],
                 receive: _quickjs.Object, deliver: _quickjs.Object) -> None:
        self.api = api
        self.context = context
        self.runtime_ptr, self.context_ptr = _pointers(context)
        self.cache = cache
        #: the engine build, as the runtime's compiler knows it (remembered by its store: digesting the
        #: engine's binary costs about 13 ms, which a command-line run must not pay for a message it sees once)
        self.build = build
        self.receive = receive
        self.deliver = deliver

    def __call__(self, text: str) -> None:
        if len(text) < MIN_CHARS:
            self.receive(text)
            return
        build = self.build()
        code = self.cache.get(build, text)
        if code is not None and self._deliver_read(code):
            return
        if code is not None or not self.cache.wanted(text):
            self.receive(text)
            return
        parsed = self.context.parse_json(text)
        code = write_bytecode(self.api, self.context_ptr, _value(parsed), 0)
        if code is not None:
            self.cache.put(build, text, code)
        self.deliver(parsed)

    def _deliver_read(self, code: bytes) -> bool:
        """Deliver the value `code` holds; False where it cannot be read (nothing was delivered)."""
        api, ctx = self.api, self.context_ptr
        api.update_stack_top(self.runtime_ptr)
        value = api.read_object(ctx, code, len(code), 0)
        if value.tag == JS_TAG_EXCEPTION:
            api.free_value(ctx, api.get_exception(ctx))
            return False
        try:
            result = api.call(ctx, _value(self.deliver), UNDEFINED, 1, (JSValue * 1)(value))
        finally:
            api.free_value(ctx, value)
        if result.tag == JS_TAG_EXCEPTION:  # as the binding raises what the runtime threw (stops.py reads it)
            raise _quickjs.JSException(exception_text(api, ctx))
        api.free_value(ctx, result)
        return True
