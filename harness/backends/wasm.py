"""`wasm`: a fresh wasmtime Instance, in its own Store, of QuickJS-NG compiled
to WebAssembly, running the same JS bundle as every other backend.

The module (QuickJS-NG from third_party/quickjs-ng plus the glue in
harness/runtime/quickjs_wasm.c, built by harness/backends/wasm_module.py) is compiled
by wasmtime in prepare(), once per machine: the compiled code is cached next
to the .wasm (harness/backends/wasm_cache.py) and a fresh process loads it.
facts() says which happened, with the compile or load time, never part of a
cold start. One instance is a new Store with an empty WASI context (no files,
no environment, no stdio), a new Instance of the compiled module, a new
QuickJS runtime and context in it, and the bundle evaluated there.
`sayHello` comes from the prelude, as everywhere else. QuickJS is an
interpreter: the in-engine figure is QuickJS's, not V8's.

The fast path. wasmtime-py's `Func.__call__` re-reads the function's type and
boxes every value on each call, which costs 100-250 µs here against a few µs
for the call itself. Calls therefore go through wasmtime's C API
(`wasmtime_func_call_unchecked`, via wasmtime-py's own ctypes bindings) with a
preallocated argument array, and the I/O buffer in linear memory is read and
written with memmove, much as the isolate backend shortens py_mini_racer's
thread hops. The wasmtime version is pinned.

Limits: `call_timeout_s` (and `cpu_time_s`, enforced as wall time because the
guest runs on the calling thread) by wasmtime's epoch interruption: a thread
advances the engine's epoch every TICK_S while the backend is open, and each
call gets a deadline in ticks. `memory_bytes` caps the Store's linear memory
(`Store.set_limits`). Either way the instance is stopped and a typed error
raised.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import json
import math
import os
import threading

from harness.backends.base import (
    PER_CALLER,
    Availability,
    Backend,
    BackendError,
    BackendUnavailable,
    CallTimeout,
    Instance,
    InstanceCrashed,
    Limits,
    MemoryFigure,
    MemoryLimitExceeded,
    PhaseClock,
    WorkerLoadError,
)
from harness.backends import wasm_cache
from harness.backends.memory_probes import process_memory, release_freed_memory
from harness.runtime.worker import Worker

try:
    import wasmtime
    from wasmtime import _ffi as ffi
except ImportError as _error:  # reported through availability()
    wasmtime = None
    _IMPORT_ERROR = str(_error)
else:
    _IMPORT_ERROR = ""

STATUS_ERROR = 1 << 31  # see harness/runtime/quickjs_wasm.c
STATUS_NO_MEMORY = 1 << 30
LENGTH_MASK = (1 << 30) - 1
U64 = (1 << 64) - 1
TICK_S = 0.05  # epoch period: a timeout fires between call_timeout_s and call_timeout_s + TICK_S
SAFETY_TIMEOUT_S = 600.0  # when Limits has no time limit
# Each JS call uses far more of wasmtime's native stack than of QuickJS's C
# stack in linear memory, so QuickJS's own limit is set low enough that deep
# recursion is a JS RangeError (about 550 simple frames), not a stack trap.
WASM_STACK_BYTES = 1 << 20
JS_STACK_BYTES = 192 << 10
# The engine's Config flags; part of the compile cache's key.
ENGINE_SETTINGS = {"epoch_interruption": True, "max_wasm_stack": WASM_STACK_BYTES}
EXPORTS = ("_initialize", "isobench_init", "isobench_reserve", "isobench_io", "isobench_load",
           "isobench_call", "isobench_engine", "isobench_echo", "isobench_version", "memory")


class _Export:
    """One exported function, called through the C API with a reused argument array."""

    def __init__(self, context, func, slots: int) -> None:
        self._context = context
        self._func = ctypes.byref(func._func)
        self.raw = (ffi.wasmtime_val_raw_t * max(slots, 1))()
        self._trap = ctypes.POINTER(ffi.wasm_trap_t)()
        self._trap_ref = ctypes.byref(self._trap)

    def call(self, nargs: int):
        """Run with self.raw[:nargs] set; returns (error, trap), both None on success."""
        error = ffi.wasmtime_func_call_unchecked(self._context, self._func, self.raw, len(self.raw), self._trap_ref)
        if error:
            return wasmtime.WasmtimeError._from_ptr(error), None
        if self._trap:
            trap = wasmtime.Trap._from_ptr(self._trap)
            self._trap = ctypes.POINTER(ffi.wasm_trap_t)()
            self._trap_ref = ctypes.byref(self._trap)
            return None, trap
        return None, None


class WasmInstance(Instance):
    required_exports: tuple[str, ...] = EXPORTS

    def __init__(self, backend: "WasmBackend", store, instance) -> None:
        self.backend = backend
        self.store = store
        self._context = store._context()
        exports = instance.exports(store)
        missing = [name for name in self.required_exports if name not in exports]
        if missing:
            raise BackendError(f"the wasm module lacks export(s) {', '.join(missing)}")
        self.memory = exports["memory"]
        self._memory_ref = ctypes.byref(self.memory._memory)
        self._exports = {name: _Export(self._context, exports[name], 2)
                         for name in self.required_exports if name != "memory"}
        self._buffer = 0
        self._capacity = 0

    # -- the round trip --------------------------------------------------------

    def _base(self) -> int:
        return ctypes.cast(ffi.wasmtime_memory_data(self._context, self._memory_ref), ctypes.c_void_p).value

    def _invoke(self, name: str, *args) -> int:
        """Call an export with i32/f64 arguments under the call deadline; its i64/i32 result."""
        if self.store is None:
            raise InstanceCrashed("the wasm instance was stopped")
        export = self._exports[name]
        for slot, value in enumerate(args):
            if isinstance(value, float):
                export.raw[slot].f64 = value
            else:
                export.raw[slot].i32 = value
        ffi.wasmtime_context_set_epoch_deadline(self._context, self.backend.deadline_ticks)
        error, trap = export.call(len(args))
        if error is not None:
            self.stop()
            raise InstanceCrashed(f"wasmtime error in {name}: {_first_line(str(error))}")
        if trap is not None:
            self._trapped(name, trap)
        return export.raw[0].i64 & U64

    def _trapped(self, name: str, trap) -> None:
        code = trap.trap_code
        size = self.memory.data_len(self.store)
        self.stop()
        if code == wasmtime.TrapCode.INTERRUPT:
            raise CallTimeout(f"{name} ran past {self.backend.time_limit_s:g} s (wasmtime epoch interruption)")
        limit = self.backend.limits.memory_bytes
        reason = code.name.lower() if code is not None else _first_line(trap.message)
        if limit is not None and size + 65536 > limit:
            raise MemoryLimitExceeded(f"{name} trapped ({reason}) at the {limit}-byte linear memory limit")
        raise InstanceCrashed(f"{name} trapped: {reason}")

    def _round_trip(self, name: str, data: bytes, *extra) -> str:
        """Write data to the I/O buffer, call name(len, *extra), return the answer text."""
        if self.store is None:  # the context pointer dies with the Store: never touch it after stop
            raise InstanceCrashed("the wasm instance was stopped")
        if len(data) + 1 > self._capacity:
            pointer = self._invoke("isobench_reserve", len(data) + 1) & 0xFFFFFFFF
            if pointer == 0:
                self._out_of_memory(name)
            self._buffer, self._capacity = pointer, len(data) + 1
        ctypes.memmove(self._base() + self._buffer, data, len(data))
        value = self._invoke(name, len(data), *extra)
        if value & STATUS_NO_MEMORY:
            self._out_of_memory(name)
        pointer, length = value >> 32, value & LENGTH_MASK
        self._buffer = pointer
        text = ctypes.string_at(self._base() + pointer, length).decode("utf-8", errors="replace")
        if value & STATUS_ERROR:
            if "out of memory" in text and self.backend.limits.memory_bytes is not None:
                self._out_of_memory(name, text)
            raise _GuestError(text)
        return text

    def _out_of_memory(self, name: str, detail: str = "") -> None:
        self.stop()
        limit = self.backend.limits.memory_bytes
        where = f"the {limit}-byte linear memory limit" if limit is not None else "the 4 GiB wasm32 address space"
        raise MemoryLimitExceeded(f"{name} ran out of memory at {where}{': ' + detail if detail else ''}")

    # -- the Instance interface ------------------------------------------------

    def initialize(self) -> None:
        self._invoke("_initialize")
        status = self._invoke("isobench_init", 0, JS_STACK_BYTES) & 0xFFFFFFFF
        if status != 0:
            self.stop()
            raise BackendError(f"QuickJS runtime did not start in wasm (isobench_init returned {status})")

    def load(self, bundle: str) -> str:
        try:
            return self._round_trip("isobench_load", bundle.encode())
        except _GuestError as error:
            raise WorkerLoadError(str(error)) from None

    def call(self, arg: str) -> str:
        try:
            return self._round_trip("isobench_call", arg.encode())
        except _GuestError as error:
            raise BackendError(f"handler failed: {error}") from None

    def ping(self) -> None:
        self._round_trip("isobench_echo", b"")

    def engine_time(self, arg: str, min_ms: float) -> dict:
        try:
            return json.loads(self._round_trip("isobench_engine", arg.encode(), float(min_ms)))
        except _GuestError as error:
            raise BackendError(f"engine timing failed: {error}") from None

    def linear_memory_bytes(self) -> int:
        return self.memory.data_len(self.store) if self.store is not None else 0

    def version(self) -> str:
        pointer = self._invoke("isobench_version") & 0xFFFFFFFF
        return ctypes.string_at(self._base() + pointer).decode()

    def _release(self) -> None:
        store, self.store = self.store, None
        self._exports = {}
        if store is not None:
            store.close()


class _GuestError(Exception):
    """A JS exception inside the guest; the message is its String()."""


class WasmBackend(Backend):
    name = "wasm"
    # The globals of api_surface.CANDIDATES its engine exposes to a worker: QuickJS-NG: ECMAScript without Intl, Atomics or WebAssembly, plus its own queueMicrotask, atob, btoa and performance.
    host_globals = frozenset({
        "queueMicrotask", "atob", "btoa", "performance", "SharedArrayBuffer", "WeakRef",
        "FinalizationRegistry",
    })
    summary = ("a fresh wasmtime Instance (own Store) of QuickJS-NG compiled to wasm32-wasi, "
               "running the same JS bundle; module compiled once")
    described_as = "a QuickJS instance in WebAssembly"
    family = "in-process"
    instance_class = "in-process"
    roles = ("wasm-instance",)
    # Each instance has its own Store; wasmtime calls release the GIL, so calls
    # on different instances overlap. One Store must not be entered twice.
    concurrency_modes = (PER_CALLER,)

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self.engine = self.module = self.linker = None
        self.module_path = None
        self.loaded = None  # wasm_cache.LoadedModule: compiled now or loaded from the cache, and how long it took
        self._quickjs_version = ""
        self._ticker: threading.Thread | None = None
        self._stop_ticker = threading.Event()
        limits_s = [s for s in (self.limits.call_timeout_s, self.limits.cpu_time_s) if s is not None]
        self.time_limit_s = min(limits_s) if limits_s else SAFETY_TIMEOUT_S
        self.deadline_ticks = math.ceil(self.time_limit_s / TICK_S) + 1

    def availability(self) -> Availability:
        if wasmtime is None:
            return Availability(False, f"wasmtime (PyPI) is not importable: {_IMPORT_ERROR}")
        from harness.backends import wasm_module

        if not wasm_module.module_path().exists():
            problem = wasm_module.toolchain_problem()
            if problem:
                return Availability(False, f"the QuickJS wasm module is not built and cannot be built here: {problem}")
        return Availability(True)

    def prepare(self, worker: Worker) -> None:
        """Build the module if needed (untimed), then compile it or load its
        compiled code from the cache, timed."""
        self._ensure_module()

    def _ensure_module(self) -> None:
        if self.module is not None:
            return
        from harness.backends import wasm_module

        if wasmtime is None:
            raise BackendUnavailable(f"wasmtime (PyPI) is not importable: {_IMPORT_ERROR}")
        try:
            self.module_path = wasm_module.ensure_built()
        except wasm_module.BuildError as error:
            raise BackendUnavailable(str(error)) from None
        config = wasmtime.Config()
        for setting, value in ENGINE_SETTINGS.items():
            setattr(config, setting, value)
        self.engine = wasmtime.Engine(config)
        self.loaded = wasm_cache.load_or_compile(self.engine, self.module_path, ENGINE_SETTINGS)
        self.module = self.loaded.module
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        self._start_ticker()
        probe = self._instantiate()
        try:
            probe.initialize()
            self._quickjs_version = probe.version()
        finally:
            probe.stop()

    def _start_ticker(self) -> None:
        engine, stop = self.engine, self._stop_ticker

        def tick() -> None:
            while not stop.wait(TICK_S):
                engine.increment_epoch()

        self._ticker = threading.Thread(target=tick, name="isobench-wasm-epoch", daemon=True)
        self._ticker.start()

    def _new_store(self):
        """A new Store with an empty WASI context (no args, environment, files or
        stdio), the memory limit and the first epoch deadline."""
        store = wasmtime.Store(self.engine)
        store.set_wasi(wasmtime.WasiConfig())
        if self.limits.memory_bytes is not None:
            store.set_limits(memory_size=self.limits.memory_bytes)
        store.set_epoch_deadline(self.deadline_ticks)
        return store

    def _instantiate_in(self, store, create):
        """create(store), a wasmtime instance; a typed error (and the Store closed) if it fails."""
        try:
            return create(store)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as error:
            store.close()
            if self.limits.memory_bytes is not None and "memory" in str(error):
                raise MemoryLimitExceeded(f"instantiation needs more than the {self.limits.memory_bytes}-byte "
                                          f"memory limit: {_first_line(str(error))}") from None
            raise BackendError(f"instantiation failed: {_first_line(str(error))}") from None

    def _instantiate(self) -> WasmInstance:
        store = self._new_store()
        instance = self._instantiate_in(store, lambda into: self.linker.instantiate(into, self.module))
        try:
            return WasmInstance(self, store, instance)
        except BaseException:
            store.close()
            raise

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        if self.module is None:  # prepare() was skipped: the compile shows as its own phase
            self._ensure_module()
            clock.mark("prepare_module")
        instance = self._instantiate()
        instance.track(self.live)
        clock.mark("instantiate")
        try:
            instance.initialize()
            clock.mark("runtime_ready")
            instance.load(worker.bundle)
            clock.mark("load_worker")
        except BaseException:
            instance.stop()
            raise
        return instance

    def memory_baseline(self) -> list[MemoryFigure]:
        # wasmtime maps the compiled code and the memory image with the first
        # instance; that is a one-time cost, so the baseline comes after one.
        self._ensure_module()
        probe = self._instantiate()
        probe.initialize()
        probe.stop()
        release_freed_memory()
        return self._process_figures()

    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        figures = self._process_figures()
        linear = sum(instance.linear_memory_bytes() for instance in instances)
        figures.append(MemoryFigure("linear_memory", linear,
                                    "sum of each Store's linear memory size (wasm pages grown, touched or not)"))
        return figures

    @staticmethod
    def _process_figures() -> list[MemoryFigure]:
        own = process_memory(os.getpid())
        scope = "the harness process (growth over the baseline with the module compiled and one instance made and freed)"
        return [MemoryFigure("uss", own.uss, scope), MemoryFigure("pss", own.pss, scope), MemoryFigure("rss", own.rss, scope)]

    def versions(self) -> dict[str, str]:
        from harness.backends import wasm_module

        info = wasm_module.build_info(self.module_path) if self.module_path else {}
        versions = {
            "wasmtime": importlib.metadata.version("wasmtime") if wasmtime is not None else "",
            "engine": f"QuickJS-NG {self._quickjs_version} (interpreter) in wasm32-wasi" if self._quickjs_version else "",
            "worker": "the same JS bundle as every backend (prelude.js + the worker); not a port",
            "compiler": info.get("compiler", ""),
            "module_sha256": info.get("module_sha256", ""),
        }
        if self.module_path is not None:
            versions["module_bytes"] = str(self.module_path.stat().st_size)
        return versions

    def facts(self) -> dict:
        return {
            **self._module_facts(),
            "module_bytes": self.module_path.stat().st_size if self.module_path else None,
            "instance": "fresh Store + empty WASI context + Instance + QuickJS runtime/context; bundle evaluated",
            "limits": {"time": f"epoch interruption, {self.time_limit_s:g} s (+ up to {TICK_S} s)",
                       "memory": "Store.set_limits(memory_size)" if self.limits.memory_bytes else "none"},
        }

    def _module_facts(self) -> dict:
        """How this process got the compiled module: compiled now (compile_ms)
        or loaded from the cache (load_ms, and the compile_ms recorded then)."""
        loaded = self.loaded
        if loaded is None:
            return {"module_source": None}
        facts = {"module_source": loaded.source, "module_cache_file": str(loaded.cache_path)}
        if loaded.source == wasm_cache.COMPILED:
            facts["module_compile_ms"] = loaded.compile_ms
            facts["module_compile_timer"] = ("time.perf_counter around wasmtime.Module(engine, bytes) in "
                                              "prepare(); not part of any cold start")
        else:
            facts["module_load_ms"] = loaded.load_ms
            facts["module_load_timer"] = ("time.perf_counter around reading the cache file, checking its sha256 "
                                          "and wasmtime.Module.deserialize in prepare(); not part of any cold start")
            facts["module_compile_ms_when_cached"] = loaded.cached_compile_ms
        if loaded.note:
            facts["module_cache_note"] = loaded.note
        return facts

    def transport(self) -> str:
        return ("in-process: one wasmtime C-API call on the calling thread; input and answer through a "
                "buffer in linear memory")

    def close(self) -> None:
        super().close()
        self._stop_ticker.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else "no message"
