"""Open-loop load: requests arrive as a Poisson process at a fixed offered
rate, whatever the backend does, and wait in one queue for a pool of warm
instances (one harness thread per instance). Each request's latency runs from
its intended arrival time to its answer, so a stall is paid by every request
that arrived during it (wrk2's correction for coordinated omission; a
closed-loop caller would have stopped sending instead).

The generator is one harness thread that sleeps until each intended time and
puts the request in the queue; when it runs late (the sleep's resolution, the
GIL), the request keeps its intended time and the lateness is recorded. The
floor is the same generator, queue and threads with a call that does
nothing: what the harness adds to every backend's figure."""

from __future__ import annotations

import functools
import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from harness.errors import one_line
from harness.results.at_scale import LoadLevel
from harness.results.histogram import encode

START_LEAD_S = 0.005  # the first arrival is this far after the level is set up


def poisson_arrivals(rate_rps: float, window_s: float, rng: random.Random) -> list[float]:
    """Arrival offsets (s) of a Poisson process at `rate_rps` within [0, window_s): exponential gaps."""
    offsets, at = [], rng.expovariate(rate_rps)
    while at < window_s:
        offsets.append(at)
        at += rng.expovariate(rate_rps)
    return offsets


@dataclass(frozen=True)
class LoadSettings:
    rates: tuple[float, ...]  # offered requests per second, rising
    pools: tuple[int, ...]  # warm instances per pool
    window_s: float = 1.0  # arrivals per level
    drain_s: float = 2.0  # after the window, how long queued requests may still be served
    warmup_calls: int = 20  # per instance, before the levels
    past_saturation: int = 1  # levels measured after the first saturated one


def pace(intended: float, lags: list[float], clock: Callable[[], float] = time.perf_counter) -> None:
    """Sleep until the intended arrival, then record how late the generator was."""
    wait = intended - clock()
    if wait > 0:
        time.sleep(wait)
    lags.append(max(0.0, clock() - intended))


def open_loop(offsets: Sequence[float], began: float, servers: Sequence[Callable[[float], None]], deadline: float,
              grace_s: float, name: str, clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """The generator and its servers: one harness thread per server takes intended arrival times from one
    queue and serves each (`server(intended)`); this thread releases them at `began + offset`. The servers
    are joined by the deadline plus `grace_s`. Returns how late each release was."""
    requests: queue.SimpleQueue = queue.SimpleQueue()
    lags: list[float] = []

    def take(server: Callable[[float], None]) -> None:
        while (intended := requests.get()) is not None:
            server(intended)

    threads = [threading.Thread(target=take, args=(server,), daemon=True, name=f"{name}-{i}")
               for i, server in enumerate(servers)]
    for thread in threads:
        thread.start()
    try:
        for offset in offsets:
            intended = began + offset
            pace(intended, lags, clock)
            requests.put(intended)
    finally:
        for _ in threads:
            requests.put(None)
        for thread in threads:
            thread.join(max(0.0, deadline - clock()) + grace_s)
    return lags


def run_level(calls: Sequence[Callable[[], object]], rate_rps: float, settings: LoadSettings, rng: random.Random,
              clock: Callable[[], float] = time.perf_counter) -> LoadLevel:
    """One offered rate on one pool: `calls[i]` is one request to instance i."""
    arrivals = poisson_arrivals(rate_rps, settings.window_s, rng)
    latencies: list[float] = []
    errors: list[BaseException] = []
    unserved, last_done = [0], [0.0]
    lock = threading.Lock()
    began = clock() + START_LEAD_S
    deadline = began + settings.window_s + settings.drain_s

    def serve(call: Callable[[], object], intended: float) -> None:
        if clock() > deadline:
            with lock:
                unserved[0] += 1
            return
        try:
            call()
        except Exception as error:  # counted; the level goes on
            with lock:
                errors.append(error)
            return
        done = clock()
        with lock:
            latencies.append(done - intended)
            last_done[0] = max(last_done[0], done)

    lags = open_loop(arrivals, began, [functools.partial(serve, call) for call in calls], deadline, 30.0, "load",
                     clock)
    completed = len(latencies)
    span = max(last_done[0] - began, settings.window_s) if completed else 0.0  # the level's start to its last answer
    return LoadLevel(offered_rps=rate_rps, pool=len(calls), window_s=settings.window_s, sent=len(arrivals),
                     completed=completed, histogram=encode(latencies) if latencies else "", errors=len(errors),
                     error=one_line(errors[0], 300) if errors else "", unserved=unserved[0],
                     achieved_rps=completed / span if span > 0 else None,
                     generator_lag_p99_s=float(np.percentile(lags, 99)) if lags else None)


def sweep_rates(calls_for: Callable[[int], Sequence[Callable[[], object]]], settings: LoadSettings,
                rng: random.Random, advance: Callable[..., None] = lambda amount=1: None,
                clock: Callable[[], float] = time.perf_counter) -> tuple[list[LoadLevel], str]:
    """Each pool, the rates rising, until `past_saturation` levels after the first saturated one (or an error)."""
    levels: list[LoadLevel] = []
    reasons = []
    for pool in settings.pools:
        calls = calls_for(pool)
        past = None
        for rate in settings.rates:
            level = run_level(calls, rate, settings, rng, clock)
            levels.append(level)
            advance()
            if level.errors:
                reasons.append(f"pool of {pool}: {level.errors} error(s) at {rate:g} req/s: {level.error}")
                break
            if level.saturated:
                past = 0 if past is None else past + 1
                if past >= settings.past_saturation:
                    reasons.append(f"pool of {pool}: saturated from {_first_saturated(levels, pool):g} req/s")
                    break
        else:
            reasons.append(f"pool of {pool}: " + (f"not saturated at {settings.rates[-1]:g} req/s" if past is None
                                                  else f"saturated from {_first_saturated(levels, pool):g} req/s"))
    return levels, "; ".join(reasons)


def _first_saturated(levels: list[LoadLevel], pool: int) -> float:
    return next(level.offered_rps for level in levels if level.pool == pool and level.saturated)
