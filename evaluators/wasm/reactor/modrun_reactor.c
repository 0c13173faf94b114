/* modrun's QuickJS reactor: QuickJS-ng compiled for wasm32-wasi (build.py), with the few entry
 * points the wasm evaluator drives (evaluators/wasm/guest.py). One translation unit with
 * quickjs.c, so that these helpers can reach the engine's internals without patching it.
 *
 * One instance holds one runtime and one context, kept here; the host reaches the rest through
 * `modrun_box()`, a block of linear memory both sides know the layout of (guest.py mirrors it).
 */

#include "quickjs.c"

#include <malloc.h>

#define EXPORT(name) __attribute__((export_name(#name)))

/* ---- libc ---- */

/* JSON.parse reads each number with libc's strtod. wasi-libc's (musl's) scans decimals in long
 * double, which wasm32 has only as software 128-bit floats: about a tenth of JSON.parse's time.
 * Here a number of at most 15 significant digits and a power of ten up to 22 is one exact
 * multiplication or division of two exact doubles, so correctly rounded (Clinger's fast path);
 * any other goes to QuickJS's own correctly rounded reader. This strtod serves that one caller,
 * whose input is already a well-formed JSON number: decimal only (no leading space, no "inf",
 * "nan" or hex floats, no errno). */
double strtod(const char *restrict text, char **restrict end)
{
    static const double powers[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = text;
    bool negative = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    uint64_t digits = 0;
    int significant = 0, scale = 0;
    for (; is_digit(*p); p++) {
        if (digits || *p != '0')
            significant++;
        digits = digits * 10 + (uint64_t)(*p - '0');  /* wraps past 19 digits: then unused */
    }
    if (*p == '.') {
        for (p++; is_digit(*p); p++, scale--) {
            if (digits || *p != '0')
                significant++;
            digits = digits * 10 + (uint64_t)(*p - '0');
        }
    }
    if ((*p == 'e' || *p == 'E') && significant <= 15) {
        const char *q = p + 1;
        bool below = *q == '-';
        if (*q == '-' || *q == '+')
            q++;
        int exponent = 0;
        for (; is_digit(*q) && exponent < 1000; q++)
            exponent = exponent * 10 + (*q - '0');
        if (!is_digit(*q)) {
            scale += below ? -exponent : exponent;
            p = q;
        } else {
            significant = 16;  /* an absurd exponent: the slow path */
        }
    } else if (*p == 'e' || *p == 'E') {
        significant = 16;
    }
    if (significant <= 15 && scale >= -22 && scale <= 22) {
        double value = (double)digits;  /* exact: below 10^15 < 2^53 */
        value = scale < 0 ? value / powers[-scale] : value * powers[scale];
        if (end)
            *end = (char *)p;
        return negative ? -value : value;
    }
    JSATODTempMem scratch;
    const char *next;
    double value = js_atod(text, &next, 10, 0, &scratch);
    if (end)
        *end = (char *)next;
    return value;
}

/* ---- the runtime, its heap limit and its graceful stop ---- */

static JSRuntime *runtime;
static JSContext *context;

/* QuickJS's heap limit, enforced in the allocator functions rather than by JS_SetMemoryLimit:
 * when an allocation fails QuickJS builds its `InternalError: out of memory` under the same limit,
 * fails again and throws `null` (and so does every later eval). Here the error gets HEADROOM. */
#define HEADROOM (1u << 20)
static size_t heap_used;
static size_t heap_limit = SIZE_MAX;

static bool may_grow(size_t more)
{
    size_t limit = heap_limit;
    if (runtime && runtime->in_out_of_memory && limit <= SIZE_MAX - HEADROOM)
        limit += HEADROOM;
    return more <= limit && heap_used <= limit - more;
}

static void *heap_calloc(void *opaque, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total) || !may_grow(total))
        return NULL;
    void *block = calloc(count, size);
    if (block)
        heap_used += malloc_usable_size(block);
    return block;
}

static void *heap_malloc(void *opaque, size_t size)
{
    if (!may_grow(size))
        return NULL;
    void *block = malloc(size);
    if (block)
        heap_used += malloc_usable_size(block);
    return block;
}

static void heap_free(void *opaque, void *block)
{
    if (!block)
        return;
    heap_used -= malloc_usable_size(block);
    free(block);
}

static void *heap_realloc(void *opaque, void *block, size_t size)
{
    size_t before = block ? malloc_usable_size(block) : 0;
    if (size > before && !may_grow(size - before))
        return NULL;
    void *moved = realloc(block, size);
    if (moved || !size)
        heap_used = heap_used - before + (moved ? malloc_usable_size(moved) : 0);
    return moved;
}

