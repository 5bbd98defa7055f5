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

Limits. py_mini_racer refuses `timeout_sec` on the fast path (its timeout
needs the cancelable path, through the event-loop thread: two more hops per
call). So `eval` below is py_mini_racer's own uncancelable eval with one
change: the caller waits for the V8 thread's answer with a deadline
(`queue.get(timeout=...)` instead of `queue.get()`), and when the deadline
passes it cancels the V8 task (`mr_cancel_task`, i.e. TerminateExecution),
which answers at once with "terminated": CallTimeout. Nothing else runs per
call, so a call that stays within its limit costs what it cost before.
`cpu_time_s` is enforced as wall time (the isolate runs on one V8 thread; its
wall time bounds its CPU time). `memory_bytes` is py_mini_racer's hard memory
limit: V8 terminates the script when its *heap* passes it (JSOOMException):
MemoryLimitExceeded. It counts the V8 heap only: ArrayBuffer and typed-array
contents live outside it, in the harness process's malloc, and no limit here
covers them. Either way the instance is stopped.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import queue
import subprocess
import sys
from contextlib import contextmanager

from harness.backends.base import (
    PER_CALLER,
    Availability,
    Backend,
    BackendError,
    CallTimeout,
    Instance,
    InstanceCrashed,
    LimitExceeded,
    Limits,
    MemoryFigure,
    MemoryLimitExceeded,
    PhaseClock,
    WorkerLoadError,
)
from harness.paths import REPO_ROOT
from harness.backends.environment import child_environment
from harness.backends.memory_probes import process_memory, release_freed_memory
from harness.runtime.worker import PENDING, Worker

try:
    from py_mini_racer import JSEvalException, JSOOMException, MiniRacer
    from py_mini_racer._exc import JSTerminatedException
except ImportError as _error:  # reported through availability()
    MiniRacer = None
    _IMPORT_ERROR = str(_error)
else:
    _IMPORT_ERROR = ""

SAFETY_TIMEOUT_S = 600.0  # when Limits has no time limit
CANCEL_GRACE_S = 5.0  # how long a cancelled V8 task may take to answer
# Isolates whose V8 thread ignored the cancellation (TerminateExecution takes
# effect only when the script is back in JS: a long C++ builtin runs on).
# They must stay referenced: freeing one waits for its V8 thread to finish.
_RUNAWAY: list = []
_UNCANCELABLE = 0  # py_mini_racer's callback id for tasks answered through its FIFO


def time_limit_s(limits: Limits) -> float:
    """The wall deadline of one eval: the tighter of the call and CPU limits."""
    given = [s for s in (limits.call_timeout_s, limits.cpu_time_s) if s is not None]
    return min(given) if given else SAFETY_TIMEOUT_S


@contextmanager
def _running(loop: asyncio.AbstractEventLoop):
    previous = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(loop)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(previous)


