"""Concurrency: K callers call the handler at once, for each K, and every call
is timed. The callers are threads of the harness: an in-process instance can
only be reached from inside it, and for the other backends a call is a wait on
a pipe or socket that releases the GIL (py_mini_racer's calls wait on the
isolate's own V8 thread, also without the GIL).

Per level: instances are started (untimed), each caller makes warmup calls
(untimed), then all callers are released together and call in a loop until
the level's window closes or the level's call cap is reached. Throughput is
the completed calls over the time from the release to the last answer."""

from __future__ import annotations

import gc
import itertools
import os
import threading
import time

from dataclasses import dataclass

from harness.backends.base import Backend, BackendError, Instance
from harness.analysis.concurrency import queueing_note
from harness.results.vocabulary import CONCURRENCY_QUESTIONS, PER_CALLER, SHARED
from harness.procedures.instances import ARG, cold_start
from harness.runtime.worker import AnswerRule, Worker

DETERMINISTIC = AnswerRule(deterministic=True)  # run_level's default: every answer equals the first

JOIN_GRACE_S = 120.0  # past the window, for warmup calls and one last call


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass(frozen=True)
class ConcurrencySettings:
    duration_s: float  # each level's timed window
    warmup_calls: int  # untimed calls per caller first
    max_calls: int  # all callers together, per level


def run_level(callers: list[Instance], expected: object, settings: ConcurrencySettings, arg: str = ARG,
              clock_ns=time.perf_counter_ns, answers: AnswerRule = DETERMINISTIC) -> dict:
    """One level: len(callers) threads, caller i calling callers[i] (the same
    instance several times over when it is shared). Each answer must satisfy
    `answers`, given the first answer `expected`."""
    k = len(callers)
    records: list[list[tuple[int, int]]] = [[] for _ in range(k)]
    errors: list[str] = []
    window: dict[str, int] = {}
    counter = itertools.count()
    halt = threading.Event()

    def open_window() -> None:  # run by the last caller to arrive, before all are released
        window["start"] = clock_ns()
        window["deadline"] = window["start"] + int(settings.duration_s * 1e9)

    barrier = threading.Barrier(k, action=open_window)

    def caller(index: int, instance: Instance) -> None:
        try:
            for _ in range(settings.warmup_calls):
                instance.call(arg)
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        except Exception as error:
            errors.append(f"caller {index} warmup: {error.__class__.__name__}: {error}")
            barrier.abort()
            return
        mine, deadline = records[index], window["deadline"]
        try:
            while not halt.is_set() and next(counter) < settings.max_calls:
                started = clock_ns()
                answer = instance.call(arg)
                ended = clock_ns()
                mine.append((started, ended))
                problem = answers.problem(answer, expected)
                if problem:
                    raise BackendError(problem)
                if ended >= deadline:
                    break
        except Exception as error:
            errors.append(f"caller {index}: {error.__class__.__name__}: {error}")
            halt.set()

    threads = [threading.Thread(target=caller, args=(i, instance), name=f"isobench-caller-{i}", daemon=True)
               for i, instance in enumerate(callers)]
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=settings.duration_s + JOIN_GRACE_S)
    finally:
        if was_enabled:
            gc.enable()
    if any(thread.is_alive() for thread in threads):
        halt.set()
        errors.append(f"a caller did not finish within {settings.duration_s + JOIN_GRACE_S:.0f} s")
    ends = [end for mine in records for _, end in mine]
    start = window.get("start")
    return {
        "callers": k,
        "latencies_ns": [end - begin for mine in records for begin, end in mine],
        "calls_per_caller": [len(mine) for mine in records],
        "window_s": (max(ends) - start) / 1e9 if ends and start is not None else 0.0,
        "error": "; ".join(errors[:3]) or None,
    }


def primary_mode(modes) -> str | None:
    """The mode whose figures head the summary: per-caller if measured (every
    backend that serves concurrently can be compared on it), else shared."""
    for mode in (PER_CALLER, SHARED):
        if mode in modes:
            return mode
    return None


class ModeSweep:
    """One backend's callers in one mode, level after level: its instances
    are started (untimed) as the levels rise and kept until close()."""

    def __init__(self, backend: Backend, worker: Worker, mode: str, settings: ConcurrencySettings,
                 arg: str = ARG) -> None:
        self.backend, self.worker, self.mode, self.settings, self.arg = backend, worker, mode, settings, arg
        self.instances: list[Instance] = []
        self.levels: list[dict] = []
        self.expected = None
        self.error: str | None = None

    def level(self, k: int) -> None:
        """Measure k callers at once; after a failed level the sweep stops (levels so far are kept)."""
        if self.error:
            return
        need = k if self.mode == PER_CALLER else 1
        try:
            while len(self.instances) < need:
                instance, _, answer = cold_start(self.backend, self.worker, self.arg)
                self.instances.append(instance)
                self.expected = answer if self.expected is None else self.expected
        except Exception as error:
            self.error = f"{k} callers: starting instances: {error.__class__.__name__}: {error}"
            return
        callers = self.instances[:k] if self.mode == PER_CALLER else [self.instances[0]] * k
        measured = run_level(callers, self.expected, self.settings, self.arg, answers=self.worker.answers)
        self.levels.append(measured)
        if measured["error"]:
            self.error = f"{k} callers: {measured['error']}"

    def result(self) -> dict:
        """A ConcurrencyMode's JSON."""
        cores = usable_cores()
        return {
            "mode": self.mode,
            "question": CONCURRENCY_QUESTIONS.get(self.mode, self.mode),
            "callers_are": "threads of the harness process",
            "levels": self.levels,
            "duration_s": self.settings.duration_s,
            "warmup_calls": self.settings.warmup_calls,
            "max_calls_per_level": self.settings.max_calls,
            "cores": cores,
            "note": queueing_note([level["callers"] for level in self.levels], cores),
            "answer": None if self.expected is None else str(self.expected),
            "error": self.error,
        }

    def close(self) -> None:
        for instance in self.instances:
            try:
                instance.stop()
            except Exception:
                pass
        self.instances = []