static size_t heap_usable_size(const void *block)
{
    return malloc_usable_size((void *)block);
}

static const JSMallocFunctions heap_functions = {
    heap_calloc, heap_malloc, heap_free, heap_realloc, heap_usable_size,
};

/* The host's graceful stop (evaluators/wasm/watchdog.py): QuickJS polls its interrupt handler on
 * calls and backward jumps and then throws its uncatchable `interrupted` error. The word lives in a
 * memory of its own that C code cannot address: evaluators/wasm/stop_checks.py replaces the body of
 * this function with a load from it (the volatile read keeps the compiler from assuming its value).
 * Until then it reads a word nothing writes. */
static volatile int no_interrupt;

EXPORT(modrun_interrupted) __attribute__((noinline)) int modrun_interrupted(void)
{
    return no_interrupt;
}

static int interrupt_handler(JSRuntime *rt, void *opaque)
{
    return modrun_interrupted();
}

/* ---- the box: arguments in, results out ---- */

enum {
    KIND_NONE, KIND_NULL, KIND_BOOL, KIND_INT, KIND_FLOAT, KIND_STRING,
    KIND_ENVELOPE, /* an object whose element 0 is JSON text (runner/js/host_api.js `callDirect`) */
    KIND_JSON,     /* an argument only: JSON text, made a string of ASCII only (json_string) */
};

enum {
    STEP_OK, STEP_CALL_THREW, STEP_JOB_THREW, STEP_DRAIN_THREW, STEP_NO_MEMORY,
};

#define MAX_ARGS 8

typedef struct {
    uint32_t kind;
    uint32_t length; /* of a string */
    union {
        double number;
        int32_t integer;
        const char *text; /* a string: UTF-8, not NUL-terminated */
    } u;
} Slot;

typedef struct {
    Slot args[MAX_ARGS];
    Slot result;            /* what the call returned (a string: owned until the next step) */
    Slot drained;           /* what drain returned (KIND_STRING or KIND_NONE) */
    JSValue drain;          /* the runner's drain function, or JS_UNDEFINED */
    JSValue values[MAX_ARGS];
    char inline_text[16384]; /* argument text that fits goes here */
} Box;

/* guest.py mirrors this layout */
_Static_assert(sizeof(Slot) == 16 && offsetof(Box, result) == 128 && offsetof(Box, drained) == 144 &&
               offsetof(Box, drain) == 160 && offsetof(Box, inline_text) == 232, "the box's layout");

static Box box;

static void release(Slot *slot)
{
    if (slot->kind == KIND_STRING || slot->kind == KIND_ENVELOPE)
        JS_FreeCString(context, slot->u.text);
    slot->kind = KIND_NONE;
}

/* Store `value` (not freed here) in `slot` as a plain value; false when a string cannot be made. */
static bool to_slot(JSValue value, Slot *slot)
{
    switch (JS_VALUE_GET_NORM_TAG(value)) {
    case JS_TAG_INT:
        slot->kind = KIND_INT;
        slot->u.integer = JS_VALUE_GET_INT(value);
        return true;
    case JS_TAG_FLOAT64:
        slot->kind = KIND_FLOAT;
        slot->u.number = JS_VALUE_GET_FLOAT64(value);
        return true;
    case JS_TAG_BOOL:
        slot->kind = KIND_BOOL;
        slot->u.integer = JS_VALUE_GET_BOOL(value);
        return true;
    case JS_TAG_NULL:
        slot->kind = KIND_NULL;
        return true;
    case JS_TAG_STRING:
    case JS_TAG_STRING_ROPE: {
        size_t length;
        const char *text = JS_ToCStringLen2(context, &length, value, false);
        if (!text)
            return false;
        slot->kind = KIND_STRING;
        slot->u.text = text;
        slot->length = (uint32_t)length;
        return true;
    }
    case JS_TAG_OBJECT: {
        JSValue first = JS_GetPropertyUint32(context, value, 0);
        bool ok = to_slot(first, slot) && slot->kind == KIND_STRING;
        JS_FreeValue(context, first);
        if (ok)
            slot->kind = KIND_ENVELOPE;
        return ok;
    }
    default:
        slot->kind = KIND_NONE;
        return true;
    }
}

/* The end of the run of ASCII bytes at `p`, eight at a time. */
static const uint8_t *ascii_end(const uint8_t *p, const uint8_t *end)
{
    for (; end - p >= 8; p += 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        if (word & 0x8080808080808080u)
            break;
    }
    while (p < end && *p < 0x80)
        p++;
    return p;
}

