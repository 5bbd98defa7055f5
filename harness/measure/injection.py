"""Test-only fault injection: make a backend slower on purpose, to show that
`compare` and `ab` catch it. The delay runs inside the backend's start (its
own `injected_delay` phase, inside the cold-start timer). A busy-wait costs
CPU time as well as wall time, so both clocks see it; a sleep costs wall time
only, as a start that waits longer does (a slower handshake, lock
contention, slower I/O), and only the wall clock sees it. A run with an
injected fault records it (`isobench.injected`), and every reader warns about
it, so such a file is never mistaken for a real measurement."""

from __future__ import annotations

import time

from harness.backends.base import Backend, Instance, PhaseClock
from harness.runtime.worker import Worker

INJECTED_PHASE = "injected_delay"


def busy_wait(seconds: float, clock=time.perf_counter) -> None:
    deadline = clock() + seconds
    while clock() < deadline:
        pass


class CrashingStart:
    """A backend whose third start hosts the hostile crash worker
    (workloads/hostile/crash.js) and calls it: in an in-process engine a V8
    fatal error then ends the whole trial process, as a real one would."""

    CRASH_AT = 3

    def __init__(self, backend: Backend):
        self._backend = backend
        self._starts = 0

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        self._starts += 1
        if self._starts == self.CRASH_AT:
            from harness.paths import REPO_ROOT
            from harness.runtime.worker import load_worker

            crashing = self._backend.start(load_worker(REPO_ROOT / "workloads" / "hostile" / "crash.js"), clock)
            try:
                crashing.call("World")
            finally:
                crashing.stop()
        return self._backend.start(worker, clock)

    def __getattr__(self, name):
        return getattr(self._backend, name)


class DelayedStart:
    """A backend whose start() first busy-waits or sleeps; the wait is its own
    phase. Everything else is the wrapped backend's."""

    def __init__(self, backend: Backend, delay_ms: float, kind: str = "busy"):
        if kind not in ("busy", "sleep"):
            raise ValueError(f"unknown delay kind {kind!r}")
        self._backend = backend
        self.delay_ms = delay_ms
        self.kind = kind

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        (busy_wait if self.kind == "busy" else time.sleep)(self.delay_ms / 1e3)
        clock.mark(INJECTED_PHASE)
        return self._backend.start(worker, clock)

    def __getattr__(self, name):
        return getattr(self._backend, name)
