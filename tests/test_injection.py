"""The test-only start delay: parsed strictly, timed as its own phase, recorded in the run."""

import json
import subprocess
import sys

import pytest

from harness.backends.base import PhaseClock
from harness.paths import REPO_ROOT
from harness.measure.injection import INJECTED_PHASE, DelayedStart, describe, parse_start_delays


def test_parse_start_delays():
    assert parse_start_delays("subprocess=40, container=100.5", ["isolate", "subprocess", "container"]) == {
        "subprocess": 40.0, "container": 100.5}
    assert parse_start_delays("", ["isolate"]) == {}
    for bad in ("subprocess", "subprocess=x", "subprocess=-1", "nope=5", "subprocess=inf"):
        with pytest.raises(ValueError):
            parse_start_delays(bad, ["isolate", "subprocess"])
    assert describe({}) == {} and describe({"isolate": 5.0}) == {"start_delay_ms": {"isolate": 5.0}}


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
    assert clock.phases[INJECTED_PHASE] >= 20.0  # time.sleep sleeps at least that long
    assert inner.started == 1 and backend.name == "fake" and backend.summary == "a fake"


def test_unknown_backend_in_delay_is_bad_input(tmp_path):
    result = subprocess.run([sys.executable, "-m", "harness", "run", "--backends", "isolate", "--profile", "smoke",
                             "--out", str(tmp_path), "--inject-start-delay", "container=5"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "unknown backend" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_run_with_an_injected_delay_records_it_and_compare_flags_it(tmp_path):
    def run(out, *extra):
        return subprocess.run([sys.executable, "-m", "harness", "run", "--backends", "isolate", "--profile", "smoke",
                               "--out", str(out), *extra], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)

    real = run(tmp_path / "real")
    assert real.returncode == 0, real.stderr[-2000:]
    fake = run(tmp_path / "fake", "--inject-start-delay", "isolate=30")
    assert fake.returncode == 0, fake.stderr[-2000:]
    assert "injected" in fake.stderr
    raw = json.loads((tmp_path / "fake" / "latest.json").read_text())
    assert raw["isobench"]["injected"] == {"start_delay_ms": {"isolate": 30.0}}
    assert json.loads((tmp_path / "real" / "latest.json").read_text())["isobench"]["injected"] == {}
    cold = next(b for b in raw["benchmarks"] if b["name"] == "test_cold_start[isolate]")
    assert all(v >= 30.0 for v in cold["extra_info"]["phases_ms"][INJECTED_PHASE])
    compared = subprocess.run([sys.executable, "-m", "harness", "compare", str(tmp_path / "real" / "latest.json"),
                               str(tmp_path / "fake" / "latest.json"), "--format", "json"],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert compared.returncode in (0, 1)  # smoke has too few samples to be significant
    assert "INJECTED" in compared.stderr
    data = json.loads(compared.stdout)
    assert data["injected"]["new"] == {"start_delay_ms": {"isolate": 30.0}}
    assert any("INJECTED" in w for w in data["warnings"])