static uint8_t *put_escape(uint8_t *out, uint32_t unit)
{
    static const char hex[] = "0123456789abcdef";
    *out++ = '\\';
    *out++ = 'u';
    for (int shift = 12; shift >= 0; shift -= 4)
        *out++ = hex[(unit >> shift) & 15];
    return out;
}

/* JSON text (UTF-8) as a string of ASCII only: each other character as a \uXXXX escape (two beyond
 * the BMP), which JSON.parse reads back as that character (JSON has them only inside strings).
 * The host's messages carry module code, a megabyte for a package's graph: one character beyond
 * Latin-1 would make JS_NewStringLen build the whole text as a 16-bit string, decoded a
 * character at a time, which JSON.parse then encodes back to UTF-8 before it parses. ASCII is
 * copied, and read by JSON.parse where it lies. Bytes that are not UTF-8 decode as
 * JS_NewStringLen decodes them (U+FFFD). */
static JSValue json_string(const Slot *slot)
{
    const uint8_t *start = (const uint8_t *)slot->u.text, *end = start + slot->length, *next;
    size_t length = slot->length;
    for (const uint8_t *p = ascii_end(start, end); p < end; p = ascii_end(next, end)) {
        uint32_t c = utf8_decode_len(p, end - p, &next);
        length += (c > 0xFFFF ? 12 : 6) - (size_t)(next - p);
    }
    if (length == slot->length)
        return JS_NewStringLen(context, slot->u.text, slot->length);
    if (length > JS_STRING_LEN_MAX)
        return JS_ThrowRangeError(context, "invalid string length");
    JSString *str = js_alloc_string(context, length, 0);
    if (!str)
        return JS_EXCEPTION;
    uint8_t *out = str8(str);
    for (const uint8_t *p = start; p < end; p = next) {
        const uint8_t *run = ascii_end(p, end);
        memcpy(out, p, run - p);
        out += run - p;
        if (run == end)
            break;
        uint32_t c = utf8_decode_len(run, end - run, &next);
        if (c > 0xFFFF) {
            out = put_escape(out, get_hi_surrogate(c));
            c = get_lo_surrogate(c);
        }
        out = put_escape(out, c);
    }
    *out = '\0';
    return JS_MKPTR(JS_TAG_STRING, str);
}

static JSValue from_slot(const Slot *slot)
{
    switch (slot->kind) {
    case KIND_NULL: return JS_NULL;
    case KIND_BOOL: return JS_NewBool(context, slot->u.integer);
    case KIND_INT: return JS_NewInt32(context, slot->u.integer);
    case KIND_FLOAT: return JS_NewFloat64(context, slot->u.number);
    case KIND_STRING: return JS_NewStringLen(context, slot->u.text, slot->length);
    case KIND_JSON: return json_string(slot);
    default: return JS_UNDEFINED;
    }
}

/* ---- entry points ---- */

/* Create the runtime and its context (the standard intrinsics only: no qjs:std, no qjs:os, no
 * module loader); 0 on success. libc must have been initialised (`_initialize`). */
EXPORT(modrun_init) int modrun_init(void)
{
    runtime = JS_NewRuntime2(&heap_functions, NULL);
    if (!runtime)
        return -1;
    context = JS_NewContext(runtime);
    if (!context)
        return -1;
    JS_SetInterruptHandler(runtime, interrupt_handler, NULL);
    box.drain = JS_UNDEFINED;
    box.result.kind = box.drained.kind = KIND_NONE;
    return 0;
}

EXPORT(modrun_context) JSContext *modrun_context(void) { return context; }
EXPORT(modrun_box) Box *modrun_box(void) { return &box; }

/* The heap limit (bytes, 0 for none) and the stack QuickJS may use before it throws a RangeError
 * (the linker's stack comes first in memory, so going past it traps instead of corrupting). */
EXPORT(modrun_set_limits) void modrun_set_limits(size_t heap, size_t stack)
{
    heap_limit = heap ? heap : SIZE_MAX;
    JS_SetMaxStackSize(runtime, stack);
}

/* The first cycle collection comes once the heap holds `first` bytes (evaluators/first_gc.py says why);
 * after it, QuickJS's own rule applies. Set, not only raised: an instance of a snapshot inherits the
 * threshold its boot left, which can be past half a small heap limit. Returns the threshold now in
 * effect (0 changes nothing: the host reads it). */
EXPORT(modrun_defer_gc) size_t modrun_defer_gc(size_t first)
{
    if (first)
        JS_SetGCThreshold(runtime, first);
    return JS_GetGCThreshold(runtime);
}

