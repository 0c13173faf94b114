"""Code keys: a module's code named, not sent, to a runtime that can take its compiled wrapper by name.

A fresh runtime importing a graph the host process imported before compiles nothing: its wrappers
come from the compiled-code cache (evaluators/compiled_code.py). Yet each answer carried the
module's code, which the runtime parsed out of the JSON, shaped into the wrapper's text and handed
back to the engine's host only to find the cached bytecode by it. A runner that says so
(`codeKeys: "instead"` in a graph fetch's options, runner/rpc/graph_fetch.py) is sent, for such a
module, a key instead: a digest of the code with the link metadata that shapes its wrapper (where
the prologue's awaits are, top-level await, whether it imports). The runner asks the engine's host
for the wrapper by that key (with how it starts the module, and its own wrapper format); where the
cache has none (another engine build, a damaged entry, one dropped) it fetches the code with
`fetchCode` and compiles as before, its wrapper then kept under the key too. An engine that holds
no wrappers by key yet (a first import, a new worker process) has its runtimes ask for keys
"alongside" the code: they compile as before, and their wrappers are kept by key (a cold wasm
sandbox, whose host compiles its wrappers ahead from its own transforms, asks "instead":
evaluators/wasm/wrappers.py).

Only what the runner can shape without the code is keyed: an ES module with link metadata whose
prologue's awaits are where the metadata says (the runner, without the code, cannot check them),
in a prologue of ASCII (their offsets are the runner's UTF-16 offsets). Others are sent with code.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .payloads import FetchedModule

IMPORT_META = "__vite_ssr_import_meta__"  # import.meta in the runner format
_GATE = f"await {IMPORT_META};"  # where the prologue ends (runner/transform/ssr_transform.py)
_MEMO_LIMIT = 100_000

# code -> (the awaits list and top-level await it was keyed with, its key): the environment keeps
# each module's answer, so a warm fetch hands the same string and list again, and the key costs a
# lookup (Python keeps a string's hash), not a digest of the whole code
_keys: dict[str, tuple[object, bool, str | None]] = {}
# digest -> the code it was taken of, for the keys made here: the engine's host, in this process, checks a
# wrapper filed under a key by comparing it with the code (evaluators/keyed_wrapper.py) rather than hashing
# it again. Only this function writes it, with the digest it took itself; cleared with `_keys`.
_codes: dict[str, str] = {}


def code_key(module: FetchedModule) -> str | None:
    """The key naming this answer's code and wrapper shape, or None where it must be sent."""
    meta: dict[str, Any] = module["modrun"]
    code = module["code"]
    awaits = meta.get("awaits")
    tla = meta["hasTLA"]
    known = _keys.get(code)
    if known is not None and known[0] is awaits and known[1] is tla and meta.get("format") is None:
        return known[2]
    key = _key(code, meta, awaits)
    if len(_keys) >= _MEMO_LIMIT:
        _keys.clear()
        _codes.clear()
    _keys[code] = (awaits, tla, key)
    return key


def _key(code: str, meta: dict[str, Any], awaits: Any) -> str | None:
    if meta.get("format") is not None:  # CommonJS: its wrapper is made another way
        return None
    if meta["imports"]:
        if not awaits or not _awaits_at(code, awaits):
            return None
        shape = ",".join(map(str, awaits))
    else:
        shape = ""
    digest = code_digest(code)
    _codes[digest] = code
    return f"{digest}:{'t' if meta['hasTLA'] else 's'}:{shape}"


def key_shape(tla: str, shape: str) -> tuple[bool, list[int]] | None:
    """A code key's last two fields read, as `_key` writes them: is the module without top-level await
    (`sync`), and where its prologue's awaits are (ASCII digits); None where they are not a key's."""
    if tla not in ("t", "s"):
        return None
    offsets = shape.split(",") if shape else []
    if not all(offset.isdigit() and offset.isascii() for offset in offsets):
        return None
    return tla == "s", [int(offset) for offset in offsets]


def code_digest(code: str) -> str:
    """The digest that opens a code key: what the engine's host checks a wrapper filed under the key
    against (evaluators/keyed_wrapper.py)."""
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def code_named(digest: str) -> str | None:
    """The code this process keyed under `digest`, if it still holds it (another process's key, one
    dropped from the memo: None, and the caller takes the digest itself)."""
    return _codes.get(digest)


def gate_at(code: str, awaits: list[int] | None) -> bool:
    """Is the prologue's gate (the last of `awaits`) where `awaits` says, in a prologue of ASCII (where
    those UTF-16 offsets are the code's own)?"""
    gate = awaits[-1] if awaits else None
    return isinstance(gate, int) and code[:gate].isascii() and code.startswith(_GATE, gate)


def _awaits_at(code: str, awaits: list[int]) -> bool:
    """Are the prologue's awaits where `awaits` says (the gate last), in a prologue of ASCII?"""
    return gate_at(code, awaits) and all(isinstance(at, int) and code.startswith("await ", at) for at in awaits[:-1])


def keyed(module: FetchedModule, key: str) -> FetchedModule:
    """The answer with `codeKey` in place of its code (a new dict: the environment keeps its own), for
    modrun's runner alone: without what it does not read (`invalidate`) or takes as said without it
    (`file` where it is the id: runner/js/module_runner/evaluated_modules.js), each a key the
    runtime's JSON.parse makes and its prototype walk reads."""
    sent: dict[str, Any] = {name: value for name, value in module.items() if name not in _LEFT_OUT}
    if module["file"] != module["id"]:
        sent["file"] = module["file"]
    sent["codeKey"] = key
    return sent  # type: ignore[return-value]


_LEFT_OUT = frozenset(("code", "file", "invalidate"))
