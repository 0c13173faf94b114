"""The rewrite that makes the QuickJS reactor safe to run untrusted code: a guarded shadow stack,
QuickJS's own stack check switched on, and a way to stop the guest that costs almost nothing.

Done once on the module bytes before compiling (and cached with the compiled module).

**Stack.** The 0.15.1.1 reactor is linked the wasm-ld default way: static data, then a 64 KiB
shadow stack growing down towards it, then the heap. A JS recursion of about 244 frames runs
the stack pointer through the static data and traps only after corrupting it. QuickJS-ng
compiles its stack checks in (`sp - alloca < rt->stack_limit`), but its WASI build sets
`stack_limit` to 0, so nothing ever fails them. The rewrite
- moves the shadow stack into a region of its own placed after the linker's initial heap (the
  allocator's first segment ends at the original memory size and later `sbrk` growth starts at
  the memory's current end, so the heap never reaches the region);
- guards every write to `__stack_pointer`: a value below the region's floor records the cause
  and traps, so no C path, checked or not, can write below the region;
- reads the offset of `JSRuntime.stack_limit` from the code of `JS_SetMaxStackSize`, so the
  driver can set a soft floor above the hard one: JS recursion, the parser and the regexp
  engine then throw a catchable `RangeError: Maximum call stack size exceeded`.

**Memory.** QuickJS counts its heap for `JS_SetMemoryLimit` with `js__malloc_usable_size`,
which the WASI build compiles to `return 0`: every allocation counts 8 bytes whatever its size,
so strings and ArrayBuffers escape the limit entirely. The rewrite gives that function a body
that reads the size from dlmalloc's chunk header, as `malloc_usable_size` does natively; the
engine checks it against `malloc` at start-up (snapshot.py). And when the limit is hit,
QuickJS builds its `InternalError: out of memory` under the same limit, fails, and throws `null`
instead; the rewrite wraps `JS_ThrowInternalError` (which every inlined copy of
`JS_ThrowOutOfMemory` calls) so the error is built with 1 MiB of headroom.

**Stopping.** Wasmtime's own mechanisms instrument every function entry and loop head and cost
this engine 19–22 % (epoch deadlines), 13–34 % (fuel) or 39–50 % (both) on fib and a JSON/string
workload (bench/wasm_compute.py). Instead the rewrite adds two control words in a memory of
their own, which cost nothing measurable:
- an interrupt handler for `JS_SetInterruptHandler` (a new function in the function table) that
  returns the word; QuickJS polls it on calls and backward jumps and throws its uncatchable
  `interrupted` error, which unwinds the guest cleanly;
- a check of a second word at the head of every loop except the interpreter's own (which polls
  the handler): the backstop for C code that loops without polling. It records the cause and
  traps. Recursion needs no check: the stack guard bounds it.
The host's watchdog thread writes the words (watchdog.py). They live in a second linear
memory that only the instructions added here address: the reactor's C code knows memory 0 only,
so a guest that found a memory-safety bug in QuickJS still could not clear them.
"""

from __future__ import annotations

from . import binary as wb
from . import step
from .layout import (
    CAUSE_STACK,
    CAUSE_STOP,
    CONTROL_MEMORY,
    EXPORT_CONTROL,
    EXPORT_INTERRUPT_HANDLER,
    EXPORT_STACK_POINTER,
    EXPORT_STEP,
    EXPORT_TRAP_CAUSE,
    EXPORT_USABLE_SIZE,
    INTERRUPT_WORD,
    PAGE,
    STOP_WORD,
    Layout,
)

STACK_POINTER = "__stack_pointer"
INTERPRETER = "JS_CallInternal"  # polls the interrupt handler itself
USABLE_SIZE = "js__malloc_usable_size"
# i32.load from the control memory: memarg flags (align 4 | the multi-memory bit), memory, offset 0
_LOAD_CONTROL = bytes([0x28, 0x02 | 0x40]) + bytes([CONTROL_MEMORY, 0])