/* A fresh Math.random state and performance.now() zero for a sandbox made from a snapshot (the
 * snapshot holds the booted runtime's). */
EXPORT(modrun_reseed) void modrun_reseed(uint64_t seed)
{
    context->random_state = seed ? seed : 1;
    context->time_origin = js__now_ms();
}

EXPORT(modrun_set_drain) void modrun_set_drain(JSValue drain) { box.drain = drain; }

/* The engine's HostPromiseRejectionTracker calls the runtime's `track` (runner/js/event_loop.js):
 * a promise rejected with no handler can only be told by the engine. An exception from the call
 * (an interrupt) is dropped: the engine raises it again at its next check. */
static JSValue track;

static void rejection_tracker(JSContext *ctx, JSValueConst promise, JSValueConst reason, bool is_handled,
                              void *opaque)
{
    JSValue argv[3] = {promise, reason, JS_NewBool(ctx, is_handled)};
    JSValue result = JS_Call(ctx, track, JS_UNDEFINED, 3, argv);
    if (JS_IsException(result))
        result = JS_GetException(ctx);
    JS_FreeValue(ctx, result);
}

EXPORT(modrun_set_rejection_tracker) void modrun_set_rejection_tracker(JSValue function)
{
    track = function;
    JS_SetHostPromiseRejectionTracker(runtime, rejection_tracker, NULL);
}

/* One round trip in one call from the host:
 * 1. free the strings the previous step handed out;
 * 2. unless `fn` is 0, call it with `argc` arguments from box.args and put its plain result in
 *    box.result;
 * 3. run pending jobs until there are none;
 * 4. call box.drain, if set, and put its string in box.drained.
 * Returns STEP_OK or where it stopped (the exception is left pending for the host to read). */
EXPORT(modrun_step) int modrun_step(JSValue fn, int argc)
{
    release(&box.result);
    release(&box.drained);
    if (fn != 0) {
        if (argc < 0 || argc > MAX_ARGS)
            return STEP_CALL_THREW;
        for (int i = 0; i < argc; i++) {
            box.values[i] = from_slot(&box.args[i]);
            if (JS_IsException(box.values[i])) {
                while (i-- > 0)
                    JS_FreeValue(context, box.values[i]);
                return STEP_NO_MEMORY;
            }
        }
        JSValue result = JS_Call(context, fn, JS_UNDEFINED, argc, box.values);
        for (int i = 0; i < argc; i++)
            JS_FreeValue(context, box.values[i]);
        if (JS_IsException(result))
            return STEP_CALL_THREW;
        bool ok = to_slot(result, &box.result);
        JS_FreeValue(context, result);
        if (!ok)
            return STEP_NO_MEMORY;
    }
    for (;;) {
        /* A job the stop interrupts only rejects its promise, and the next job runs on: the loop
         * itself must stop once the host has asked, or a job flood runs on to the hard stop. */
        if (modrun_interrupted()) {
            JS_ThrowInternalError(context, "interrupted");
            return STEP_JOB_THREW;
        }
        JSContext *job_context;
        int done = JS_ExecutePendingJob(runtime, &job_context);
        if (done < 0)
            return STEP_JOB_THREW;
        if (done == 0)
            break;
    }
    if (!JS_IsUndefined(box.drain)) {
        JSValue drained = JS_Call(context, box.drain, JS_UNDEFINED, 0, NULL);
        if (JS_IsException(drained))
            return STEP_DRAIN_THREW;
        int tag = JS_VALUE_GET_TAG(drained);
        bool ok = (tag != JS_TAG_STRING && tag != JS_TAG_STRING_ROPE) || to_slot(drained, &box.drained);
        JS_FreeValue(context, drained);
        if (!ok)
            return STEP_NO_MEMORY;
    }
    return STEP_OK;
}

/* Where the characters of string `value` lie, for the host to copy them out as they are, without
 * a conversion to UTF-8 in the guest (takeAll's answer: the sources of a whole graph, which one
 * character beyond Latin-1 makes 16-bit): their count in out[0], 1 in out[1] when they are
 * UTF-16 code units, 0 when Latin-1. NULL when `value` is not a string that is flat. Valid
 * while `value` lives. */
EXPORT(modrun_string_chars) const void *modrun_string_chars(JSValue value, uint32_t *out)
{
    if (JS_VALUE_GET_TAG(value) != JS_TAG_STRING)
        return NULL;
    JSString *str = JS_VALUE_GET_STRING(value);
    out[0] = str->len;
    out[1] = str->is_wide_char;
    return strv(str);
}

