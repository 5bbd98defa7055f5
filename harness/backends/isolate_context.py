"""`isolate-context`: a new V8 context inside one existing isolate, per
instance: the cheapest unit V8 offers (stpyv8, in the calling thread).

The backend makes one `v8::Isolate` in prepare() (untimed, outside every cold
start) and keeps it for its lifetime. An instance is a new `v8::Context` in
that isolate with the same bundle as every backend evaluated in it; calls are
as in `isolate-stpyv8` (JSContext.eval in the calling thread). Contexts have
separate globals but share the isolate's heap, GC, JIT code and thread: one
context's infinite loop or GC pause stalls all the others, which is why
Workers gives each worker its own isolate. py_mini_racer cannot host this
row: each of its contexts (`MiniRacer()`) is its own isolate.

Memory: the harness process's growth over a baseline taken with the shared
isolate alive and no context in it, after a full GC of the isolate
(LowMemoryNotification) before every reading, so that contexts stopped earlier
are collected; and the shared isolate's V8 heap growth over that baseline.

Limits (see harness/backends/stpyv8_engine.py): `call_timeout_s` terminates
the running script (then V8's termination is cancelled so that the isolate's
other contexts go on); `memory_bytes` caps the shared isolate's heap and
external (ArrayBuffer) memory, all contexts together, since V8 has no
per-context limit. Either way the
offending context is stopped and a typed error raised.
"""

from __future__ import annotations

import os

from harness.backends.base import Availability, Backend, Instance, Limits, MemoryFigure, PhaseClock
from harness.backends.stpyv8_engine import (
    ContextInstance,
    Watchdog,
    availability_problem,
    collect_garbage,
    load_new_context,
    new_isolate,
    time_limit_s,
    v8_api,
    versions,
)
from harness.backends.memory_probes import process_memory, release_freed_memory
from harness.runtime.worker import Worker


class IsolateContextBackend(Backend):
    name = "isolate-context"
    # The globals of api_surface.CANDIDATES its engine exposes to a worker: bare V8 (ECMAScript, WebAssembly, Intl, console).
    host_globals = frozenset({
        "WebAssembly", "Intl", "SharedArrayBuffer", "Atomics", "WeakRef", "FinalizationRegistry", "console",
    })
    summary = ("a new V8 context per instance inside one shared, already running isolate "
               "(stpyv8, in the calling thread); contexts share the isolate's heap and thread")
    described_as = "a V8 context in a shared isolate"
    family = "in-process"
    instance_class = "in-process"
    concurrency_modes = ()  # one isolate, one thread

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self.seconds = time_limit_s(self.limits)
        self.watchdog = Watchdog()
        self.isolate = None
        self.isolate_ptr = 0
        self.heap_limit = None

    def availability(self) -> Availability:
        problem = availability_problem()
        return Availability(not problem, problem)

    def prepare(self, worker: Worker) -> None:
        self._ensure_isolate()

    def _ensure_isolate(self) -> None:
        if self.isolate is None:
            self.isolate, self.isolate_ptr, self.heap_limit = new_isolate(self.limits)

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        if self.isolate is None:  # prepare() was skipped: the isolate shows as its own phase
            self._ensure_isolate()
            clock.mark("create_shared_isolate")
        instance = ContextInstance(self.isolate, self.isolate_ptr, self.watchdog, self.seconds,
                                   self.heap_limit, shared_isolate=True)
        return load_new_context(instance, self.live, worker.bundle, clock)

    def _figures(self) -> list[MemoryFigure]:
        collect_garbage(self.isolate, self.isolate_ptr)
        release_freed_memory()
        own = process_memory(os.getpid())
        heap = v8_api().heap(self.isolate_ptr)
        scope = "the harness process (growth over the shared isolate with no context, after a full GC)"
        heap_scope = "the shared isolate's V8 heap (growth over no context, after a full GC)"
        return [
            MemoryFigure("uss", own.uss, scope),
            MemoryFigure("pss", own.pss, scope),
            MemoryFigure("rss", own.rss, scope),
            MemoryFigure("v8_heap_physical", heap.total_physical_size, heap_scope),
            MemoryFigure("v8_heap_used", heap.used_heap_size, heap_scope),
        ]

    def memory_baseline(self) -> list[MemoryFigure]:
        self._ensure_isolate()
        return self._figures()

    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        return self._figures()

    def contexts_in_isolate(self) -> int:
        """V8's count of native contexts in the shared isolate (for tests)."""
        collect_garbage(self.isolate, self.isolate_ptr)
        return v8_api().heap(self.isolate_ptr).number_of_native_contexts

    def versions(self) -> dict[str, str]:
        return versions()

    def transport(self) -> str:
        return "in-process, in the calling thread: stpyv8 JSContext.eval (enter isolate and context, run, leave)"

    def close(self) -> None:
        super().close()
        self.watchdog.close()
        self.isolate = self.heap_limit = None  # disposed with its last reference
        self.isolate_ptr = 0