class IsolateInstance(Instance):
    def __init__(self, loop: asyncio.AbstractEventLoop, limits: Limits | None = None) -> None:
        self.loop = loop
        self.limits = limits or Limits()
        self.deadline_s = time_limit_s(self.limits)
        with _running(loop):
            self.racer = MiniRacer()
        if self.limits.memory_bytes is not None:
            self.racer.set_hard_memory_limit(self.limits.memory_bytes)
        context = self.racer._ctx
        self._context = context
        self._context_id = context._ctx
        self._dll = context._dll
        self._answers = context._non_cancelable_mr_task_results_queue
        self._stuck = False

    def eval(self, code: str):
        """py_mini_racer's fast-path eval (Context.eval), waiting with a deadline."""
        context = self._context
        handle = context._python_to_value_handle(code)
        task = self._dll.mr_eval(self._context_id, handle.raw, _UNCANCELABLE)
        try:
            answer = self._answers.get(timeout=self.deadline_s)
        except queue.Empty:
            self._dll.mr_cancel_task(self._context_id, task)
            try:
                answer = self._answers.get(timeout=CANCEL_GRACE_S)
            except queue.Empty:
                self._stuck = True
                _RUNAWAY.append(self.racer)
                self.stop()
                raise InstanceCrashed(
                    f"the isolate ignored its cancellation for {CANCEL_GRACE_S:g} s (V8 stops a script only when "
                    "it is back in JS code); its thread runs on inside the harness process, which cannot stop it"
                ) from None
        return context._value_handle_to_python(answer)

    def _limited(self, code: str, what: str):
        """eval, turning a broken limit into its typed error (the instance is stopped)."""
        try:
            return self.eval(code)
        except JSOOMException:
            error: LimitExceeded = MemoryLimitExceeded(
                f"{what}: the V8 heap passed the {self.limits.memory_bytes}-byte hard limit; isolate stopped")
        except JSTerminatedException:
            error = CallTimeout(f"{what} ran past the {self.deadline_s:g} s limit; V8 task cancelled, isolate stopped")
        self.stop()
        raise error

    def load(self, bundle: str) -> None:
        try:
            self._limited(bundle, "loading the worker")
        except JSEvalException as error:
            raise WorkerLoadError(_first_line(error)) from None

    def call(self, arg: str) -> str:
        try:
            answer = self._limited(f"__isobench.call({json.dumps(arg)})", "the call")
            # A module worker's promise settled when that eval ran its microtasks.
            return answer if answer != PENDING else self._limited("__isobench.settled()", "the call")
        except JSEvalException as error:
            raise BackendError(f"handler failed: {_first_line(error)}") from None

    def ping(self) -> None:
        self._limited("0", "ping")

    def engine_time(self, arg: str, min_ms: float) -> dict:
        raw = self._limited(f"__isobench.engineJSON({json.dumps(arg)}, {float(min_ms)})", "the in-engine loop")
        if raw == PENDING:
            raw = self._limited("__isobench.settled()", "the in-engine loop")
        return json.loads(raw)

    def heap_stats(self) -> dict:
        with _running(self.loop):
            return self.racer.heap_stats()

    def _release(self) -> None:
        racer, self.racer = self.racer, None
        if racer is not None and not self._stuck:
            with _running(self.loop):
                racer.close()


class IsolateBackend(Backend):
    name = "isolate"
    # The globals of api_surface.CANDIDATES its engine exposes to a worker: py_mini_racer's V8: bare ECMAScript plus its own setTimeout, clearTimeout and console.
    host_globals = frozenset({
        "setTimeout", "clearTimeout", "WebAssembly", "Intl", "SharedArrayBuffer", "Atomics", "WeakRef",
        "FinalizationRegistry", "console",
    })
    summary = "a fresh V8 isolate per instance inside the harness process (py_mini_racer)"
    described_as = "a V8 isolate (py_mini_racer)"
    family = "in-process"
    instance_class = "in-process"
    roles = ("v8-isolate",)
    reference = True  # the unit every ratio is over: the isolate Workers is built on
    runner_marks = ("isolate_first",)
    # Each isolate has its own V8 thread, so calls on different isolates
    # overlap. One isolate must not be shared: py_mini_racer's fast path
    # returns results through one FIFO per isolate, read by whoever waits.
    concurrency_modes = (PER_CALLER,)

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self._loop = asyncio.new_event_loop() if MiniRacer is not None else None

    def availability(self) -> Availability:
        if MiniRacer is None:
            return Availability(False, f"py_mini_racer is not importable: {_IMPORT_ERROR}")
        return Availability(True)

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        instance = IsolateInstance(self._loop, self.limits)
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

    def facts(self) -> dict:
        memory = self.limits.memory_bytes
        return {"limits": {
            "time": f"deadline on the V8 answer, then mr_cancel_task (TerminateExecution): {self._deadline():g} s",
            "memory": (f"py_mini_racer hard memory limit, V8 heap only (not ArrayBuffer contents): {memory} bytes"
                       if memory is not None else "none"),
            "process": "none: the isolate runs inside the harness process",
        }}

    def first_instance_probe(self, worker: Worker, arg: str) -> dict:
        probe = first_isolate_probe(worker, arg)
        probe["timer"] = "inside a fresh interpreter: MiniRacer() requested -> first answer (the import excluded)"
        return probe

    def _deadline(self) -> float:
        return time_limit_s(self.limits)

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
