"""A graph's wrappers as one QuickJS object (compiled_code.py batch_key): the scripts whose values are
the wrappers, as the entries 0, 1, ... of an object without a prototype, written by one JS_WriteObject,
so that reading them back reads the names they share once (quickjs_bytecode.py serves them)."""

from __future__ import annotations

from .quickjs_bytecode import (
    JS_PROP_C_W_E,
    JS_READ_OBJ_BYTECODE,
    JS_TAG_EXCEPTION,
    JS_TAG_FUNCTION_BYTECODE,
    NULL,
    Api,
    write_bytecode,
)
from .quickjs_tracker import JSValue


def write_batch(api: Api, ctx: int, scripts: list[JSValue]) -> bytes | None:
    """The bytecode of one object holding these scripts (taken), or None where one is not a script or
    it cannot be written."""
    # No prototype: defining its entries runs no code of the runtime's (a setter a module put on
    # Object.prototype would see a script).
    holder = api.new_object_proto(ctx, NULL)
    whole = holder.tag != JS_TAG_EXCEPTION and all(script.tag == JS_TAG_FUNCTION_BYTECODE for script in scripts)
    for at, script in enumerate(scripts):
        if whole and api.define_index(ctx, holder, at, script, JS_PROP_C_W_E) < 0:  # (takes the script)
            whole = False
        elif not whole:
            api.free_value(ctx, script)
    code = write_bytecode(api, ctx, holder) if whole else None
    if holder.tag == JS_TAG_EXCEPTION:
        api.free_value(ctx, api.get_exception(ctx))
    else:
        api.free_value(ctx, holder)
    return code


def read_batch(api: Api, ctx: int, code: bytes, count: int) -> list[JSValue] | None:
    """The `count` scripts `code` holds (new references), or None where it holds fewer or cannot be read."""
    holder = api.read_object(ctx, code, len(code), JS_READ_OBJ_BYTECODE)
    if holder.tag == JS_TAG_EXCEPTION:
        api.free_value(ctx, api.get_exception(ctx))
        return None
    try:
        # Read back, it has the context's Object.prototype: without one, an entry it lacks reads as
        # undefined, and is not looked up where module code could have put a getter.
        if api.set_prototype(ctx, holder, NULL) < 0:
            api.free_value(ctx, api.get_exception(ctx))
            return None
        scripts = [api.get_index(ctx, holder, at) for at in range(count)]
    finally:
        api.free_value(ctx, holder)
    if all(script.tag == JS_TAG_FUNCTION_BYTECODE for script in scripts):
        return scripts
    for script in scripts:
        api.free_value(ctx, script)
    if any(script.tag == JS_TAG_EXCEPTION for script in scripts):
        api.free_value(ctx, api.get_exception(ctx))
    return None
