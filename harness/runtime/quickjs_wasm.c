/* isobench QuickJS-in-WebAssembly runtime: the wasm counterpart of
 * node_runner.js. Built with QuickJS-NG (third_party/quickjs-ng) for
 * wasm32-wasi as a reactor by harness/wasm_module.py.
 *
 * The harness evaluates the very same bundle here as in every other backend
 * (prelude.js + the worker with its exports rewritten); `sayHello` comes from
 * the prelude. The host talks through one growable I/O buffer in linear
 * memory: it writes the input bytes at io.ptr, calls an export with their
 * length, and reads the answer back. Each export returns
 *   (uint64_t)answer_ptr << 32 | answer_len | STATUS bits in bit 31..30
 * so one call and one memory read make a round trip.
 *
 * wasm-wizer: isobench_wizer_init is Wizer's init function. It does what
 * isobench_init + isobench_load do, with the bundle read from stdin, and
 * Wizer snapshots the result; each instance of the snapshot then only calls
 * isobench_resume (per-instance state a snapshot cannot hold).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "quickjs.h"

#define EXPORT(name) __attribute__((export_name(name)))

#define STATUS_ERROR (1u << 31)       /* a JS exception; the answer is its message */
#define STATUS_NO_MEMORY (1u << 30)   /* out of memory, no message */
#define LENGTH_MASK ((1u << 30) - 1)

struct io {
    uint32_t ptr;  /* the buffer: host input, then the answer */
    uint32_t cap;
};

static struct io io;
static JSRuntime *rt;
static JSContext *ctx;
/* pending: __isobench.PENDING, the answer that means "a promise: read it with settled()". */
static JSValue call_fn, engine_fn, settled_fn, pending, this_obj;

/* Make the buffer hold at least n bytes; 0 if memory ran out. */
EXPORT("isobench_reserve")
uint32_t isobench_reserve(uint32_t n)
{
    if (n <= io.cap)
        return io.ptr;
    uint32_t cap = io.cap ? io.cap : 4096;
    while (cap < n)
        cap *= 2;
    char *grown = realloc((char *)(uintptr_t)io.ptr, cap);
    if (!grown)
        return 0;
    io.ptr = (uint32_t)(uintptr_t)grown;
    io.cap = cap;
    return io.ptr;
}

EXPORT("isobench_io")
uint32_t isobench_io(void)
{
    return (uint32_t)(uintptr_t)&io;
}

static uint64_t answer(const char *text, size_t len, uint32_t status)
{
    if (len > LENGTH_MASK)
        len = LENGTH_MASK;
    if (!isobench_reserve((uint32_t)len + 1))
        return STATUS_NO_MEMORY;
    memcpy((char *)(uintptr_t)io.ptr, text, len);
    return ((uint64_t)io.ptr << 32) | (uint32_t)len | status;
}

/* A JS value (or the pending exception, when status is STATUS_ERROR) as the answer. */
static uint64_t answer_value(JSValue value, uint32_t status)
{
    size_t len;
    const char *text;
    if (status == STATUS_ERROR) {
        JSValue error = JS_GetException(ctx);
        text = JS_ToCStringLen(ctx, &len, error);
        JS_FreeValue(ctx, error);
    } else {
        text = JS_ToCStringLen(ctx, &len, value);
        JS_FreeValue(ctx, value);
    }
    if (!text) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        return status == STATUS_ERROR ? answer("exception", 9, STATUS_ERROR) : STATUS_NO_MEMORY;
    }
    uint64_t result = answer(text, len, status);
    JS_FreeCString(ctx, text);
    return result;
}

/* Run the jobs (promise reactions) the last call queued, as V8 runs its
 * microtasks at the end of a script; then a PENDING answer is read through
 * __isobench.settled(). Any other value passes through. */
