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
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
