"""The sustained start rate (scale from zero): requests arrive as a Poisson
process at rate λ, and each is served by a new instance, stopped after its
answer. λ rises along a ladder until a level fails the bound.

The bound is set in the same sweep, before the levels: a few cold starts
one at a time with nothing else running, each after an idle gap and handed
to a server thread as the levels' requests are (so the bound holds the same
hand-off and CPU wake-up costs as what it judges); a level passes when every request
was answered and the p99 of its latencies is within `bound_factor` times
their median. Each latency runs from the request's intended arrival to the
new instance's first answer, so a request that waited for a free server, or
for a late generator, counts its wait (coordinated omission corrected).

The floor: when a level's p99 is past the bound, the same rate is run again
with null starts (nothing started, answered at once) through the same
generator, queue and servers, and the level is judged against the bound plus
that p99, the harness's own tail at the rate. So a level fails only by what
the backend adds, which matters where a start takes a few milliseconds and
the harness's tail on a busy machine is of the same size. It is measured once
per rate, serving mode and trial (`Floor`), and only where it is needed.

How requests are served: a backend that can run instances on several
threads at once (PER_CALLER) gets `in_flight` server threads that take
requests from one queue; any other backend is served on the harness's own
thread, one request after the other, as a single-threaded host would. The
stop after each answer is part of a server's occupancy (a platform pays it
too), not of the latency."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from harness.backends.base import Backend
from harness.procedures.instances import ARG, cold_start
from harness.procedures.load import START_LEAD_S, open_loop, pace
from harness.procedures.storm import failures_of, served_at_once
from harness.results.at_scale import StartRateLevel, StartRateSweep, start_rate_bound
from harness.runtime.worker import Worker


@dataclass(frozen=True)
class StartRateSettings:
    rates: tuple[float, ...]  # arrivals per second, rising
    arrivals: int = 30  # requests per level
    lone_starts: int = 5  # one at a time, before the levels: their median sets the bound
    bound_factor: float = 2.0  # a level passes if its p99 is within this times the lone start's median
    in_flight: int = 16  # server threads (PER_CALLER backends): starts that may overlap
    timeout_s: float = 30.0  # after the last arrival, how long the level may still serve
    budget_s: float = 120.0  # per sweep; the level that passes it is the last


def arrival_offsets(rate: float, count: int, rng: random.Random) -> list[float]:
    """The first `count` arrivals (s from the level's start) of a Poisson process at `rate` per second."""
    offsets, at = [], 0.0
    for _ in range(count):
        at += rng.expovariate(rate)
        offsets.append(at)
    return offsets


Start = Callable[[], Callable[[], None]]  # starts an instance and answers its first call; returns its stop


def null_start() -> Callable[[], None]:
    """The floor's start: nothing is started, the answer is at once."""
    return lambda: None


def backend_start(backend: Backend, worker: Worker) -> Start:
    def start() -> Callable[[], None]:
        instance, _, _ = cold_start(backend, worker, ARG)
        return instance.stop
    return start


LONE_GAP_S = 0.02  # idle time before each lone start, as between arrivals at a low rate


def lone_starts(start: Start, count: int, at_once: bool,
                clock: Callable[[], float] = time.perf_counter) -> tuple[float, ...]:
    """`count` cold starts one after the other, each after an idle gap and served the way the levels serve
    them (on a server thread for an at-once backend): from the request to its first answer, then stopped.
    So the bound holds the same hand-off and wake-up costs as the levels it judges."""

    def serve(intended: float) -> float:
        stop = start()
        answered = clock() - intended
        stop()
        return answered

    found = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="start-rate-lone") as server:
        for _ in range(count):
            time.sleep(LONE_GAP_S)
            intended = clock()
            found.append(server.submit(serve, intended).result() if at_once else serve(intended))
    return tuple(found)


def run_rate(start: Start, rate: float, settings: StartRateSettings, rng: random.Random, at_once: bool,
             clock: Callable[[], float] = time.perf_counter) -> StartRateLevel:
    """One arrival rate: every request a new instance (`start`), stopped after its answer."""
    offsets = arrival_offsets(rate, settings.arrivals, rng)
    began = clock() + START_LEAD_S
    deadline = began + offsets[-1] + settings.timeout_s
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[BaseException] = []
    unserved = [0]

    def serve_one(intended: float) -> None:
        if clock() > deadline:
            with lock:
                unserved[0] += 1
            return
        try:
            stop = start()
        except Exception as error:  # a failed start is a finding of the level (Ctrl-C is not)
            with lock:
                errors.append(error)
            return
        answered = clock() - intended
        with lock:
            latencies.append(answered)
        stop()

    if at_once:
        lags = open_loop(offsets, began, [serve_one] * min(settings.in_flight, len(offsets)), deadline, 60.0,
                         "start-rate", clock)
    else:
        lags = []
        for offset in offsets:
            pace(began + offset, lags, clock)
            serve_one(began + offset)
    return StartRateLevel(rate=rate, sent=len(offsets), latencies_s=tuple(round(v, 9) for v in latencies),
                          failures=failures_of(errors), unserved=unserved[0],
                          generator_lag_p99_s=float(np.percentile(lags, 99)) if lags else None)


class Floor:
    """The harness's own p99 at a rate and serving mode, from null starts; measured once each, when first asked."""

    def __init__(self, settings: StartRateSettings, rng: random.Random,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self._settings, self._rng, self._clock = settings, rng, clock
        self._found: dict[tuple[float, bool], float] = {}

    def p99_s(self, rate: float, at_once: bool) -> float:
        if (rate, at_once) not in self._found:
            level = run_rate(null_start, rate, self._settings, self._rng, at_once, self._clock)
            self._found[rate, at_once] = level.p99_s or 0.0
        return self._found[rate, at_once]


def start_rate_sweep(backend: Backend, worker: Worker, settings: StartRateSettings, rng: random.Random,
                     trial: int = 0, cores: int = 1, advance: Callable[..., None] = lambda amount=1: None,
                     clock: Callable[[], float] = time.perf_counter, floor: Floor | None = None) -> StartRateSweep:
    """The lone starts, then the rates rising until the first level that fails the bound (it is kept); a level
    past the bound by p99 alone is judged again against the bound plus the floor's p99 at its rate."""
    began = clock()
    floor = floor or Floor(settings, rng, clock)
    start = backend_start(backend, worker)
    at_once = served_at_once(backend)
    alone = lone_starts(start, settings.lone_starts, at_once, clock)
    bound_s = start_rate_bound(alone, settings.bound_factor)
    levels: list[StartRateLevel] = []
    because = f"every rate up to {settings.rates[-1]:g}/s kept p99 within the bound"
    for rate in settings.rates:
        level = run_rate(start, rate, settings, rng, at_once, clock)
        if level.shortfall(bound_s) and level.answered == level.sent and not level.failures:
            level = replace(level, floor_p99_s=floor.p99_s(rate, at_once))
        levels.append(level)
        advance()
        failed = level.shortfall(bound_s)
        if failed:
            because = failed
            break
        if clock() - began >= settings.budget_s and rate != settings.rates[-1]:
            because = f"time budget: {settings.budget_s:g} s spent"
            break
    return StartRateSweep(trial=trial, instance_class=backend.instance_class,
                          served="at once" if at_once else "one at a time",
                          in_flight=settings.in_flight if at_once else 1, rates=tuple(settings.rates),
                          lone_starts_s=tuple(round(v, 9) for v in alone), bound_factor=settings.bound_factor,
                          levels=tuple(levels), stopped_because=because, cores=cores,
                          duration_s=clock() - began)
