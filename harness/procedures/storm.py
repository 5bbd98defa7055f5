"""Cold-start storms: N new instances requested at the same moment, each
timed from the burst's release to its first answer, for N along a ladder
until a bound stops it (the ladder's end, the per-backend cap, the memory
budget, failures, the time budget). Every instance started is stopped before
the next burst, also when the burst fails halfway or is interrupted.

How a burst is served: a backend that can run calls on different instances
at once (PER_CALLER among its concurrency modes) gets one harness thread per
start, all released by one event; any other backend gets its N starts one
after the other on the harness's own thread, as a single-threaded host would
queue them.
Either way each latency runs from the same release, so queueing counts."""

from __future__ import annotations

import errno as errnos
import re
import threading
import time
from dataclasses import dataclass
from typing import Callable

import psutil

from harness.backends.base import Backend, BackendError, CallTimeout, Instance, MemoryLimitExceeded
from harness.errors import one_line
from harness.procedures.instances import ARG, cold_start
from harness.results.at_scale import StormFailure, StormLevel, StormSweep
from harness.results.vocabulary import GIB, PER_CALLER
from harness.runtime.worker import Worker

JOIN_GRACE_S = 60.0  # after the time limit, how long a start still running may take to end (it is then stopped)


def _errnos(error: BaseException) -> set[int]:
    found, seen = set(), 0
    while error is not None and seen < 5:
        if isinstance(error, OSError) and error.errno:
            found.add(error.errno)
        error, seen = error.__cause__ or error.__context__, seen + 1
    return found


def failure_cause(error: BaseException) -> str:
    """Why one start of a storm failed: a key of results/at_scale.py FAILURE_CAUSES."""
    codes = _errnos(error)
    text = f"{type(error).__name__}: {error}".lower()
    if codes & {errnos.EMFILE, errnos.ENFILE} or "too many open files" in text:
        return "fd limit"
    if (codes & {errnos.EAGAIN} or isinstance(error, BlockingIOError) or "resource temporarily unavailable" in text
            or "pids limit" in text or "pids.max" in text or "can't start new thread" in text):
        return "pid limit"
    if (isinstance(error, (MemoryError, MemoryLimitExceeded)) or codes & {errnos.ENOMEM}
            or "cannot allocate memory" in text or "out of memory" in text or re.search(r"\boom", text)):
        return "memory"
    if isinstance(error, (TimeoutError, CallTimeout)) or "timed out" in text or "timeout" in text:
        return "timeout"
    if isinstance(error, BackendError) or type(error).__module__.startswith(("docker", "requests", "urllib3")):
        return "engine error"
    return "other"


def failures_of(errors: list[BaseException], timed_out: int = 0, timeout_s: float = 0.0) -> tuple[StormFailure, ...]:
    """The failures of one burst, grouped by cause (first message kept), in the order causes first appeared."""
    groups: dict[str, list] = {}
    for error in errors:
        groups.setdefault(failure_cause(error), []).append(one_line(error, 300))
    if timed_out:
        groups.setdefault("timeout", []).extend([f"no answer within {timeout_s:g} s"] * timed_out)
    return tuple(StormFailure(cause, len(lines), lines[0]) for cause, lines in groups.items())


def served_at_once(backend: Backend) -> bool:
    return PER_CALLER in backend.concurrency_modes


@dataclass(frozen=True)
class Hooks:
    """What a storm reads and reports through (tests give fakes)."""

    advance: Callable[..., None] = lambda amount=1: None
    clock: Callable[[], float] = time.perf_counter
    available: Callable[[], float] = lambda: float(psutil.virtual_memory().available)