static JSValue settle(JSValue result)
{
    JSContext *job_ctx;
    while (JS_ExecutePendingJob(rt, &job_ctx) > 0)
        ;
    if (JS_IsException(result) || !JS_IsStrictEqual(ctx, result, pending))
        return result;
    JS_FreeValue(ctx, result);
    return JS_Call(ctx, settled_fn, this_obj, 0, NULL);
}

/* Create the runtime and context. memory_limit 0 means none (the Store's
 * limit on linear memory still applies). stack_limit bounds the C stack that
 * JS recursion may use, so that deep recursion is a JS RangeError before the
 * engine's own wasm stack runs out (which would trap). */
EXPORT("isobench_init")
int32_t isobench_init(uint32_t memory_limit, uint32_t stack_limit)
{
    if (rt)
        return -1;
    rt = JS_NewRuntime();
    if (!rt)
        return -2;
    if (memory_limit)
        JS_SetMemoryLimit(rt, memory_limit);
    if (stack_limit)
        JS_SetMaxStackSize(rt, stack_limit);
    ctx = JS_NewContext(rt);
    if (!ctx)
        return -3;
    call_fn = engine_fn = settled_fn = pending = this_obj = JS_UNDEFINED;
    return isobench_reserve(4096) ? 0 : -4;
}

/* Evaluate the bundle (len bytes in the buffer) as a classic script and keep
 * __isobench.call and __isobench.engineJSON and __isobench.settled for later calls. */
EXPORT("isobench_load")
uint64_t isobench_load(uint32_t len)
{
    JSValue result = JS_Eval(ctx, (const char *)(uintptr_t)io.ptr, len, "worker.js", JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(result))
        return answer_value(JS_UNDEFINED, STATUS_ERROR);
    JS_FreeValue(ctx, result);
    JSValue global = JS_GetGlobalObject(ctx);
    this_obj = JS_GetPropertyStr(ctx, global, "__isobench");
    JS_FreeValue(ctx, global);
    call_fn = JS_GetPropertyStr(ctx, this_obj, "call");
    engine_fn = JS_GetPropertyStr(ctx, this_obj, "engineJSON");
    settled_fn = JS_GetPropertyStr(ctx, this_obj, "settled");
    pending = JS_GetPropertyStr(ctx, this_obj, "PENDING");
    JSValue handler = JS_GetPropertyStr(ctx, this_obj, "handler");
    int ok = JS_IsFunction(ctx, call_fn) && JS_IsFunction(ctx, engine_fn) && JS_IsFunction(ctx, settled_fn) &&
             JS_IsFunction(ctx, handler);
    JS_FreeValue(ctx, handler);
    if (!ok)
        return answer("Error: the bundle did not register a handler", 44, STATUS_ERROR);
    JSValue clock = JS_GetPropertyStr(ctx, this_obj, "clock");
    return answer_value(clock, 0);
}

/* __isobench.call(arg) with arg = the len bytes in the buffer; the answer is
 * String(result). */
EXPORT("isobench_call")
uint64_t isobench_call(uint32_t len)
{
    JSValue arg = JS_NewStringLen(ctx, (const char *)(uintptr_t)io.ptr, len);
    if (JS_IsException(arg))
        return answer_value(JS_UNDEFINED, STATUS_ERROR);
    JSValue result = settle(JS_Call(ctx, call_fn, this_obj, 1, &arg));
    JS_FreeValue(ctx, arg);
    if (JS_IsException(result))
        return answer_value(JS_UNDEFINED, STATUS_ERROR);
    return answer_value(result, 0);
}

/* __isobench.engineJSON(arg, min_ms): engineTime as JSON text. */
EXPORT("isobench_engine")
uint64_t isobench_engine(uint32_t len, double min_ms)
{
    JSValue args[2];
    args[0] = JS_NewStringLen(ctx, (const char *)(uintptr_t)io.ptr, len);
    if (JS_IsException(args[0]))
        return answer_value(JS_UNDEFINED, STATUS_ERROR);
    args[1] = JS_NewFloat64(ctx, min_ms);
    JSValue json = settle(JS_Call(ctx, engine_fn, this_obj, 2, args));
    JS_FreeValue(ctx, args[0]);
    if (JS_IsException(json))
        return answer_value(JS_UNDEFINED, STATUS_ERROR);
    return answer_value(json, 0);
}

