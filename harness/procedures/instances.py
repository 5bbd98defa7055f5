"""Measurement procedures that work for any Backend: one cold start (wall and
CPU time, phases), a block of timed calls, the in-engine loops, a memory
sweep. The suites in bench/ run them across backends, interleaved."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from harness.backends.base import Backend, Instance, PhaseClock
from harness.backends.memory_probes import release_freed_memory
from harness.runtime.worker import Worker

ARG = "World"


def cold_start(backend: Backend, worker: Worker, arg: str = ARG) -> tuple[Instance, dict[str, float], object]:
    """Fresh instance -> first handler answer. Returns the live instance, its
    phases in ms (ending with first_call) and the answer."""
    clock = PhaseClock()
    instance = backend.start(worker, clock)
    try:
        answer = instance.call(arg)
    except BaseException:
        instance.stop()
        raise
    clock.mark("first_call")
    return instance, clock.phases, answer


@dataclass(frozen=True)
class ColdStartSample:
    wall_s: float  # the phase clock: backend.start() called -> first answer received
    cpu_s: float | None  # CPU time the start cost (see Backend.cpu_scope); None if not measurable
    phases_ms: dict[str, float]
    answer: object


def timed_cold_start(backend: Backend, worker: Worker, arg: str = ARG) -> tuple[Instance, ColdStartSample]:
    """A cold start with its CPU time: the harness process's CPU time over the
    start (all its threads), plus what the instance's own processes or cgroup
    used (Instance.cpu_seconds), plus the growth of the backend's shared
    daemons (Backend.shared_cpu_seconds). The CPU readings bracket the wall
    timer; the instance's are read after the answer, outside it."""
    shared_before = backend.shared_cpu_seconds()
    harness_before = time.process_time()
    instance, phases, answer = cold_start(backend, worker, arg)
    harness_cpu = time.process_time() - harness_before
    try:
        # Daemons first: reading the instance may ask them (docker inspect for its pid).
        shared_after = backend.shared_cpu_seconds()
        own = instance.cpu_seconds()
    except BaseException:
        instance.stop()
        raise
    shared = shared_after - shared_before if shared_before is not None and shared_after is not None else 0.0
    if own is None and backend.instance_class != "in-process":
        cpu = None  # the instance's own processes are where the work is, and they were not read
    else:
        cpu = harness_cpu + (own or 0.0) + shared
    return instance, ColdStartSample(sum(phases.values()) / 1e3, cpu, phases, answer)


def time_calls(call: Callable[[], object], count: int, clock_ns=time.perf_counter_ns) -> list[int]:
    """ns per call, each call timed on its own (one timer read inside each sample)."""
    samples = []
    for _ in range(count):
        started = clock_ns()
        call()
        samples.append(clock_ns() - started)
    return samples


def engine_time(instance: Instance, min_ms: float, arg: str = ARG) -> dict:
    """One in-engine loop pair (see harness/runtime/prelude.js, engineTime)."""
    result = instance.engine_time(arg, min_ms)
    return {key: result.get(key) for key in ("handler_ns", "loop_ns", "calls", "clock", "clock_resolution_ns")}


@dataclass(frozen=True)
class MemorySettings:
    counts: tuple[int, ...]  # N instances alive at once, growing one set
    settle_s: float = 0.0  # pause before reading at each N
    trial: int = 0


def memory_sweep(backend: Backend, worker: Worker, settings: MemorySettings, advance=lambda amount=1: None,
                 arg: str = ARG) -> dict:
    """Hold N instances alive at once, for each N of the settings (growing one
    set), and read the backend's memory figures at each N: each figure's growth
    over the backend's baseline (nothing alive). Returns a MemorySweep's JSON."""
    counts, settle_s, trial = settings.counts, settings.settle_s, settings.trial
    began = time.monotonic()
    release_freed_memory()
    baseline = {figure.kind: figure.bytes for figure in backend.memory_baseline()}
    instances: list[Instance] = []
    steps, scopes = [], {}
    try:
        for count in sorted(set(counts)):
            while len(instances) < count:
                instance, _, _ = cold_start(backend, worker, arg)
                instances.append(instance)
                advance()
            time.sleep(settle_s)
            release_freed_memory()
            totals = {}
            for figure in backend.memory(instances):
                totals[figure.kind] = figure.bytes - baseline.get(figure.kind, 0)
                scopes[figure.kind] = figure.scope
            steps.append({"n": count, "total_bytes": totals})
    finally:
        for instance in instances:
            instance.stop()
    return {"trial": trial, "counts": [s["n"] for s in steps], "steps": steps, "baseline_bytes": baseline,
            "scopes": scopes, "settle_s": settle_s, "duration_s": time.monotonic() - began}
