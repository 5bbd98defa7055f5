"""Cold start, in rounds: each round starts one fresh instance of every
backend in each CPU regime of the profile (idle CPUs, CPUs held awake; the
regimes in a new random order each round, the backends in a new random order
in each regime), and times each from asking for the instance to receiving its
first answer (wall time on the phase clock, with the CPU time the start cost).
Each instance is stopped right after, outside the timer. The first rounds are
warmups and discarded."""

import pytest

from harness.measure.cpu_regime import regime
from harness.measure.procedures import ARG, timed_cold_start

SUITE = "cold_start"


def test_cold_start(trial):
    names = trial.members(SUITE)
    if not names:
        pytest.skip("no backend to measure in this trial")
    profile = trial.profile
    rounds = profile.cold_warmups + profile.cold_rounds
    with trial.progress.steps("cold start", rounds * len(names) * len(trial.regimes)) as advance:
        for round_index in range(rounds):
            for cpus in trial.regime_order():
                with regime(cpus, trial.lever):
                    for name in trial.order(names):
                        advance()
                        if not trial.healthy(SUITE, name):
                            continue
                        try:
                            instance, sample = timed_cold_start(trial.backends[name], trial.worker, ARG)
                            instance.stop()
                        except Exception as error:
                            trial.fail(SUITE, name, error)
                            continue
                        if round_index >= profile.cold_warmups:
                            trial.add_cold_start(name, sample, cpus)