class Burst:
    """One burst: N starts released together; `run()` returns its StormLevel with every instance stopped."""

    def __init__(self, backend: Backend, worker: Worker, n: int, at_once: bool, timeout_s: float, hooks: Hooks):
        self.backend, self.worker, self.n, self.at_once, self.timeout_s = backend, worker, n, at_once, timeout_s
        self.hooks = hooks
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.done = threading.Condition(self.lock)
        self.instances: list[Instance] = []
        self.latencies: list[float] = []
        self.errors: list[BaseException] = []
        self.finished = 0  # starts that ended, either way
        self.abandoned = False  # past the time limit: late instances are stopped, not counted
        self.released_at = 0.0

    def _start(self) -> None:
        try:
            instance, _, _ = cold_start(self.backend, self.worker, ARG)
        except Exception as error:  # a failed start is a finding of the storm (Ctrl-C is not)
            with self.lock:
                if not self.abandoned:
                    self.errors.append(error)
                    self.finished += 1
                    self.done.notify_all()
            return
        answered = self.hooks.clock() - self.released_at
        with self.lock:
            late = self.abandoned
            if not late:
                self.instances.append(instance)
                self.latencies.append(answered)
                self.finished += 1
                self.done.notify_all()
        if late:
            instance.stop()

    def _serve(self) -> None:
        self.release.wait()
        with self.lock:
            if self.abandoned:
                return
        self._start()

    def _serve_in_turn(self, deadline: float) -> None:
        """One start after the other on this thread (the engine's own: an isolate-context instance is bound to
        the thread that made it); the starts not begun by the deadline time out."""
        for _ in range(self.n):
            if self.hooks.clock() >= deadline:
                return
            self._start()

    def run(self) -> StormLevel:
        before = self.hooks.available()
        threads = [threading.Thread(target=self._serve, daemon=True, name=f"storm-{i}")
                   for i in range(self.n)] if self.at_once else []
        last_answer = peak = None
        try:
            for thread in threads:
                try:
                    thread.start()
                except RuntimeError as error:  # "can't start new thread": the harness hit a task limit
                    with self.lock:
                        self.errors.append(error)
                        self.finished += 1
            self.released_at = self.hooks.clock()
            self.release.set()
            deadline = self.released_at + self.timeout_s
            if not self.at_once:
                self._serve_in_turn(deadline)
            with self.lock:
                while self.finished < self.n:
                    left = deadline - self.hooks.clock()
                    if left <= 0:
                        break
                    self.done.wait(min(left, 1.0))
                self.abandoned = True
                timed_out = self.n - self.finished
                last_answer = round(max(self.latencies), 9) if self.latencies else None
            peak = self.hooks.available()
        finally:
            with self.lock:
                self.abandoned = True
                self.release.set()
            stopping = self.hooks.clock()
            ends = time.monotonic() + JOIN_GRACE_S
            for thread in threads:
                thread.join(max(0.0, ends - time.monotonic()))
            with self.lock:
                instances, self.instances = self.instances, []
            for instance in instances:
                instance.stop()
            teardown = self.hooks.clock() - stopping
        return StormLevel(n=self.n, latencies_s=tuple(round(v, 9) for v in self.latencies),
                          failures=failures_of(self.errors, timed_out, self.timeout_s), last_answer_s=last_answer,
                          teardown_s=teardown, mem_drop_bytes=before - peak if peak is not None else None)


@dataclass(frozen=True)
class StormSettings:
    ladder: tuple[int, ...]  # the N of each burst
    cap: int  # no burst past this N (per instance class)
    memory_budget_bytes: float  # no burst whose N x memory per instance is past this
    timeout_s: float = 60.0  # per burst: from the release to the last answer
    budget_s: float = 120.0  # per sweep; the burst that passes it is the last
    bytes_per_instance: float | None = None  # from this trial's density sweep, if it ran
    bytes_source: str = ""


def next_bound(n: int, settings: StormSettings, bytes_per_instance: float | None) -> tuple[str, str] | None:
    """Whether a burst of N may run: None, or (bound, reason) for the bound that stops the sweep before it."""
    if n > settings.cap:
        return "cap", f"cap: N = {n} is past this backend's cap of {settings.cap}"
    if bytes_per_instance and n * bytes_per_instance > settings.memory_budget_bytes:
        return "memory", (f"memory budget: N = {n} would need about {n * bytes_per_instance / GIB:.1f} GiB "
                          f"({bytes_per_instance / (1 << 20):.1f} MiB each), the budget is "
                          f"{settings.memory_budget_bytes / GIB:.1f} GiB")
    return None


def storm_sweep(backend: Backend, worker: Worker, settings: StormSettings, trial: int = 0,
                hooks: Hooks = Hooks()) -> StormSweep:
    """Bursts along the ladder until a bound stops the sweep; every instance is stopped after its burst."""
    at_once = served_at_once(backend)
    ladder = tuple(sorted(set(int(n) for n in settings.ladder)))
    per_instance, source = settings.bytes_per_instance, settings.bytes_source
    levels: list[StormLevel] = []
    bound, because = "ladder", "ladder complete"
    began = hooks.clock()
    for n in ladder:
        stop = next_bound(n, settings, per_instance)
        if stop:
            bound, because = stop
            break
        level = Burst(backend, worker, n, at_once, settings.timeout_s, hooks).run()
        levels.append(level)
        hooks.advance()
        if not settings.bytes_per_instance and level.mem_drop_bytes and level.mem_drop_bytes > 0 and level.answered:
            per_instance, source = level.mem_drop_bytes / level.answered, f"MemAvailable drop in the burst of N = {n}"
        if level.failures:
            causes = ", ".join(f"{f.count} {f.cause}" for f in level.failures)
            bound, because = "failures", f"failures at N = {n}: {level.failed} of {n} failed ({causes})"
            break
        if hooks.clock() - began >= settings.budget_s and n != ladder[-1]:
            bound, because = "time", f"time budget: {settings.budget_s:g} s spent"
            break
    return StormSweep(trial=trial, instance_class=backend.instance_class,
                      served="at once" if at_once else "one at a time", ladder=ladder, cap=settings.cap,
                      levels=tuple(levels), bound=bound, stopped_because=because, timeout_s=settings.timeout_s,
                      memory_budget_bytes=settings.memory_budget_bytes, bytes_per_instance=per_instance,
                      bytes_source=source, duration_s=hooks.clock() - began)
