"""Concurrency: throughput and latency with K callers at once, for each K of
the profile, in each way the backend declares it can serve them
(Backend.concurrency_modes: each caller its own instance, or all sharing one).
Every call's latency is recorded raw; p99 and throughput are computed by
harness/concurrency.py. The benchmark's own time is the sweep's duration only."""

import pytest

from harness.backends.base import PER_CALLER, SHARED
from harness.analysis.concurrency import primary_mode
from harness.analysis.density import instance_class
from harness.measure.concurrency import concurrency_sweep
from harness.measure.progress import steps


def test_concurrency(benchmark, backend, worker, profile):
    benchmark.group = "concurrency"
    modes = [mode for mode in (PER_CALLER, SHARED) if mode in backend.concurrency_modes]
    if not modes:
        pytest.skip(f"{backend.name} declares no way to serve concurrent callers (Backend.concurrency_modes)")
    levels = profile.concurrency_levels_for(instance_class(backend.name, backend.instance_class))
    results = {}

    def sweep():
        for mode in modes:
            with steps(f"concurrency {backend.name} {mode} (callers {','.join(map(str, levels))})",
                       len(levels)) as advance:
                results[mode] = concurrency_sweep(backend, worker, levels, mode, profile.concurrency_duration_s,
                                                  profile.concurrency_warmup_calls, profile.concurrency_max_calls,
                                                  advance=advance)

    benchmark.pedantic(sweep, rounds=1, iterations=1)
    benchmark.extra_info.update({
        "metric": "concurrency",
        "backend": backend.name,
        "unit": "ns",
        "timer": "time.perf_counter_ns around each instance.call(arg) in each caller thread; "
                 "the benchmark's own time is the whole sweep, not a performance figure",
        "primary_mode": primary_mode(modes),
        "concurrency": results,
    })
    errors = [f"{mode}: {result['error']}" for mode, result in results.items() if result["error"]]
    assert not errors, "; ".join(errors)
