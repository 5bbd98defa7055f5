"""What the two stpyv8 backends share: V8 driven in the calling thread.

stpyv8 (PyPI `stpyv8`, pinned) is a Boost.Python binding that runs V8 on the
thread that calls it: `JSContext.eval` compiles and runs the script right there
and converts the answer, with no thread hop and no serialization. Its wheel
exports V8's own C++ API, which this module reaches through ctypes for what
stpyv8 does not wrap:

- `v8::Isolate::GetCurrent` (the raw isolate pointer), `TerminateExecution` and
  `CancelTerminateExecution`: the call timeout. A watchdog thread, one per
  backend, terminates the running script once its deadline passes
  (TerminateExecution is V8's thread-safe way to stop a script).
- `GetHeapStatistics` and `LowMemoryNotification`: V8 heap figures and a full GC.
- `AddNearHeapLimitCallback` / `RemoveNearHeapLimitCallback` and
  `RequestInterrupt`: the memory limit, which counts the V8 heap plus the
  memory outside it that V8 accounts as external (ArrayBuffer and typed-array
  contents). Removing a callback with a heap limit lowers the isolate's
  old-generation limit to that value (V8 keeps at least 1.25x the live size);
  the callback added afterwards runs when the heap nears it, terminates the
  running script and grants a little headroom so that V8 can unwind instead
  of aborting. External memory never reaches that limit, so while a script
  runs the watchdog also asks V8, every tick, for an interrupt on the
  isolate's thread that reads the heap statistics and terminates the script
  once heap + external memory pass the limit (it may overshoot by what the
  script allocates in one tick).

Known gap, measured here: in stpyv8's V8 (13.1) a few allocation-heavy loops
(`for (;;) new Array(1000).fill(1)`) never service TerminateExecution or any
interrupt, so neither limit can stop them; such a call runs until it returns
or V8 aborts the whole process at its default heap limit. py_mini_racer's V8
(14.x) stops the same loop. This is in-process isolation: a fatal V8 error
ends the harness.

Calls go through `JSContext.eval` of a source string, never through a JS
function object: calling a function object that is terminated mid-way is a
fatal `ToLocalChecked` in this build, while `eval` returns cleanly.

stpyv8 starts V8's platform and a default isolate when it is imported; that
is a one-time cost of the process, outside every cold start here. Contexts
are made with the raw `_STPyV8.JSContext`, without the `v8::Locker` that the
Python `JSContext` class takes and never releases, so instances are bound to
the thread that made them (checked on every operation).
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import importlib.metadata
import json
import os
import pwd
import threading
import time
import weakref

from harness.backends.base import (
    BackendError,
    CallTimeout,
    Instance,
    InstanceCrashed,
    Limits,
    MemoryLimitExceeded,
    WorkerLoadError,
)
from harness.runtime.worker import PENDING


def _import_stpyv8():
    """Import stpyv8. Its platform start-up builds a std::string from $HOME and
    fails without one ("basic_string::_M_construct null not valid"), as in a
    child with a controlled environment; HOME is then set to the user's home
    directory for the import only."""
    added = "HOME" not in os.environ
    if added:
        os.environ["HOME"] = pwd.getpwuid(os.getuid()).pw_dir
    try:
        import STPyV8 as module
    finally:
        if added:
            del os.environ["HOME"]
    return module


@functools.cache
def _loaded() -> tuple[object, str]:
    """(STPyV8, "") or (None, why not), imported on first use: its import starts
    V8's platform, which a process that only reads a backend's class (the run
    manager) must not pay or risk."""
    try:
        return _import_stpyv8(), ""
    except (ImportError, RuntimeError, MemoryError) as error:
        return None, f"{type(error).__name__}: {error}"


def _engine():
    return _loaded()[0]

SAFETY_TIMEOUT_S = 600.0  # when Limits has no time limit
TICK_S = 0.01  # watchdog period: a timeout fires within TICK_S of its deadline
HEADROOM_BYTES = 32 << 20  # heap granted past the limit so a terminated script can unwind
NearHeapLimit = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t)
InterruptCallback = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
PRIMITIVES = (str, int, float, bool, type(None))


class HeapStatistics(ctypes.Structure):
    """v8::HeapStatistics (v8-statistics.h; the layout is stable across V8 10-14),
    with spare room at the end in case a field is added."""

    _fields_ = [(name, ctypes.c_size_t) for name in (
        "total_heap_size", "total_heap_size_executable", "total_physical_size", "total_available_size",
        "used_heap_size", "heap_size_limit", "malloced_memory", "external_memory", "peak_malloced_memory")]
    _fields_ += [("does_zap_garbage", ctypes.c_bool)]
    _fields_ += [(name, ctypes.c_size_t) for name in (
        "number_of_native_contexts", "number_of_detached_contexts",
        "total_global_handles_size", "used_global_handles_size")]
    _fields_ += [("_spare", ctypes.c_size_t * 16)]


class V8Api:
    """The few V8 C++ entry points stpyv8's wheel exports, by mangled name."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(_engine()._STPyV8.__file__)
        pointer = ctypes.c_void_p

        def function(symbol: str, result, *args):
            found = getattr(lib, symbol)
            found.restype, found.argtypes = result, list(args)
            return found

        self.get_current = function("_ZN2v87Isolate10GetCurrentEv", pointer)
        self.terminate = function("_ZN2v87Isolate18TerminateExecutionEv", None, pointer)
        self.cancel_terminate = function("_ZN2v87Isolate24CancelTerminateExecutionEv", None, pointer)
        self.heap_statistics = function("_ZN2v87Isolate17GetHeapStatisticsEPNS_14HeapStatisticsE",
                                        None, pointer, ctypes.POINTER(HeapStatistics))
        self.low_memory = function("_ZN2v87Isolate21LowMemoryNotificationEv", None, pointer)
        self.add_near_heap_limit = function("_ZN2v87Isolate24AddNearHeapLimitCallbackEPFmPvmmES1_",
                                            None, pointer, NearHeapLimit, pointer)
        self.remove_near_heap_limit = function("_ZN2v87Isolate27RemoveNearHeapLimitCallbackEPFmPvmmEm",
                                               None, pointer, NearHeapLimit, ctypes.c_size_t)
        self.request_interrupt = function("_ZN2v87Isolate16RequestInterruptEPFvPS0_PvES2_",
                                          None, pointer, InterruptCallback, pointer)

    def heap(self, isolate: int) -> HeapStatistics:
        stats = HeapStatistics()
        self.heap_statistics(isolate, ctypes.byref(stats))
        return stats


