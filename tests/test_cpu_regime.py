"""CPU regimes: the PM QoS lever that holds the CPUs awake, what a trial does
when it is missing, and the machine facts about idle states."""

import struct

import pytest

from harness.procedures import cpu_regime
from harness.procedures.cpu_regime import AWAKE, IDLE, AwakeLever, regime, regimes_here
from harness.measure.machine import cpu_idle


def test_the_lever_writes_a_zero_latency_request_and_holds_it_open(tmp_path):
    device = tmp_path / "cpu_dma_latency"
    device.write_bytes(b"")
    lever = AwakeLever(device)
    assert lever.available and "held at 0" in lever.describe()
    with regime(AWAKE, lever):
        assert device.read_bytes()[-4:] == struct.pack("i", 0)
    with regime(IDLE, lever):
        pass
    assert regimes_here((IDLE, AWAKE), lever) == (IDLE, AWAKE)


def test_a_missing_lever_is_reported_and_the_awake_regime_is_left_out(tmp_path):
    lever = AwakeLever(tmp_path / "no-such-device")
    assert not lever.available
    assert lever.describe().startswith("unavailable:") and "no-such-device" in lever.describe()
    assert regimes_here((IDLE, AWAKE), lever) == (IDLE,)
    with pytest.raises(RuntimeError, match="cannot hold the CPUs awake"):
        with regime(AWAKE, lever):
            pass


def test_a_trial_without_the_lever_measures_idle_only_and_says_why(tmp_path, monkeypatch, capsys):
    from harness.measure.options import RunOptions
    from harness.measure.trial import Trial, TrialSpec

    monkeypatch.setattr(cpu_regime, "PM_QOS_DEVICE", tmp_path / "missing")
    spec = TrialSpec(index=0, seed=1, options=RunOptions(backends=("isolate",), profile="smoke"),
                     plan={"warm_call": ("isolate",)})
    trial = Trial(spec, worker=None, backends={}, info={}, unavailable={})
    assert trial.regimes == (IDLE,)
    assert "awake not measured" in capsys.readouterr().err
    record = trial.to_json()
    assert record["cpu_regimes"]["measured"] == [IDLE]
    assert record["cpu_regimes"]["awake"].startswith("unavailable:")


def test_the_machine_facts_name_the_idle_driver_and_states():
    facts = cpu_idle()
    assert "pm_qos_device" in facts
    for state in facts.get("states", []):
        assert set(state) == {"name", "exit_latency_us", "target_residency_us", "disabled"}
