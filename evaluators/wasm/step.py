"""`modrun_step`: the driver's one round trip, as a wasm function added to the reactor.

Each call from the host into wasm costs about a microsecond of ctypes and wasmtime overhead,
and one transport turn through the bare C API takes eleven of them (make the argument strings,
call, free them, convert the result, free it, run the jobs, call drain, convert, free…). This
function does the whole turn inside the guest, so a turn is one call:

    int32 modrun_step(JSValue fn, int32 argc, StepBox *box)   (the box: layout.py)

1. free the C strings the previous step returned;
2. if `fn` is not 0: call it with `argc` (0–2) strings made from `box->args`, free them, and
   when the result is a string, return it as a C string in `box->result`;
3. run pending jobs until there are none;
4. if `box->drain` is not 0: call it and return its string in `box->drained`.

It returns 0, or where it stopped: 1 the call threw, 2 a job threw, 3 drain threw (the
exception is left pending for the host to read), 4 a string could not be made (out of memory).
At most two arguments.
"""

from __future__ import annotations

from . import binary as wb
from .layout import (
    BOX_ARGS,
    BOX_CONTEXT,
    BOX_DRAIN,
    BOX_DRAINED,
    BOX_JOB_CONTEXT,
    BOX_RESULT,
    BOX_RUNTIME,
    BOX_VALUES,
    STEP_CALL_THREW,
    STEP_DRAIN_THREW,
    STEP_JOB_THREW,
    STEP_NO_STRING,
    STEP_OK,
)

SIGNATURE = wb.FuncType((wb.I64, wb.I32, wb.I32), (wb.I32,))
NEEDS = ("JS_NewStringLen", "JS_Call", "JS_FreeValue", "JS_ToCStringLen2", "JS_FreeCString", "JS_ExecutePendingJob")

_TAG_EXCEPTION = 6
_TAG_STRING, _TAG_ROPE = -7, -6
_UNDEFINED = 3 << 32

# params and locals
FN, ARGC, BOX = 0, 1, 2
CTX, P, K, R, V0, V1 = 3, 4, 5, 6, 7, 8


class _Code:
    def __init__(self, functions: dict[str, int]) -> None:
        self.functions = functions
        self.out = bytearray()

    def op(self, *codes: int) -> _Code:
        self.out += bytes(codes)
        return self

    def get(self, local: int) -> _Code:
        return self.op(wb.OP_LOCAL_GET, local)

    def set(self, local: int) -> _Code:
        return self.op(wb.OP_LOCAL_SET, local)

    def tee(self, local: int) -> _Code:
        return self.op(wb.OP_LOCAL_TEE, local)

    def i32(self, value: int) -> _Code:
        self.out += bytes([wb.OP_I32_CONST]) + wb.sleb(value)
        return self

    def i64(self, value: int) -> _Code:
        self.out += bytes([wb.OP_I64_CONST]) + wb.sleb(value)
        return self

    def load32(self, offset: int) -> _Code:
        self.out += b"\x28\x02" + wb.uleb(offset)
        return self

    def load64(self, offset: int) -> _Code:
        self.out += b"\x29\x03" + wb.uleb(offset)
        return self

    def store32(self, offset: int) -> _Code:
        self.out += b"\x36\x02" + wb.uleb(offset)
        return self

    def store64(self, offset: int) -> _Code:
        self.out += b"\x37\x03" + wb.uleb(offset)
        return self

    def call(self, name: str) -> _Code:
        self.out += bytes([wb.OP_CALL]) + wb.uleb(self.functions[name])
        return self

    def tag(self, value_local: int) -> _Code:  # the JSValue's tag, as i32
        return self.get(value_local).i64(32).op(0x88, 0xA7)  # i64.shr_u; i32.wrap_i64

    def if_(self) -> _Code:
        return self.op(wb.OP_IF, wb.EMPTY_BLOCK)

    def end(self) -> _Code:
        return self.op(wb.OP_END)

    def return_status(self, status: int) -> _Code:
        return self.i32(status).op(wb.OP_RETURN)

    def if_string(self, value_local: int) -> _Code:
        """if the value is a string (flat or rope)"""
        return self.tag(value_local).i32(_TAG_STRING).op(0x46).tag(value_local).i32(_TAG_ROPE).op(0x46, 0x72).if_()

    def to_c_string(self, value_local: int, field: int) -> _Code:
        """box->field = JS_ToCStringLen2(ctx, &box->field.length, value); 4 if that fails"""
        self.get(CTX).get(BOX).i32(field + 4).op(0x6A).get(value_local).i32(0).call("JS_ToCStringLen2").set(P)
        self.get(BOX).get(P).store32(field)
        self.get(P).op(0x45).if_().get(CTX).get(value_local).call("JS_FreeValue")
        return self.return_status(STEP_NO_STRING).end()


