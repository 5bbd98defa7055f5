"""The first instance of a fresh process, for the backends whose first costs
more (the isolate: loading libmini_racer and starting V8's platform), each
time in a fresh interpreter, timed inside it; backends visited in a new
random order each round. Never mixed with the steady cold start."""

import pytest

from harness.measure.procedures import ARG

SUITE = "first_instance"


def test_first_instance(trial):
    names = trial.members(SUITE)
    if not names:
        pytest.skip("no backend to measure in this trial")
    rounds = trial.profile.first_instance_rounds
    with trial.progress.steps("first instance per process", rounds * len(names)) as advance:
        for _ in range(rounds):
            for name in trial.order(names):
                advance()
                if not trial.healthy(SUITE, name):
                    continue
                try:
                    probe = trial.backends[name].first_instance_probe(trial.worker, ARG)
                except Exception as error:
                    trial.fail(SUITE, name, error)
                    continue
                if probe is not None:
                    trial.add_first_instance(name, probe)
