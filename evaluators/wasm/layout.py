"""The contract between the module rewrite and the driver: where the rewrite puts things in
the guest's linear memory, the names it exports, and the StepBox `modrun_step` reads and
writes. Kept apart (and free of heavy imports) because a process that finds its snapshot in the
cache needs only this, never the rewrite itself.
"""

from __future__ import annotations

from dataclasses import dataclass

PAGE = 65536
REWRITE_VERSION = 10  # part of the compiled-module cache key: bump when the rewrite's output changes

# Exports the rewrite adds
EXPORT_STACK_POINTER = "modrun_stack_pointer"
EXPORT_TRAP_CAUSE = "modrun_trap_cause"
EXPORT_INTERRUPT_HANDLER = "modrun_interrupt_handler"
EXPORT_USABLE_SIZE = "modrun_usable_size"
EXPORT_STEP = "modrun_step"
EXPORT_CONTROL = "modrun_control"  # the control memory (memory 1)

# Values of the trap-cause global
CAUSE_STACK = 1  # the shadow stack reached its floor
CAUSE_STOP = 2  # the host set the stop word

# The control words, in a memory of their own (memory 1, one page): the C code compiled into the
# reactor addresses memory 0 only, so even a guest that corrupted its heap cannot reach them.
CONTROL_MEMORY = 1
INTERRUPT_WORD = 0
STOP_WORD = 4

# StepBox field offsets (step.py). The host allocates BOX_HEADER + BOX_INLINE bytes:
# argument text that fits is written right after BOX_ARGS, so one copy fills in both.
BOX_VALUES = 0  # 2 × JSValue: the argument strings while the call runs
BOX_RESULT = 16  # i32 C string, i32 length
BOX_DRAINED = 24  # i32 C string, i32 length
BOX_DRAIN = 32  # JSValue of the drain function, or 0
BOX_CONTEXT = 40  # i32 JSContext *
BOX_RUNTIME = 44  # i32 JSRuntime *
BOX_JOB_CONTEXT = 48  # i32 out-parameter of JS_ExecutePendingJob
BOX_ARGS = 56  # 2 × (i32 pointer, i32 length)
BOX_HEADER = 72
BOX_INLINE = 16384
BOX_SIZE = BOX_HEADER + BOX_INLINE

# What modrun_step returns
STEP_OK, STEP_CALL_THREW, STEP_JOB_THREW, STEP_DRAIN_THREW, STEP_NO_STRING = range(5)


@dataclass(frozen=True)
class Layout:
    """Where the rewrite put things in linear memory, and the engine's field offsets it found."""

    floor: int  # lowest address the shadow stack may reach (the hard guard)
    top: int  # the stack pointer's initial value
    limit_offset: int  # offset of JSRuntime.stack_limit
    interrupt_handler: int  # table index of the interrupt handler (a C function pointer)
    random_offset: int  # offset of JSContext.random_state (Math.random's xorshift state)
    time_origin_offset: int  # offset of JSContext.time_origin (performance.now's zero, in ms)

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)
