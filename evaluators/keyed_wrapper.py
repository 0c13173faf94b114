"""The host's check that a compile request filed under a wrapper key is that key's wrapper.

A runtime asks for a wrapper by key and, where the host has none, by the key, a newline and the
wrapper's source (runner/js/module_runner/host_compiler.js); the host compiles the source and keeps
the bytecode under the key, in its process's cache and on disk, for later runtimes and runs. The
request is made by JavaScript that shares a realm with module code, which can replace the built-ins
it is made with (`String.prototype.slice`, `Array.prototype.slice`, ...): taken on the runtime's
word, module code could file another module's code, or its own, under a key that a later, unrelated
run then asks for. So the host files nothing on that word: it undoes the wrapper's shaping
(esm_evaluator.js: `shape`) on the source it is about to compile, and keeps the bytecode under the key
only when the code it finds is the code the key's digest names (runner/rpc/code_keys.py: the SHA-256
the host itself took of the module's code, 160 bits of it). Where this process's server made the key,
it still holds the code the digest was taken of (`code_named`): the source is compared with that code's
wrapper, the same answer without a second digest; a key made elsewhere (the process evaluator's worker
checks the main process's keys) or dropped since is checked by its digest. A source that is not the key's wrapper
is not compiled by the host (the runtime compiles it itself, as it would have without a host), and so never kept.

What the check takes from the runner: the wrapper's shape (the function kind per key, the blanked
awaits, the gate's `yield`, the finishing call), mirrored here; and the engine's text around a
body, which the host asks its own engine for (`PROBE`), in a context no module code runs in. The
key's wrapper-format part is not checked: it only separates runners that shape wrappers otherwise,
and whatever is filed under any of its values is this shape of the named code.
"""

from __future__ import annotations

import json

from runner.rpc.code_keys import code_digest, code_named, key_shape

CONTEXT_NAMES = (
    "__vite_ssr_exports__", "__vite_ssr_import_meta__", "__vite_ssr_import__",
    "__vite_ssr_dynamic_import__", "__vite_ssr_exportAll__", "__vite_ssr_exportName__",
)
FINISH = "__modrun_module_finished__"
USE_STRICT = '"use strict";\n'
#: what a compile request's wrapper source follows, to make it a script whose value is the function
#: (host_compiler.js)
SCRIPT_LEAD = "0,"
_BODY = "/*code*/"
_BLANK = "     "

_NAMES, _FINISHING = json.dumps(CONTEXT_NAMES), json.dumps([*CONTEXT_NAMES, FINISH])
#: A script whose value is the JSON list of the engine's texts of an async function, a generator and an
#: async generator with the wrapper's parameters and the body `_BODY`, as the runner makes them.
PROBE = (f"JSON.stringify([[(async function () {{}}).constructor, {_NAMES}], "
         f"[(function* () {{}}).constructor, {_NAMES}], [(async function* () {{}}).constructor, {_FINISHING}]]"
         f".map(([kind, names]) => String(new kind(...names, {json.dumps(_BODY)}))))")


class WrapperShapes:
    """The runner's wrappers as this engine writes them: `texts` is PROBE's value."""

    def __init__(self, texts: str) -> None:
        headers = json.loads(texts)
        at = headers[0].index(_BODY)
        # the runner takes the text after the body from the async function alone (esm_evaluator.js)
        self.suffix = headers[0][at + len(_BODY):]
        self.prefixes = [SCRIPT_LEAD + text[:text.index(_BODY)] + USE_STRICT for text in headers]

    def names(self, key: str, source: str) -> bool:
        """Is `source` (a compile request's, after SCRIPT_LEAD) the wrapper of the code `key` names?"""
        parts = key.split(":")
        if len(parts) != 5 or parts[1] not in ("e", "l"):
            return False
        _, started, digest, tla, shape = parts
        early = started == "e"
        parsed = key_shape(tla, shape)
        if parsed is None:
            return False
        sync, awaits = parsed
        code = code_named(digest)
        if code is not None:  # this process's server keyed it: the wrapper is compared with the code, not hashed
            return source == self.wrapper(code, sync, early, awaits)
        prefix, end, gate = self._frame(sync, early, awaits)
        if len(source) < len(prefix) + len(end) or not source.startswith(prefix) or not source.endswith(end):
            return False
        body = source[len(prefix):len(source) - len(end)]
        if awaits:
            # The text around the prologue's awaits, which must be in order: the code is that text joined
            # by the awaits, the wrapper's body the same joined by blanks, the gate's a `yield` in a generator.
            starts, ends = [0, *[at + 5 for at in awaits]], [*awaits, len(body)]
            if any(start > stop for start, stop in zip(starts, ends, strict=True)):
                return False
            pieces = [body[start:stop] for start, stop in zip(starts, ends, strict=True)]
            if _BLANK.join(pieces[:-1]) + gate + pieces[-1] != body:
                return False
            body = "await".join(pieces)
        return code_digest(body) == digest

    def wrapper(self, code: str, sync: bool, early: bool, awaits: list[int]) -> str | None:
        """The wrapper's source (a compile request's, after SCRIPT_LEAD) of `code` with top-level await
        or not (`sync`), started early or in its turn, its prologue's awaits at `awaits` (the code key's
        shape, the gate's last); None where those are not awaits of the code, in order."""
        prefix, end, gate = self._frame(sync, early, awaits)
        shaped = _shaped(code, awaits, gate)
        return None if shaped is None else prefix + shaped + end

    def _frame(self, sync: bool, early: bool, awaits: list[int]) -> tuple[str, str, str]:
        """The text before a wrapper's body and after it, and its gate's text."""
        # the function kind the runner gives it: a generator, an async generator, an async function
        kind = 1 if sync else 2 if awaits and early else 0
        end = (f"\n;{FINISH}();" if kind == 2 else "") + self.suffix
        return self.prefixes[kind], end, "yield" if sync or early else _BLANK


def wrapper_source(shapes: WrapperShapes, key: str, code: str) -> str | None:
    """The compile request's source for `code` under its code key (runner/rpc/code_keys.py), started in its
    turn (the runner's `shape` with `early` false), as the host compiles it ahead of the request
    (compile_ahead.py, wasm/wrappers.py); None where the key's awaits are not the code's."""
    _, tla, shape = key.split(":")
    parsed = key_shape(tla, shape)
    return None if parsed is None else shapes.wrapper(code, parsed[0], False, parsed[1])


def _shaped(code: str, awaits: list[int], gate: str) -> str | None:
    """The wrapper's body of `code`: the prologue's awaits blanked, the gate's (the last) `gate`; None where
    `awaits` are not awaits of the code, in order. (A plain loop: a module has one per import.)"""
    pieces: list[str] = []
    start = 0
    for at in awaits:
        if at < start or not code.startswith("await", at):
            return None
        pieces += code[start:at], _BLANK
        start = at + 5
    if pieces:
        pieces[-1] = gate
    pieces.append(code[start:])
    return "".join(pieces)