def step_body(functions: dict[str, int]) -> wb.Body:
    """The body of `modrun_step`; `functions` maps each name in NEEDS to its function index."""
    c = _Code(functions)
    c.get(BOX).load32(BOX_CONTEXT).set(CTX)
    for field in (BOX_RESULT, BOX_DRAINED):  # the strings the last step handed out
        c.get(BOX).load32(field).tee(P).if_().get(CTX).get(P).call("JS_FreeCString")
        c.get(BOX).i32(0).store32(field).end()
    c.get(FN).op(0x50, 0x45).if_()  # i64.eqz; i32.eqz: a function to call
    for index, (value, arg) in enumerate(((V0, BOX_ARGS), (V1, BOX_ARGS + 8))):
        c.get(ARGC).i32(index).op(0x4A).if_()  # argc > index
        c.get(CTX).get(BOX).load32(arg).get(BOX).load32(arg + 4).call("JS_NewStringLen").set(value)
        c.tag(value).i32(_TAG_EXCEPTION).op(0x46).if_()
        if index:
            c.get(CTX).get(V0).call("JS_FreeValue")
        c.return_status(STEP_NO_STRING).end()
        c.get(BOX).get(value).store64(BOX_VALUES + 8 * index).end()
    c.get(CTX).get(FN).i64(_UNDEFINED).get(ARGC).get(BOX).i32(BOX_VALUES).op(0x6A).call("JS_Call").set(R)
    for index, value in enumerate((V0, V1)):
        c.get(ARGC).i32(index).op(0x4A).if_().get(CTX).get(value).call("JS_FreeValue").end()
    c.tag(R).i32(_TAG_EXCEPTION).op(0x46).if_().return_status(STEP_CALL_THREW).end()
    c.if_string(R).to_c_string(R, BOX_RESULT).end()
    c.get(CTX).get(R).call("JS_FreeValue")
    c.end()
    # jobs
    c.op(0x03, wb.EMPTY_BLOCK)  # loop
    c.get(BOX).load32(BOX_RUNTIME).get(BOX).i32(BOX_JOB_CONTEXT).op(0x6A).call("JS_ExecutePendingJob").tee(K)
    c.i32(0).op(0x48).if_().return_status(STEP_JOB_THREW).end()  # i32.lt_s
    c.get(K).op(0x0D, 0).end()  # br_if 0 (the loop)
    # drain
    c.get(BOX).load64(BOX_DRAIN).tee(R).op(0x50, 0x45).if_()
    c.get(CTX).get(R).i64(_UNDEFINED).i32(0).i32(0).call("JS_Call").set(R)
    c.tag(R).i32(_TAG_EXCEPTION).op(0x46).if_().return_status(STEP_DRAIN_THREW).end()
    c.if_string(R).to_c_string(R, BOX_DRAINED).end()
    c.get(CTX).get(R).call("JS_FreeValue")
    c.end()
    c.i32(STEP_OK).end()
    return wb.Body([(3, wb.I32), (3, wb.I64)], bytes(c.out))
