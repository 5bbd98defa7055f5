"""`isolate-stpyv8`: a fresh V8 isolate per instance, driven in the calling
thread by stpyv8 (a second V8 binding beside py_mini_racer's `isolate`).

Each instance is its own `v8::Isolate` (`JSIsolate(owner=True)`, disposed when
the instance stops) with one new context in it, and the same bundle as every
backend (prelude + worker with its exports rewritten) evaluated there. A call
is `JSContext.eval("__isobench.call(...)")` on the harness's own thread: enter
the isolate and context, run, convert the answer, leave. py_mini_racer hops to
its V8 thread and back instead, so the two isolate rows together show how much
of the isolate's warm call is the binding and how much is V8.

Limits (see harness/backends/stpyv8_engine.py): `call_timeout_s` by a watchdog
thread calling V8's TerminateExecution, `memory_bytes` as the isolate's V8
heap limit (a near-heap-limit callback) plus a check of heap + external
(ArrayBuffer) memory in a V8 interrupt every watchdog tick. Both stop the
instance and raise
CallTimeout / MemoryLimitExceeded. Neither reaches a few allocation loops that
this V8 build never interrupts, and a fatal V8 error ends the harness process.
"""

from __future__ import annotations

import os

from harness.backends.base import Availability, Backend, Instance, Limits, MemoryFigure, PhaseClock
from harness.backends.stpyv8_engine import (
    ContextInstance,
    Watchdog,
    availability_problem,
    load_new_context,
    new_isolate,
    time_limit_s,
    versions,
)
from harness.backends.memory_probes import process_memory, release_freed_memory
from harness.runtime.worker import Worker


class IsolateStpyv8Backend(Backend):
    name = "isolate-stpyv8"
    # The globals of api_surface.CANDIDATES its engine exposes to a worker: bare V8 (ECMAScript, WebAssembly, Intl, console).
    host_globals = frozenset({
        "WebAssembly", "Intl", "SharedArrayBuffer", "Atomics", "WeakRef", "FinalizationRegistry", "console",
    })
    summary = "a fresh V8 isolate per instance inside the harness process, called in the calling thread (stpyv8)"
    described_as = "a V8 isolate (stpyv8)"
    family = "in-process"
    instance_class = "in-process"
    # Instances are bound to the thread that made them (no v8::Locker), so
    # concurrent callers are not measured.
    concurrency_modes = ()

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self.seconds = time_limit_s(self.limits)
        self.watchdog = Watchdog()

    def availability(self) -> Availability:
        problem = availability_problem()
        return Availability(not problem, problem)

    def _new_instance(self) -> ContextInstance:
        isolate, pointer, heap_limit = new_isolate(self.limits)
        return ContextInstance(isolate, pointer, self.watchdog, self.seconds, heap_limit)

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        isolate, pointer, heap_limit = new_isolate(self.limits)
        clock.mark("create_isolate")
        instance = ContextInstance(isolate, pointer, self.watchdog, self.seconds, heap_limit)
        return load_new_context(instance, self.live, worker.bundle, clock)

    def memory_baseline(self) -> list[MemoryFigure]:
        # Like the isolate backend: the first isolate of the process and the
        # code it maps are a one-time cost, so the baseline comes after one.
        self._new_instance().stop()
        release_freed_memory()
        return _process_figures("the harness process (growth over the baseline with no isolate alive)")

    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        figures = _process_figures("the harness process (growth over the baseline with no isolate alive)")
        heaps = [instance.heap() for instance in instances]
        scope = "sum of v8::Isolate::GetHeapStatistics over the instances (V8 heap only)"
        figures.append(MemoryFigure("v8_heap_physical", sum(h.total_physical_size for h in heaps), scope))
        figures.append(MemoryFigure("v8_heap_used", sum(h.used_heap_size for h in heaps), scope))
        return figures

    def versions(self) -> dict[str, str]:
        return versions()

    def transport(self) -> str:
        return "in-process, in the calling thread: stpyv8 JSContext.eval (enter isolate and context, run, leave)"

    def close(self) -> None:
        super().close()
        self.watchdog.close()


def _process_figures(scope: str) -> list[MemoryFigure]:
    own = process_memory(os.getpid())
    return [MemoryFigure("uss", own.uss, scope), MemoryFigure("pss", own.pss, scope), MemoryFigure("rss", own.rss, scope)]
