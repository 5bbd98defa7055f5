"""Measurement procedures that work for any Backend. The bench/ suites time
them with pytest-benchmark; these functions do the parts that are not a
plain timing loop (phases, in-engine time, memory density)."""

from __future__ import annotations

import time

from harness.backends.base import Backend, Instance, PhaseClock
from harness.backends.memory_probes import release_freed_memory
from harness.analysis.stats import marginal_slope
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


def engine_samples(instance: Instance, repeats: int, min_ms: float, arg: str = ARG) -> tuple[list[float], dict]:
    """ns per handler call, timed in the engine by the runtime's JS clock."""
    samples, last = [], {}
    for _ in range(repeats):
        last = instance.engine_time(arg, min_ms)
        samples.append(float(last["ns_per_call"]))
    return samples, last


def memory_sweep(backend: Backend, worker: Worker, counts: tuple[int, ...], settle_s: float,
                 advance=lambda amount=1: None, arg: str = ARG) -> dict:
    """Hold N instances alive at once, for each N in counts (growing one set),
    and read the backend's memory figures at each N.

    Each figure is reported as its total growth over the backend's baseline
    (nothing alive) and that growth divided by N (the headline, at the largest
    N); `slope` is the least-squares growth per added instance over N >= 2.
    """
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
            figures = backend.memory(instances)
            totals = {}
            for figure in figures:
                totals[figure.kind] = figure.bytes - baseline.get(figure.kind, 0)
                scopes[figure.kind] = figure.scope
            steps.append({"n": count, "total_bytes": totals, "per_instance_bytes": {k: v / count for k, v in totals.items()}})
    finally:
        for instance in instances:
            instance.stop()
    largest = steps[-1]
    # A lone process owns pages that a second one would share, so its USS is
    # not a marginal cost: the slope uses only N >= 2.
    shared_steps = [s for s in steps if s["n"] >= 2]
    slopes = {}
    for kind in largest["total_bytes"]:
        fit = marginal_slope([s["n"] for s in shared_steps], [s["total_bytes"][kind] for s in shared_steps])
        if fit is not None:
            slopes[kind] = {"bytes_per_instance": fit.per_unit, "stderr": fit.stderr, "intercept_bytes": fit.intercept}
    return {
        "counts": [s["n"] for s in steps],
        "baseline_bytes": baseline,
        "steps": steps,
        "per_instance_bytes": largest["per_instance_bytes"],
        "per_instance_at_n": largest["n"],
        "slope": slopes,
        "scopes": scopes,
        "settle_s": settle_s,
    }
