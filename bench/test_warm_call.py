"""Warm calls on one live instance per backend: in blocks, each block visiting
every backend in a new random order, in each CPU regime of the profile (idle
CPUs, CPUs held awake: harness/measure/cpu_regime.py; a block of every regime
per round, the regimes in a new random order); within a block each timed call
(`instance.call(arg)`: request out, answer in) is followed by a timed ping (a
round trip that does not run the handler), so call and transport share their
time window. Then the in-engine loops (harness/runtime/prelude.js), backends
again in random order. Warmup calls first are discarded; GC is off while timing."""

import gc

import pytest

from harness.measure.cpu_regime import regime
from harness.measure.procedures import ARG, cold_start, engine_time

SUITE = "warm_call"


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
                for _ in range(profile.warm_warmup_calls):
                    instance.call(ARG)
                    instance.ping()
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