_API: V8Api | None = None


def v8_api() -> V8Api:
    global _API
    if _API is None:
        _API = V8Api()
    return _API


def availability_problem() -> str:
    """Why stpyv8 cannot be used here, or ''."""
    if _engine() is None:
        return f"stpyv8 (PyPI) is not importable: {_loaded()[1]}"
    try:
        v8_api()
    except (OSError, AttributeError) as error:
        return f"stpyv8's library does not export the V8 API this backend needs: {error}"
    return ""


def versions() -> dict[str, str]:
    return {"v8": _engine().JSEngine.version, "stpyv8": importlib.metadata.version("stpyv8")}


class Watchdog:
    """One thread per backend that terminates a script past its deadline.

    arm() and disarm() bracket every script run. The lock makes "still the same
    run, so terminate it" atomic against disarm(), so a termination can never
    land on a later run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run: tuple | None = None  # (isolate pointer, deadline, serial, HeapLimit or None)
        self._serial = 0
        self.fired: int | None = None  # serial of the run that was terminated
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def arm(self, isolate: int, seconds: float, heap_limit: "HeapLimit | None" = None) -> int:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="isobench-stpyv8-watchdog", daemon=True)
            self._thread.start()
        with self._lock:
            self._serial += 1
            self._run = (isolate, time.monotonic() + seconds, self._serial, heap_limit)
            return self._serial

    def disarm(self, serial: int) -> bool:
        """End the run; True if it was terminated for its deadline."""
        with self._lock:
            self._run = None
            return self.fired == serial

    def _watch(self) -> None:
        api = v8_api()
        while not self._stop.wait(TICK_S):
            run = self._run
            if run is None:
                continue
            if run[3] is not None:
                run[3].request_check()
            if time.monotonic() < run[1]:
                continue
            with self._lock:
                if self._run is run and self.fired != run[2]:
                    self.fired = run[2]
                    api.terminate(run[0])

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class HeapLimit:
    """Limits.memory_bytes as an isolate's heap limit; see the module docstring."""

    def __init__(self, isolate: int, limit_bytes: int) -> None:
        self.isolate = isolate
        self.limit_bytes = limit_bytes
        self.hit = False
        self._callback = NearHeapLimit(self._near_limit)  # kept alive while registered
        self._registered = False
        self._interrupt = InterruptCallback(self._check)  # kept alive while requested
        self._pending = False
        self.apply()

    def apply(self) -> None:
        """(Re)set the heap limit to limit_bytes: must run with the isolate entered."""
        api = v8_api()
        lowering = NearHeapLimit(lambda data, current, initial: current)
        if self._registered:  # removing an unregistered callback is fatal in V8
            api.remove_near_heap_limit(self.isolate, self._callback, 0)
        api.add_near_heap_limit(self.isolate, lowering, None)
        api.remove_near_heap_limit(self.isolate, lowering, self.limit_bytes)
        api.add_near_heap_limit(self.isolate, self._callback, None)
        self._registered = True

    def restore(self, isolate) -> None:
        """After a hit in a shared isolate: collect the garbage and set the limit again."""
        isolate.enter()
        try:
            v8_api().low_memory(self.isolate)
            self.apply()
        finally:
            isolate.leave()
        self.hit = False

    def request_check(self) -> None:
        """From the watchdog thread: have the isolate's thread run _check soon."""
        if not self._pending and not self.hit:
            self._pending = True
            v8_api().request_interrupt(self.isolate, self._interrupt, None)

    def _check(self, isolate, data) -> None:
        # Runs on the isolate's thread, between two JS operations.
        self._pending = False
        stats = v8_api().heap(self.isolate)
        if not self.hit and stats.used_heap_size + stats.external_memory > self.limit_bytes:
            self.hit = True
            v8_api().terminate(self.isolate)

    def _near_limit(self, data, current: int, initial: int) -> int:
        # Runs on the isolate's thread, inside a GC. Terminate the script and
        # grant headroom; if the script ignores the termination (see the
        # module docstring), keep granting up to V8's own initial limit.
        if not self.hit:
            self.hit = True
            v8_api().terminate(self.isolate)
            return current + HEADROOM_BYTES
        return current + HEADROOM_BYTES if current < initial else current


