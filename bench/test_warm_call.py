"""Warm calls on one live instance per backend: in blocks, each block visiting
every backend in a new random order, in each CPU regime of the profile (idle
CPUs, CPUs held awake: harness/measure/cpu_regime.py; a block of every regime
per round, the regimes in a new random order); within a block each timed call
(`instance.call(arg)`: request out, answer in) is followed by a timed ping (a
round trip that does not run the handler), so call and transport share their
time window. Then the in-engine loops (harness/runtime/prelude.js), backends
again in random order. The warm-up calls come first, right after each
instance's cold start, each timed and kept apart from the figure: at least
the profile's count, and more (in steps of that count, up to WARMUP_CAP times
it) while the changepoint detector says the series has not settled
(harness/analysis/steady_state.py). They are the one contiguous series of a
fresh instance, so they are what its steady state is judged on; they run with
the CPUs held awake when the profile measures that regime (CPU wake-ups would
otherwise hide the instance's own warm-up), else as the machine is. GC is off
while timing."""

import gc

import pytest

from harness.measure.cpu_regime import regime
from harness.measure.procedures import ARG, cold_start, engine_time

SUITE = "warm_call"
WARMUP_CAP = 4  # the warm-up grows to at most this many times the profile's count


def _timed_pairs(instance, count: int, clock_ns) -> tuple[list[int], list[int]]:
    calls, pings = [], []
    call, ping = instance.call, instance.ping
    for _ in range(count):
        started = clock_ns()
        call(ARG)
        middle = clock_ns()
        ping()
        ended = clock_ns()
        calls.append(middle - started)
        pings.append(ended - middle)
    return calls, pings


def _warm_up(instance, count: int, clock_ns) -> tuple[list[int], bool]:
    """The warm-up calls (ns each, pings between them untimed), and whether the series settled."""
    from harness.analysis.steady_state import NO_STEADY_STATE, classify

    calls: list[int] = []
    while True:
        for _ in range(count):
            started = clock_ns()
            instance.call(ARG)
            calls.append(clock_ns() - started)
            instance.ping()
        found = classify([c * 1e-9 for c in calls])
        unsettled = found is not None and found.classification == NO_STEADY_STATE
        if not unsettled or len(calls) >= WARMUP_CAP * count:
            return calls, not unsettled


def test_warm_call(trial):
    import time

    names = trial.members(SUITE)
    if not names:
        pytest.skip("no backend to measure in this trial")
    profile = trial.profile
    live = {}
    try:
        for name in trial.order(names):
            try:
                instance, _, answer = cold_start(trial.backends[name], trial.worker, ARG)
                live[name] = (instance, answer)
                with regime(trial.warmup_regime, trial.lever):
                    calls, settled = _warm_up(instance, profile.warm_warmup_calls, time.perf_counter_ns)
                trial.add_warmup(name, calls, settled, trial.warmup_regime)
            except Exception as error:
                trial.fail(SUITE, name, error)
        total = (profile.warm_blocks * len(trial.regimes) + profile.engine_repeats) * len(live)
        with trial.progress.steps("warm call, transport, in-engine", total) as advance:
            gc_was_on = gc.isenabled()
            gc.disable()
            try:
                for _ in range(profile.warm_blocks):
                    for cpus in trial.regime_order():
                        with regime(cpus, trial.lever):
                            for name in trial.order(list(live)):
                                advance()
                                if not trial.healthy(SUITE, name):
                                    continue
                                try:
                                    calls, pings = _timed_pairs(live[name][0], profile.warm_block_calls,
                                                                time.perf_counter_ns)
                                except Exception as error:
                                    trial.fail(SUITE, name, error)
                                    continue
                                trial.add_calls(name, calls, pings, cpus)
            finally:
                if gc_was_on:
                    gc.enable()
            for _ in range(profile.engine_repeats):
                for name in trial.order(list(live)):
                    advance()
                    if not trial.healthy(SUITE, name):
                        continue
                    try:
                        trial.add_engine(name, engine_time(live[name][0], profile.engine_min_ms))
                    except Exception as error:
                        trial.fail(SUITE, name, error)
        for name, (instance, answer) in live.items():
            if trial.healthy(SUITE, name):
                try:
                    last = instance.call(ARG)
                    if last != answer:
                        raise AssertionError(f"warm answer {last!r} differs from the first answer {answer!r}")
                except Exception as error:
                    trial.fail(SUITE, name, error)
    finally:
        for instance, _ in live.values():
            try:
                instance.stop()
            except Exception:
                pass