/* A batch of sources compiled to bytecode in one call (evaluators/wasm/wrappers.py), where one call
 * to compile, one to write, one to free the bytes and one to free the function cost a crossing each
 * per source. `batch` holds `count` pairs of u32 (filled in here), then `count` u32 lengths, then the
 * UTF-8 sources one after the other, each followed by a NUL (JS_Eval reads one byte past the end).
 * Each is compiled as global code, not run, and written as bytecode (JS_WriteObject); pair i gets
 * the bytes' address and size, or 0 and 0 where that failed (a syntax error, out of memory: the
 * runner then compiles the module itself and reports), its exception dropped. The bytes are the
 * caller's to free with modrun_free_compiled. */
EXPORT(modrun_compile_batch) void modrun_compile_batch(uint8_t *batch, uint32_t count, const char *filename)
{
    const uint8_t *lengths = batch + 8 * (size_t)count;
    const char *source = (const char *)lengths + 4 * (size_t)count;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t length, pair[2] = {0, 0};
        memcpy(&length, lengths + 4 * (size_t)i, 4);
        JSValue function = JS_Eval(context, source, length, filename, JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
        if (!JS_IsException(function)) {
            size_t size;
            uint8_t *bytes = JS_WriteObject(context, &size, function, JS_WRITE_OBJ_BYTECODE);
            JS_FreeValue(context, function);
            if (bytes) {
                pair[0] = (uint32_t)(uintptr_t)bytes;
                pair[1] = (uint32_t)size;
            }
        }
        if (!pair[0])
            JS_FreeValue(context, JS_GetException(context));
        memcpy(batch + 8 * (size_t)i, pair, 8);
        source += length + 1;
    }
}

/* The bytes of a batch modrun_compile_batch filled in. */
EXPORT(modrun_free_compiled) void modrun_free_compiled(const uint8_t *batch, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        uint32_t bytes;
        memcpy(&bytes, batch + 8 * (size_t)i, 4);
        if (bytes)
            js_free(context, (void *)(uintptr_t)bytes);
    }
}

/* Bytecode back into a value, and run it (global code) or evaluate a module; JS_EXCEPTION on
 * failure. Only ever given bytes this engine wrote: QuickJS does not validate bytecode. JS_ReadObject
 * copies what it keeps (no JS_READ_OBJ_ROM_DATA), so the bytes may be freed after. */
static JSValue modrun_run_bytecode(const uint8_t *bytes, size_t size)
{
    JSValue function = JS_ReadObject(context, bytes, size, JS_READ_OBJ_BYTECODE);
    if (JS_IsException(function))
        return function;
    return JS_EvalFunction(context, function);
}

/* A batch of compiled wrappers answered in one call (evaluators/wasm/wrappers.py), where one call
 * per wrapper, one for `compiled` and one free per wrapper cost a crossing each. `batch` holds
 * `count` little-endian u32 lengths, then the bytecodes one after the other; a length of 0 is a
 * wrapper the host has none for. Each is run as modrun_run_bytecode runs it; one that fails (out of
 * memory, interrupted) is undefined and its exception dropped: the runner compiles that module
 * itself and reports. Then `compiled(...wrappers)` is called and everything freed. Returns false
 * when `compiled` threw (the exception left pending for the host to read). */
EXPORT(modrun_answer_compiled) bool modrun_answer_compiled(JSValue compiled, const uint8_t *batch, uint32_t count)
{
    JSValue *wrappers = count ? js_malloc(context, count * sizeof(JSValue)) : NULL;
    if (count && !wrappers) {  /* no room for the answer: none is compiled, the runner compiles them all */
        JS_FreeValue(context, JS_GetException(context));
        count = 0;
    }
    const uint8_t *bytes = batch + 4 * (size_t)count;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t size;
        memcpy(&size, batch + 4 * (size_t)i, 4);
        wrappers[i] = size ? modrun_run_bytecode(bytes, size) : JS_UNDEFINED;
        if (JS_IsException(wrappers[i])) {
            JS_FreeValue(context, JS_GetException(context));
            wrappers[i] = JS_UNDEFINED;
        }
        bytes += size;
    }
    JSValue result = JS_Call(context, compiled, JS_UNDEFINED, (int)count, wrappers);
    for (uint32_t i = 0; i < count; i++)
        JS_FreeValue(context, wrappers[i]);
    js_free(context, wrappers);
    if (JS_IsException(result))
        return false;
    JS_FreeValue(context, result);
    return true;
}

EXPORT(modrun_gc) void modrun_gc(void) { JS_RunGC(runtime); }