_INSTANCES: "weakref.WeakSet[ContextInstance]" = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    """Contexts must go before their isolates: left to interpreter teardown,
    the order is arbitrary and V8 crashes the exiting process."""
    for instance in list(_INSTANCES):
        instance.stop()


def time_limit_s(limits: Limits) -> float:
    seconds = [s for s in (limits.call_timeout_s, limits.cpu_time_s) if s is not None]
    return min(seconds) if seconds else SAFETY_TIMEOUT_S


class ScriptError(Exception):
    """A JS exception, as text (the JSError itself holds V8 handles)."""


class ContextInstance(Instance):
    """One JSContext (in its own isolate or a shared one) holding the loaded worker.

    Every operation enters the isolate and the context, evaluates a source
    string under the watchdog, converts the answer and leaves both again."""

    def __init__(self, isolate, isolate_ptr: int, watchdog: Watchdog, seconds: float,
                 heap_limit: HeapLimit | None = None, shared_isolate: bool = False) -> None:
        self.isolate = isolate
        self.isolate_ptr = isolate_ptr
        self.watchdog = watchdog
        self.seconds = seconds
        self.heap_limit = heap_limit
        self.shared_isolate = shared_isolate
        self.thread = threading.get_ident()
        self.context = None
        _INSTANCES.add(self)
        self.isolate.enter()
        try:
            self.context = _engine()._STPyV8.JSContext(None)
        finally:
            self.isolate.leave()

    def _eval(self, source: str, what: str):
        if self.context is None:
            raise InstanceCrashed(f"{what}: the instance was stopped")
        if threading.get_ident() != self.thread:
            raise BackendError(f"{what}: an stpyv8 instance is bound to the thread that made it")
        serial = self.watchdog.arm(self.isolate_ptr, self.seconds, self.heap_limit)
        answer, failure = None, None
        self.isolate.enter()
        self.context.enter()
        try:
            answer = self.context.eval(source)
            if not isinstance(answer, PRIMITIVES):  # no V8 handle may outlive the isolate
                answer = str(answer)
        except Exception as error:  # noqa: BLE001 - stpyv8 raises JSError or SyntaxError, TypeError...
            failure = _first_line(error)  # read while the isolate is entered, then dropped
        finally:
            self.context.leave()
            self.isolate.leave()
            terminated = self.watchdog.disarm(serial)
        memory_hit = self.heap_limit is not None and self.heap_limit.hit
        if terminated or memory_hit:
            v8_api().cancel_terminate(self.isolate_ptr)
            self.stop()
            if memory_hit and self.shared_isolate:
                self.heap_limit.restore(self.isolate)
            if memory_hit:
                raise MemoryLimitExceeded(f"{what} reached the {self.heap_limit.limit_bytes}-byte memory limit "
                                          "(V8 heap + external memory; script terminated)")
            raise CallTimeout(f"{what} ran past {self.seconds:g} s (V8 TerminateExecution)")
        if failure is not None:
            raise ScriptError(failure)
        return answer

    def load(self, bundle: str) -> None:
        try:
            self._eval(bundle, "loading the worker")
        except ScriptError as error:
            raise WorkerLoadError(str(error)) from None

    def call(self, arg: str):
        try:
            answer = self._eval(f"__isobench.call({json.dumps(arg)})", "the handler")
            # A module worker's promise settled when that eval ran its microtasks.
            return answer if answer != PENDING else self._eval("__isobench.settled()", "the handler")
        except ScriptError as error:
            raise BackendError(f"handler failed: {error}") from None

    def ping(self) -> None:
        self._eval("0", "ping")

    def engine_time(self, arg: str, min_ms: float) -> dict:
        try:
            raw = self._eval(f"__isobench.engineJSON({json.dumps(arg)}, {float(min_ms)})", "the engine-time loop")
            if raw == PENDING:
                raw = self._eval("__isobench.settled()", "the engine-time loop")
        except ScriptError as error:
            raise BackendError(f"engine timing failed: {error}") from None
        return json.loads(raw)

    def heap(self) -> HeapStatistics:
        return v8_api().heap(self.isolate_ptr)

    def _release(self) -> None:
        context, self.context = self.context, None
        if context is None:
            return
        # The context's persistent handle is reset with its isolate entered;
        # an owned isolate is disposed when the last reference goes.
        self.isolate.enter()
        try:
            del context
        finally:
            self.isolate.leave()
        if not self.shared_isolate:
            self.isolate = None


def load_new_context(instance: ContextInstance, live: set, bundle: str, clock) -> ContextInstance:
    """Track a just-made context instance and load the bundle into it, marking
    `create_context` and `load_worker`; a failed load stops it."""
    instance.track(live)
    clock.mark("create_context")
    try:
        instance.load(bundle)
    except BaseException:
        instance.stop()
        raise
    clock.mark("load_worker")
    return instance


def new_isolate(limits: Limits) -> tuple[object, int, HeapLimit | None]:
    """A fresh v8::Isolate owned by the returned JSIsolate, its raw pointer, and
    its heap limit when Limits.memory_bytes is set."""
    isolate = _engine().JSIsolate(True)
    isolate.enter()
    try:
        pointer = v8_api().get_current()
        heap_limit = HeapLimit(pointer, limits.memory_bytes) if limits.memory_bytes is not None else None
    finally:
        isolate.leave()
    return isolate, pointer, heap_limit


def collect_garbage(isolate, pointer: int) -> None:
    """A full GC of one isolate (V8's LowMemoryNotification)."""
    isolate.enter()
    try:
        v8_api().low_memory(pointer)
    finally:
        isolate.leave()


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "Error" in line:
            return line
    return lines[0] if lines else error.__class__.__name__
