"""The test-only start delay: parsed strictly (milliseconds or a share of the
backend's own median), a busy-wait timed as its own phase; the end-to-end
runs are in tests/test_trials.py."""

import subprocess
import sys

import pytest

from harness.backends.base import PhaseClock
from harness.paths import REPO_ROOT
from harness.measure.injection import INJECTED_PHASE, DelayedStart
from harness.measure.options import StartDelay, parse_start_delays


def test_parse_start_delays():
    assert parse_start_delays("subprocess=40, container=15%", ["isolate", "subprocess", "container"]) == {
        "subprocess": StartDelay(ms=40.0), "container": StartDelay(percent=15.0)}
    assert parse_start_delays("", ["isolate"]) == {}
    for bad in ("subprocess", "subprocess=x", "subprocess=-1", "nope=5", "subprocess=inf", "subprocess=1.2.3"):
        with pytest.raises(ValueError):
            parse_start_delays(bad, ["isolate", "subprocess"])


class FakeBackend:
    name = "fake"
    summary = "a fake"

    def __init__(self):
        self.started = 0

    def start(self, worker, clock):
        self.started += 1
        clock.mark("spawn")
        return "instance"


def test_delayed_start_sleeps_as_its_own_phase_and_delegates():
    inner = FakeBackend()
    backend = DelayedStart(inner, 20.0)
    clock = PhaseClock()
    assert backend.start(None, clock) == "instance"
    assert list(clock.phases) == [INJECTED_PHASE, "spawn"]
    assert clock.phases[INJECTED_PHASE] >= 20.0  # a busy-wait of at least that long
    assert inner.started == 1 and backend.name == "fake" and backend.summary == "a fake"


def test_unknown_backend_in_delay_is_bad_input(tmp_path):
    result = subprocess.run([sys.executable, "-m", "harness", "run", "--backends", "isolate", "--profile", "smoke",
                             "--out", str(tmp_path), "--inject-start-delay", "container=5"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "is not in this run" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_delay_costs_cpu_time_as_a_slowdown_would():
    """The busy delay spins for its wall time, so it spends CPU time; on a
    shared machine some of that wall time is stolen, so half is the bound."""
    import time

    backend = DelayedStart(FakeBackend(), 60.0)
    clock = PhaseClock()
    before = time.process_time()
    backend.start(None, clock)
    assert clock.phases[INJECTED_PHASE] >= 60.0
    assert time.process_time() - before >= 0.030


def test_an_undelayed_ab_side_records_no_start_delay_but_keeps_injected_crashes():
    from harness.measure.journal import RunHeader
    from harness.measure.manager import _without_delays
    from harness.measure.options import RunOptions
    from harness.results.model import InjectedDelay

    header = RunHeader(run_id="", options=RunOptions(backends=("container", "isolate"), profile="smoke"),
                       provenance={}, machine={}, profile={}, worker={}, conditions={},
                       injected={"container": InjectedDelay(ms=48.0, percent=15.0, calibrated_median_ms=320.0),
                                 "isolate": InjectedDelay(ms=0.0, crash_trial=2)})
    assert _without_delays(header).injected == {"isolate": InjectedDelay(ms=0.0, crash_trial=2)}
    assert header.injected["container"].ms == 48.0  # the head's header is left as it was


def test_a_sleeping_delay_costs_wall_time_only():
    """`BACKEND=P%:sleep` waits without spending CPU time, as a start that got slower by waiting."""
    import time

    assert parse_start_delays("container=10%:sleep, subprocess=5:busy", ["subprocess", "container"]) == {
        "container": StartDelay(percent=10.0, kind="sleep"), "subprocess": StartDelay(ms=5.0, kind="busy")}
    with pytest.raises(ValueError):
        parse_start_delays("container=10%:nap", ["container"])
    backend = DelayedStart(FakeBackend(), 60.0, "sleep")
    clock = PhaseClock()
    before = time.process_time()
    backend.start(None, clock)
    assert clock.phases[INJECTED_PHASE] >= 60.0
    assert time.process_time() - before < 0.03