/* The transport alone: the input comes back without entering JS. */
EXPORT("isobench_echo")
uint64_t isobench_echo(uint32_t len)
{
    return ((uint64_t)io.ptr << 32) | len;
}

EXPORT("isobench_version")
const char *isobench_version(void)
{
    return JS_GetVersion();
}

/* -- wasm-wizer: pre-initialisation and resume -------------------------------- */

/* Math.random and performance are replaced before the bundle runs, with the
 * same algorithm and clock as QuickJS's own, so that their state (the seed,
 * the time origin) is set per instance by isobench_resume instead of being
 * frozen into the snapshot. */
static uint64_t random_state = 1;
static double time_origin_ms;
static JSValue performance_obj = JS_UNDEFINED;
static double init_deadline_ms;  /* isobench_wizer_init: a wall-time limit on evaluating the bundle */
static int init_interrupted;

static double monotonic_ms(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t))
        return 0;
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static JSValue math_random(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv)
{
    /* xorshift64*, then 52 bits as a double in [0, 1): QuickJS's js_math_random */
    uint64_t x = random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    random_state = x;
    union { uint64_t u; double d; } u;
    u.u = ((uint64_t)0x3ff << 52) | ((x * 0x2545F4914F6CDD1DULL) >> 12);
    return JS_NewFloat64(c, u.d - 1.0);
}

static JSValue performance_now(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv)
{
    return JS_NewFloat64(c, monotonic_ms() - time_origin_ms);
}

static int replace_clock_and_random(void)
{
    /* Seeded now for the bundle's top level (its values are then the snapshot's), again by resume. */
    if (getentropy(&random_state, sizeof random_state) != 0 || random_state == 0)
        return -1;
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue math = JS_GetPropertyStr(ctx, global, "Math");
    int failed = JS_SetPropertyStr(ctx, math, "random", JS_NewCFunction(ctx, math_random, "random", 0)) < 0;
    JS_FreeValue(ctx, math);
    /* As QuickJS's: `now` enumerable only; `timeOrigin` also configurable, so that resume can set it. */
    time_origin_ms = monotonic_ms();
    performance_obj = JS_NewObject(ctx);
    failed |= JS_DefinePropertyValueStr(ctx, performance_obj, "now",
                                        JS_NewCFunction(ctx, performance_now, "now", 0), JS_PROP_ENUMERABLE) < 0;
    failed |= JS_DefinePropertyValueStr(ctx, performance_obj, "timeOrigin", JS_NewFloat64(ctx, time_origin_ms),
                                        JS_PROP_ENUMERABLE | JS_PROP_CONFIGURABLE) < 0;
    failed |= JS_DefinePropertyValueStr(ctx, global, "performance", JS_DupValue(ctx, performance_obj),
                                        JS_PROP_WRITABLE | JS_PROP_ENUMERABLE | JS_PROP_CONFIGURABLE) < 0;
    JS_FreeValue(ctx, global);
    return failed ? -1 : 0;
}

static int init_interrupt(JSRuntime *runtime, void *opaque)
{
    if (monotonic_ms() < init_deadline_ms)
        return 0;
    init_interrupted = 1;
    return 1;
}

/* One line on stderr for the host ("isobench-wizer: KIND: message"), then a
 * trap, so that Wizer fails and writes no module. */
static void init_failed(const char *kind, const char *message, size_t len)
{
    fprintf(stderr, "isobench-wizer: %s: %.*s\n", kind, (int)len, message);
    fflush(stderr);
    __builtin_trap();
}

