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

**Stopping.** Wasmtime's epoch and fuel instrumentation cost 18–40 % on this engine (measured:
bench/wasm_compute.py). Instead the rewrite adds a control word in a page of its own:
- an interrupt handler for `JS_SetInterruptHandler` (a new function in the function table) that
  returns the word; QuickJS polls it on calls and backward jumps and throws its uncatchable
  `interrupted` error, which unwinds the guest cleanly;
- a check of a second word at the head of every loop except the interpreter's own (which polls
  the handler): the backstop for C code that loops without polling. It records the cause and
  traps. Recursion needs no check: the stack guard bounds it.
The host's watchdog thread writes the words; nothing else in the guest can reach that page
(the stack floor is above it, and the allocator never hands it out).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import wasm_binary as wb

PAGE = 65536
STACK_POINTER = "__stack_pointer"
INTERPRETER = "JS_CallInternal"  # polls the interrupt handler itself

EXPORT_STACK_POINTER = "modrun_stack_pointer"
EXPORT_TRAP_CAUSE = "modrun_trap_cause"
EXPORT_INTERRUPT_HANDLER = "modrun_interrupt_handler"

CAUSE_STACK = 1  # the shadow stack reached its floor
CAUSE_STOP = 2  # the host set the stop word

# Offsets in the control page
INTERRUPT_WORD = 0
STOP_WORD = 4

REWRITE_VERSION = 1  # part of the compiled-module cache key: bump when the output changes


@dataclass(frozen=True)
class Layout:
    """Where the rewrite put things in linear memory, and the engine's field offsets."""

    control: int  # address of the control page
    floor: int  # lowest address the shadow stack may reach (the hard guard)
    top: int  # the stack pointer's initial value
    limit_offset: int  # offset of JSRuntime.stack_limit
    size_offset: int  # offset of JSRuntime.stack_size
    interrupt_handler: int  # table index of the interrupt handler (a C function pointer)

    @property
    def interrupt_address(self) -> int:
        return self.control + INTERRUPT_WORD

    @property
    def stop_address(self) -> int:
        return self.control + STOP_WORD

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


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
    memory = wb.read_memory(by_id[wb.MEMORY].payload)

    sp_index = _stack_pointer_index(sections, globals_)
    control = memory.minimum * PAGE
    floor = control + PAGE
    top = floor + -(-stack_region // PAGE) * PAGE
    memory = wb.Memory(top // PAGE, memory.maximum)
    globals_[sp_index] = wb.Global(wb.I32, True, wb.const_init(wb.I32, top))
    cause_index = len(globals_)
    globals_.append(wb.Global(wb.I32, True, wb.const_init(wb.I32, 0)))

    interpreter = _function_index(names, INTERPRETER) - len(imported)
    for i, body in enumerate(bodies):
        scratch = len(types[function_types[i]].params) + body.local_count
        bodies[i] = _instrument(body, scratch, sp_index, cause_index, floor,
                                control + STOP_WORD if check_loops and i != interpreter else None)

    setter = _function_index(names, "JS_SetMaxStackSize") - len(imported)
    limit_offset, size_offset = _stack_field_offsets(bodies[setter].code)

    # The interrupt handler: int handler(JSRuntime *rt, void *opaque) { return *interrupt_word; }
    handler_signature = wb.FuncType((wb.I32, wb.I32), (wb.I32,))
    handler_type = _type_index(types, handler_signature)
    if handler_type == len(types):
        types.append(handler_signature)
    handler_function = len(imported) + len(function_types)
    function_types.append(handler_type)
    bodies.append(wb.Body([], bytes([wb.OP_I32_CONST]) + wb.sleb(control + INTERRUPT_WORD) +
                          bytes([0x28, 0x02, 0x00, wb.OP_END])))  # i32.load align=4 offset=0
    table, elements, handler_slot = _append_to_table(by_id[wb.TABLE].payload, by_id[wb.ELEMENT].payload,
                                                     handler_function)

    added = {EXPORT_STACK_POINTER, EXPORT_TRAP_CAUSE, EXPORT_INTERRUPT_HANDLER}
    exports = [e for e in exports if e.name not in added]
    exports += [wb.Export(EXPORT_STACK_POINTER, 3, sp_index), wb.Export(EXPORT_TRAP_CAUSE, 3, cause_index),
                wb.Export(EXPORT_INTERRUPT_HANDLER, 0, handler_function)]

    replaced = {
        wb.TYPE: wb.vec([b"\x60" + wb.vec([bytes([p]) for p in t.params]) + wb.vec([bytes([r]) for r in t.results])
                         for t in types]),
        wb.FUNCTION: wb.vec([wb.uleb(t) for t in function_types]),
        wb.TABLE: table,
        wb.MEMORY: wb.vec([memory.encode()]),
        wb.GLOBAL: wb.write_globals(globals_),
        wb.EXPORT: wb.write_exports(exports),
        wb.ELEMENT: elements,
        wb.CODE: wb.write_code(bodies),
    }
    # Debug sections describe the old code offsets: drop them; keep names for trap backtraces.
    out = [wb.Section(s.id, replaced.get(s.id, s.payload)) if s.id != wb.CUSTOM else s
           for s in sections if s.id != wb.CUSTOM or s.custom_name == "name"]
    layout = Layout(control, floor, top, limit_offset, size_offset, handler_slot)
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
        bytes([wb.OP_I32_CONST]) + wb.sleb(stop_address) + bytes([0x28, 0x02, 0x00, wb.OP_IF, wb.EMPTY_BLOCK]) +
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


def _stack_field_offsets(code: bytes) -> tuple[int, int]:
    """`JS_SetMaxStackSize(rt, size)` in the WASI build is `rt->stack_limit = 0; rt->stack_size =
    size`: read both field offsets from its two stores."""
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
    return limit, size


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
