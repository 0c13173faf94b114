"""The one rewrite the reactor still gets: the host's two stop words, in a memory of their own.

Everything else the wasm evaluator needs is built into the reactor (reactor/modrun_reactor.c and
its link flags). Stopping a guest is not: wasmtime's own mechanisms instrument every function
entry and loop head, the interpreter's dispatch loop included, and cost this engine far more
than the words below (bench/wasm_compute.py measures both). So before compiling, once:

- a second linear memory of one page is added and exported (`modrun_control`); the reactor's C
  code addresses memory 0 only, so even a guest that broke QuickJS's memory safety cannot
  reach it;
- the body of `modrun_interrupted` (the shim's interrupt handler calls it) becomes a load of the
  interrupt word: QuickJS polls it on calls and backward jumps and throws its uncatchable
  `interrupted` error, which unwinds the guest in good order;
- the head of every loop except the interpreter's own (which polls the handler) checks the stop
  word and traps when it is set: the backstop for C code that loops without polling. Recursion
  needs no check: the stack is bounded.
The host's watchdog thread writes the words (watchdog.py).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import binary as wb

VERSION = 1  # part of the compiled-module cache key: bump when the output changes

EXPORT_CONTROL = "modrun_control_words"
READER = "modrun_interrupted"  # exported by the shim; its body is replaced
INTERPRETER = "JS_CallInternal"  # polls the interrupt handler itself
CONTROL_MEMORY = 1
INTERRUPT_WORD = 0
STOP_WORD = 4

# i32.load from the control memory: memarg flags (align 4 | the multi-memory bit), memory, offset 0
_LOAD_CONTROL = bytes([0x28, 0x02 | 0x40, CONTROL_MEMORY, 0])


@functools.cache
def _stop_check() -> bytes:
    from . import binary as wb

    return (bytes([wb.OP_I32_CONST]) + wb.sleb(STOP_WORD) + _LOAD_CONTROL +
            bytes([wb.OP_IF, wb.EMPTY_BLOCK, wb.OP_UNREACHABLE, wb.OP_END]))


def add_stop_checks(wasm: bytes, *, check_loops: bool = True) -> bytes:
    """The module with the control memory, the interrupt reader and (unless `check_loops` is
    false, for measuring what the checks cost) the stop checks. The binary format is imported here
    (and by the helpers below): a process whose compiled module is cached never edits it, and the
    wasm evaluator's other files import this one for its constants."""
    from . import binary as wb

    sections = wb.read_sections(wasm)
    by_id = {s.id: s for s in sections if s.id != wb.CUSTOM}
    names = next((wb.read_function_names(s.payload) for s in sections if s.custom_name == "name"), {})
    imported = len(wb.read_imported_function_types(by_id[wb.IMPORT].payload)) if wb.IMPORT in by_id else 0
    bodies = wb.read_code(by_id[wb.CODE].payload)
    exports = wb.read_exports(by_id[wb.EXPORT].payload)
    memories = wb.read_memories(by_id[wb.MEMORY].payload)
    if len(memories) != 1:
        raise wb.WasmFormatError("expected exactly one memory")

    reader = next((e.index for e in exports if e.kind == 0 and e.name == READER), None)
    if reader is None:
        raise wb.WasmFormatError(f"the reactor does not export {READER}")
    bodies[reader - imported] = wb.Body([], bytes([wb.OP_I32_CONST]) + wb.sleb(INTERRUPT_WORD) + _LOAD_CONTROL +
                                        bytes([wb.OP_END]))
    if check_loops:
        interpreter = _function_index(names, INTERPRETER) - imported
        for i, body in enumerate(bodies):
            if i != interpreter:
                bodies[i] = _check_loops(body)

    exports = [e for e in exports if e.name != EXPORT_CONTROL] + [wb.Export(EXPORT_CONTROL, 2, CONTROL_MEMORY)]
    replaced = {
        wb.MEMORY: wb.write_memories(memories + [wb.Memory(1, 1)]),
        wb.EXPORT: wb.write_exports(exports),
        wb.CODE: wb.write_code(bodies),
    }
    return wb.write_module([wb.Section(s.id, replaced.get(s.id, s.payload)) for s in sections])


def _function_index(names: dict[int, str], wanted: str) -> int:
    from . import binary as wb

    for index, function_name in names.items():
        if function_name == wanted:
            return index
    raise wb.WasmFormatError(f"the module has no function named {wanted}")


def _check_loops(body: wb.Body) -> wb.Body:
    """The stop check at the head of each loop."""
    from . import binary as wb

    stop_check = _stop_check()
    code = body.code
    out = bytearray()
    last = 0
    for _, opcode, end in wb.scan(code):
        if opcode == 0x03:  # loop: the check runs at the head of every iteration
            out += code[last:end]
            out += stop_check
            last = end
    if last == 0:
        return body
    out += code[last:]
    return wb.Body(body.locals, bytes(out))