/* Read all of stdin into the I/O buffer; its length, or -1. */
static int64_t read_stdin(void)
{
    size_t len = 0;
    for (;;) {
        if (!isobench_reserve((uint32_t)len + 65536))
            return -1;
        ssize_t got = read(0, (char *)(uintptr_t)io.ptr + len, io.cap - len);
        if (got < 0)
            return -1;
        if (got == 0)
            return (int64_t)len;
        len += (size_t)got;
    }
}

/* Wizer's init function. stdin: "STACK_LIMIT MEMORY_LIMIT TIME_LIMIT_MS\n"
 * then the bundle. The memory limit (QuickJS's malloc limit, 0: none) and the
 * time limit hold while the bundle is evaluated and are lifted before the
 * snapshot; the stack limit stays. */
EXPORT("isobench_wizer_init")
void isobench_wizer_init(void)
{
    int64_t total = read_stdin();
    if (total < 0)
        init_failed("init", "cannot read the bundle from stdin", 33);
    char *text = (char *)(uintptr_t)io.ptr;
    char *newline = memchr(text, '\n', (size_t)total);
    unsigned long stack_limit = 0, memory_limit = 0;
    double time_limit_ms = 0;
    if (!newline || sscanf(text, "%lu %lu %lf", &stack_limit, &memory_limit, &time_limit_ms) != 3)
        init_failed("init", "no header line on stdin", 23);
    size_t header = (size_t)(newline - text) + 1;
    size_t len = (size_t)total - header;
    memmove(text, text + header, len);
    text[len] = '\0';  /* JS_Eval reads up to a NUL */
    if (isobench_init(0, (uint32_t)stack_limit) != 0)
        init_failed("init", "the QuickJS runtime did not start", 33);
    if (replace_clock_and_random() != 0)
        init_failed("init", "cannot replace Math.random and performance", 42);
    JS_SetMemoryLimit(rt, memory_limit);
    init_deadline_ms = monotonic_ms() + time_limit_ms;
    JS_SetInterruptHandler(rt, init_interrupt, NULL);
    uint64_t result = isobench_load((uint32_t)len);
    JS_SetInterruptHandler(rt, NULL, NULL);
    JS_SetMemoryLimit(rt, 0);
    const char *message = (const char *)(uintptr_t)(result >> 32);
    uint32_t message_len = (uint32_t)result & LENGTH_MASK;
    if (init_interrupted)
        init_failed("timeout", message, message_len);
    if (result & STATUS_NO_MEMORY)
        init_failed("memory", "out of memory", 13);
    if (result & STATUS_ERROR)
        init_failed(memory_limit && strstr(message, "out of memory") ? "memory" : "load", message, message_len);
    /* The bundle's text is not needed any more: zeroed pages stay out of the snapshot. */
    memset((char *)(uintptr_t)io.ptr, 0, io.cap);
    free((char *)(uintptr_t)io.ptr);
    io.ptr = io.cap = 0;
    JS_RunGC(rt);
    if (!isobench_reserve(4096))
        init_failed("memory", "out of memory", 13);
}

/* Per-instance state of a pre-initialised instance: Math.random's seed (from
 * WASI's random_get, as secure as the host's), the performance clock's origin
 * and QuickJS's idea of the stack top. Returns 0, or -1 if it had no entropy. */
EXPORT("isobench_resume")
int32_t isobench_resume(void)
{
    if (!rt)
        return -2;
    JS_UpdateStackTop(rt);
    int status = getentropy(&random_state, sizeof random_state) == 0 ? 0 : -1;
    if (status != 0)
        random_state = (uint64_t)(monotonic_ms() * 1e3);
    if (random_state == 0)
        random_state = 1;
    time_origin_ms = monotonic_ms();
    JS_DefinePropertyValueStr(ctx, performance_obj, "timeOrigin", JS_NewFloat64(ctx, time_origin_ms),
                              JS_PROP_ENUMERABLE | JS_PROP_CONFIGURABLE);
    return status;
}
