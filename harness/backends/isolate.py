"""`isolate`: a fresh V8 isolate inside the harness process, via py_mini_racer.

Each instance is its own `MiniRacer()`, i.e. its own v8::Isolate and context.

The fast path. py_mini_racer's synchronous API runs its own asyncio loop in a
thread per instance, so a plain `eval` hops caller -> loop thread -> V8 thread
-> loop thread -> caller. When the caller *is* on the instance's loop, `eval`
hands the task straight to the V8 thread and waits for its answer: one hop
each way. We make that so by marking a private, never-run event loop as the
running loop around each operation. What remains is py_mini_racer's binding
overhead (a V8 task on its thread plus value conversion), which the warm-call
figures report beside the in-engine time.

The binding. py_mini_racer can expose a Python function to JS only as an async
function (it returns a Promise resolved through asyncio), so a synchronous
`sayHello` binding back into Python is not possible. `sayHello` is the JS one
from the shared runtime prelude, as in every other backend.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import subprocess
import sys
from contextlib import contextmanager

from harness.backends.base import (
    PER_CALLER,
    Availability,
    Backend,
    BackendError,
    Instance,
    MemoryFigure,
    PhaseClock,
    WorkerLoadError,
)
from harness.environment import REPO_ROOT, child_environment
from harness.memory import process_memory, release_freed_memory
from harness.worker import Worker

try:
    from py_mini_racer import JSEvalException, MiniRacer
except ImportError as _error:  # reported through availability()
    MiniRacer = None
    _IMPORT_ERROR = str(_error)
else:
    _IMPORT_ERROR = ""


@contextmanager
def _running(loop: asyncio.AbstractEventLoop):
    previous = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(loop)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(previous)


class IsolateInstance(Instance):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        with _running(loop):
            self.racer = MiniRacer()

    def eval(self, code: str):
        with _running(self.loop):
            return self.racer.eval(code)

    def load(self, bundle: str) -> None:
        try:
            self.eval(bundle)
        except JSEvalException as error:
            raise WorkerLoadError(_first_line(error)) from None

    def call(self, arg: str) -> str:
        try:
            return self.eval(f"__isobench.call({json.dumps(arg)})")
        except JSEvalException as error:
            raise BackendError(f"handler failed: {_first_line(error)}") from None

    def ping(self) -> None:
        self.eval("0")

    def engine_time(self, arg: str, min_ms: float) -> dict:
        raw = self.eval(f"JSON.stringify(__isobench.engineTime({json.dumps(arg)}, {float(min_ms)}))")
        return json.loads(raw)

    def heap_stats(self) -> dict:
        with _running(self.loop):
            return self.racer.heap_stats()

    def _release(self) -> None:
        racer, self.racer = self.racer, None
        if racer is not None:
            with _running(self.loop):
                racer.close()


class IsolateBackend(Backend):
    name = "isolate"
    summary = "a fresh V8 isolate per instance inside the harness process (py_mini_racer)"
    instance_class = "in-process"
    # Each isolate has its own V8 thread, so calls on different isolates
    # overlap. One isolate must not be shared: py_mini_racer's fast path
    # returns results through one FIFO per isolate, read by whoever waits.
    concurrency_modes = (PER_CALLER,)

    def __init__(self) -> None:
        self.live: set[Instance] = set()
        self._loop = asyncio.new_event_loop() if MiniRacer is not None else None

    def availability(self) -> Availability:
        if MiniRacer is None:
            return Availability(False, f"py_mini_racer is not importable: {_IMPORT_ERROR}")
        return Availability(True)

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        instance = IsolateInstance(self._loop)
        instance.track(self.live)
        clock.mark("create_isolate")
        try:
            instance.load(worker.bundle)
        except BaseException:
            instance.stop()
            raise
        clock.mark("load_worker")
        return instance

    def memory_baseline(self) -> list[MemoryFigure]:
        # V8's platform starts with the first isolate of the process and stays;
        # it is a one-time cost (see first_isolate), not a per-instance one.
        IsolateInstance(self._loop).stop()
        release_freed_memory()
        return self._process_figures()

    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        figures = self._process_figures()
        heaps = [instance.heap_stats() for instance in instances]
        scope = "sum of V8 heap_stats() over the instances (V8 heap only)"
        figures.append(MemoryFigure("v8_heap_physical", sum(h["total_physical_size"] for h in heaps), scope))
        figures.append(MemoryFigure("v8_heap_used", sum(h["used_heap_size"] for h in heaps), scope))
        return figures

    @staticmethod
    def _process_figures() -> list[MemoryFigure]:
        own = process_memory(os.getpid())
        scope = "the harness process (growth over the baseline with no isolate alive)"
        return [
            MemoryFigure("uss", own.uss, scope),
            MemoryFigure("pss", own.pss, scope),
            MemoryFigure("rss", own.rss, scope),
        ]

    def versions(self) -> dict[str, str]:
        with _running(self._loop), MiniRacer() as racer:
            v8 = racer.v8_version
        return {"v8": v8, "mini-racer": importlib.metadata.version("mini-racer")}

    def transport(self) -> str:
        return "in-process: py_mini_racer eval, one thread hop to the isolate's V8 thread and back"

    def close(self) -> None:
        super().close()


def first_isolate_probe(worker: Worker, arg: str, timeout: float = 120.0) -> dict:
    """Time the very first isolate of a fresh Python process.

    The first MiniRacer() in a process also loads libmini_racer and starts V8's
    platform; later ones do not. A fresh interpreter is the only honest way to
    sample that cost more than once. Times are taken inside the child.
    """
    result = subprocess.run(
        [sys.executable, "-m", "harness.backends.isolate_first"],
        input=json.dumps({"bundle": worker.bundle, "arg": arg}),
        capture_output=True, text=True, timeout=timeout,
        env={**child_environment(), "PYTHONPATH": str(REPO_ROOT)},
    )
    if result.returncode != 0:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BackendError(f"first-isolate probe failed: {tail}")
    return json.loads(result.stdout)


def _first_line(error: Exception) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "Error" in line:
            return line.strip()
    return lines[0].strip() if lines else error.__class__.__name__