def rewrite(wasm: bytes, stack_region: int, *, check_loops: bool = True) -> tuple[bytes, Layout]:
    """The module with a guarded stack region of `stack_region` bytes and the stop words."""
    sections = wb.read_sections(wasm)
    by_id = {s.id: s for s in sections if s.id != wb.CUSTOM}
    names = next((wb.read_function_names(s.payload) for s in sections if s.custom_name == "name"), {})
    types = wb.read_types(by_id[wb.TYPE].payload)
    imported = wb.read_imported_function_types(by_id[wb.IMPORT].payload) if wb.IMPORT in by_id else []
    function_types = wb.read_function_types(by_id[wb.FUNCTION].payload)
    bodies = wb.read_code(by_id[wb.CODE].payload)
    globals_ = wb.read_globals(by_id[wb.GLOBAL].payload)
    exports = wb.read_exports(by_id[wb.EXPORT].payload)
    memories = wb.read_memories(by_id[wb.MEMORY].payload)
    if len(memories) != 1:
        raise wb.WasmFormatError("expected exactly one memory")
    memory = memories[0]

    sp_index = _stack_pointer_index(sections, globals_)
    floor = memory.minimum * PAGE
    top = floor + -(-stack_region // PAGE) * PAGE
    memories = [wb.Memory(top // PAGE, memory.maximum), wb.Memory(1, 1)]  # memory 1: the control words
    globals_[sp_index] = wb.Global(wb.I32, True, wb.const_init(wb.I32, top))
    cause_index = len(globals_)
    globals_.append(wb.Global(wb.I32, True, wb.const_init(wb.I32, 0)))

    interpreter = _function_index(names, INTERPRETER) - len(imported)
    for i, body in enumerate(bodies):
        scratch = len(types[function_types[i]].params) + body.local_count
        bodies[i] = _instrument(body, scratch, sp_index, cause_index, floor,
                                STOP_WORD if check_loops and i != interpreter else None)

    usable = _function_index(names, USABLE_SIZE)
    bodies[usable - len(imported)] = _usable_size_body()

    rt_offset = _single_load_offset(bodies[_function_index(names, "JS_GetRuntime") - len(imported)].code)
    malloc_limit_offset = _single_store_offset(
        bodies[_function_index(names, "JS_SetMemoryLimit") - len(imported)].code)
    thrower = _function_index(names, "JS_ThrowInternalError") - len(imported)
    original_thrower = len(imported) + len(function_types)
    function_types.append(function_types[thrower])
    bodies.append(bodies[thrower])
    bodies[thrower] = _headroom_body(original_thrower, len(types[function_types[thrower]].params),
                                     rt_offset, malloc_limit_offset)

    setter = _function_index(names, "JS_SetMaxStackSize") - len(imported)
    limit_offset = _stack_limit_offset(bodies[setter].code)
    # A snapshot would give every sandbox the same Math.random sequence and a performance.now()
    # zero from another store's clock: the driver rewrites both fields, found here.
    random_offset = _context_field(bodies[_function_index(names, "js_math_random") - len(imported)].code, 0x29)
    time_origin_offset = _context_field(bodies[_function_index(names, "js_perf_now") - len(imported)].code, 0x2B)

    # The interrupt handler: int handler(JSRuntime *rt, void *opaque) { return *interrupt_word; }
    handler_signature = wb.FuncType((wb.I32, wb.I32), (wb.I32,))
    handler_type = _type_index(types, handler_signature)
    if handler_type == len(types):
        types.append(handler_signature)
    handler_function = len(imported) + len(function_types)
    function_types.append(handler_type)
    bodies.append(wb.Body([], bytes([wb.OP_I32_CONST]) + wb.sleb(INTERRUPT_WORD) + _LOAD_CONTROL +
                          bytes([wb.OP_END])))
    table, elements, handler_slot = _append_to_table(by_id[wb.TABLE].payload, by_id[wb.ELEMENT].payload,
                                                     handler_function)

    # The driver's round trip in one call (step.py).
    exported = {e.name: e.index for e in exports if e.kind == 0}
    step_type = _type_index(types, step.SIGNATURE)
    if step_type == len(types):
        types.append(step.SIGNATURE)
    step_function = len(imported) + len(function_types)
    function_types.append(step_type)
    bodies.append(step.step_body({name: exported[name] for name in step.NEEDS}))

    added = {EXPORT_STACK_POINTER, EXPORT_TRAP_CAUSE, EXPORT_INTERRUPT_HANDLER, EXPORT_USABLE_SIZE, EXPORT_STEP,
             EXPORT_CONTROL}
    exports = [e for e in exports if e.name not in added]
    exports += [wb.Export(EXPORT_STACK_POINTER, 3, sp_index), wb.Export(EXPORT_TRAP_CAUSE, 3, cause_index),
                wb.Export(EXPORT_INTERRUPT_HANDLER, 0, handler_function), wb.Export(EXPORT_USABLE_SIZE, 0, usable),
                wb.Export(EXPORT_STEP, 0, step_function), wb.Export(EXPORT_CONTROL, 2, CONTROL_MEMORY)]

    replaced = {
        wb.TYPE: wb.vec([b"\x60" + wb.vec([bytes([p]) for p in t.params]) + wb.vec([bytes([r]) for r in t.results])
                         for t in types]),
        wb.FUNCTION: wb.vec([wb.uleb(t) for t in function_types]),
        wb.TABLE: table,
        wb.MEMORY: wb.write_memories(memories),
        wb.GLOBAL: wb.write_globals(globals_),
        wb.EXPORT: wb.write_exports(exports),
        wb.ELEMENT: elements,
        wb.CODE: wb.write_code(bodies),
    }
    # Debug sections describe the old code offsets: drop them; keep names for trap backtraces.
    out = [wb.Section(s.id, replaced.get(s.id, s.payload)) if s.id != wb.CUSTOM else s
           for s in sections if s.id != wb.CUSTOM or s.custom_name == "name"]
    layout = Layout(floor, top, limit_offset, handler_slot, random_offset, time_origin_offset)
    return wb.write_module(out), layout


def _stack_pointer_index(sections: list[wb.Section], globals_: list[wb.Global]) -> int:
    for section in sections:
        if section.custom_name != "name":
            continue
        payload = section.payload
        _, pos = wb.read_name(payload, 0)
        while pos < len(payload):
            sub = payload[pos]
            size, pos = wb.read_uleb(payload, pos + 1)
            if sub == 7:  # global names
                count, p = wb.read_uleb(payload, pos)
                for _ in range(count):
                    index, p = wb.read_uleb(payload, p)
                    global_name, p = wb.read_name(payload, p)
                    if global_name == STACK_POINTER:
                        return index
            pos += size
    # Without names: wasm-ld makes the stack pointer the first global.
    if globals_ and globals_[0].type == wb.I32 and globals_[0].mutable:
        return 0
    raise wb.WasmFormatError("cannot find the module's __stack_pointer global")


def _function_index(names: dict[int, str], wanted: str) -> int:
    for index, function_name in names.items():
        if function_name == wanted:
            return index
    raise wb.WasmFormatError(f"the module has no function named {wanted}")


def _type_index(types: list[wb.FuncType], wanted: wb.FuncType) -> int:
    for i, t in enumerate(types):
        if t == wanted:
            return i
    return len(types)


def _instrument(body: wb.Body, scratch: int, sp_index: int, cause_index: int, floor: int,
                stop_address: int | None) -> wb.Body:
    """Guard each `global.set __stack_pointer`; check the stop word at the head of each loop."""
    code = body.code
    sp = wb.uleb(sp_index)
    trap_with = lambda cause: (bytes([wb.OP_I32_CONST]) + wb.sleb(cause) + bytes([wb.OP_GLOBAL_SET]) +  # noqa: E731
                               wb.uleb(cause_index) + bytes([wb.OP_UNREACHABLE, wb.OP_END]))
    stack_guard = (bytes([wb.OP_LOCAL_TEE]) + wb.uleb(scratch) + bytes([wb.OP_I32_CONST]) + wb.sleb(floor) +
                   bytes([wb.OP_I32_LT_U, wb.OP_IF, wb.EMPTY_BLOCK]) + trap_with(CAUSE_STACK) +
                   bytes([wb.OP_LOCAL_GET]) + wb.uleb(scratch) + bytes([wb.OP_GLOBAL_SET]) + sp)
    stop_check = b"" if stop_address is None else (
        bytes([wb.OP_I32_CONST]) + wb.sleb(stop_address) + _LOAD_CONTROL + bytes([wb.OP_IF, wb.EMPTY_BLOCK]) +
        trap_with(CAUSE_STOP))
    out = bytearray()
    last = 0
    guarded = False
    for offset, opcode, end in wb.scan(code):
        if opcode == wb.OP_GLOBAL_SET and wb.read_uleb(code, offset + 1)[0] == sp_index:
            # The linker pads indices to 5 bytes: replace the whole instruction.
            out += code[last:offset]
            out += stack_guard
            last = end
            guarded = True
        elif opcode == 0x03 and stop_check:  # loop: check at the head of every iteration
            out += code[last:end]
            out += stop_check
            last = end
    if last == 0:
        return body
    out += code[last:]
    return wb.Body(body.locals + [(1, wb.I32)] if guarded else body.locals, bytes(out))


OOM_HEADROOM = 1 << 20


def _headroom_body(original: int, params: int, rt_offset: int, limit_offset: int) -> wb.Body:
    """JSValue JS_ThrowInternalError(JSContext *ctx, …): raise rt->malloc_limit by OOM_HEADROOM
    (when there is a limit) around the original, so the error object can be built."""
    rt, saved, result = params, params + 1, params + 2
    store_limit = bytes([0x36, 0x02]) + wb.uleb(limit_offset)  # i32.store offset=limit
    forward = b"".join(bytes([wb.OP_LOCAL_GET, i]) for i in range(params))
    code = (bytes([wb.OP_LOCAL_GET, 0, 0x28, 0x02]) + wb.uleb(rt_offset) +  # rt = ctx->rt
            bytes([wb.OP_LOCAL_TEE, rt, 0x28, 0x02]) + wb.uleb(limit_offset) +  # saved = rt->malloc_limit
            bytes([wb.OP_LOCAL_SET, saved, wb.OP_LOCAL_GET, saved, wb.OP_IF, wb.EMPTY_BLOCK,
                   wb.OP_LOCAL_GET, rt, wb.OP_LOCAL_GET, saved, wb.OP_I32_CONST]) + wb.sleb(OOM_HEADROOM) +
            bytes([0x6A]) + store_limit + bytes([wb.OP_END]) +  # i32.add; store
            forward + bytes([wb.OP_CALL]) + wb.uleb(original) + bytes([wb.OP_LOCAL_SET, result]) +
            bytes([wb.OP_LOCAL_GET, rt, wb.OP_LOCAL_GET, saved]) + store_limit +  # restore
            bytes([wb.OP_LOCAL_GET, result, wb.OP_END]))
    return wb.Body([(2, wb.I32), (1, wb.I64)], code)


def _single_load_offset(code: bytes) -> int:
    """`return ((T *)param0)->field`: the field's offset."""
    ops = [(op, code[offset + 1:end]) for offset, op, end in wb.scan(code)]
    if [op for op, _ in ops] != [wb.OP_LOCAL_GET, 0x28, wb.OP_END]:
        raise wb.WasmFormatError("an accessor does not have the expected shape")
    immediate = ops[1][1]
    return wb.read_uleb(immediate, wb.read_uleb(immediate, 0)[1])[0]


def _single_store_offset(code: bytes) -> int:
    """`((T *)param0)->field = param1`: the field's offset."""
    ops = [(op, code[offset + 1:end]) for offset, op, end in wb.scan(code)]
    if [op for op, _ in ops] != [wb.OP_LOCAL_GET, wb.OP_LOCAL_GET, 0x36, wb.OP_END]:
        raise wb.WasmFormatError("a setter does not have the expected shape")
    immediate = ops[2][1]
    return wb.read_uleb(immediate, wb.read_uleb(immediate, 0)[1])[0]


def _usable_size_body() -> wb.Body:
    """size_t usable(void *p) { return p ? (((size_t *)p)[-1] & ~7) - 4 : 0; } — dlmalloc's
    `dlmalloc_usable_size` for an in-use chunk in wasm32: the chunk's size (flag bits masked off)
    less the 4-byte header."""
    code = bytes([wb.OP_LOCAL_GET, 0, 0x45, wb.OP_IF, wb.I32, wb.OP_I32_CONST, 0, wb.OP_ELSE,  # i32.eqz
                  wb.OP_LOCAL_GET, 0, wb.OP_I32_CONST, 4, 0x6B,  # i32.sub
                  0x28, 0x02, 0x00,  # i32.load
                  wb.OP_I32_CONST, 0x78, 0x71,  # i32.const -8; i32.and
                  wb.OP_I32_CONST, 4, 0x6B, wb.OP_END, wb.OP_END])
    return wb.Body([], code)


def _stack_limit_offset(code: bytes) -> int:
    """`JS_SetMaxStackSize(rt, size)` in the WASI build is `rt->stack_limit = 0; rt->stack_size =
    size`: the offset of `stack_limit`, from the store of 0 (the store of `size` confirms the
    shape)."""
    instructions = [(op, code[offset + 1:end]) for offset, op, end in wb.scan(code)]
    limit = size = None
    for i, (op, immediate) in enumerate(instructions):
        if op != 0x36 or i < 2:  # i32.store
            continue
        store_offset = wb.read_uleb(immediate, wb.read_uleb(immediate, 0)[1])[0]
        value_op, value_imm = instructions[i - 1]
        if value_op == wb.OP_I32_CONST and wb.read_sleb(value_imm, 0)[0] == 0:
            limit = store_offset
        elif value_op == wb.OP_LOCAL_GET and wb.read_uleb(value_imm, 0)[0] == 1:
            size = store_offset
    if limit is None or size is None:
        raise wb.WasmFormatError("JS_SetMaxStackSize does not have the expected shape; "
                                 "cannot find JSRuntime.stack_limit")
    return limit


def _context_field(code: bytes, load_opcode: int) -> int:
    """The offset of the first `load_opcode` (i64.load, f64.load…) straight from the function's
    first parameter, the JSContext."""
    previous: tuple[int, bytes] | None = None
    for offset, op, end in wb.scan(code):
        if op == load_opcode and previous == (wb.OP_LOCAL_GET, b"\0"):
            immediate = code[offset + 1:end]
            return wb.read_uleb(immediate, wb.read_uleb(immediate, 0)[1])[0]
        previous = (op, code[offset + 1:end])
    raise wb.WasmFormatError("cannot find a JSContext field the driver needs")


def _append_to_table(table: bytes, elements: bytes, function: int) -> tuple[bytes, bytes, int]:
    """Grow the one funcref table by a slot holding `function`; returns the new table and element
    sections and the slot (the function's C function-pointer value)."""
    count, pos = wb.read_uleb(table, 0)
    if count != 1 or table[pos] != 0x70:
        raise wb.WasmFormatError("expected one funcref table")
    flags = table[pos + 1]
    minimum, p = wb.read_uleb(table, pos + 2)
    maximum = wb.read_uleb(table, p)[0] if flags & 1 else None
    slot = minimum
    grown = minimum + 1
    new_table = wb.vec([b"\x70" + (b"\x01" + wb.uleb(grown) + wb.uleb(max(grown, maximum))
                                    if maximum is not None else b"\x00" + wb.uleb(grown))])
    segments, p = wb.read_uleb(elements, 0)
    segment = wb.uleb(0) + wb.const_init(wb.I32, slot) + wb.vec([wb.uleb(function)])
    return new_table, wb.uleb(segments + 1) + elements[p:] + segment, slot
