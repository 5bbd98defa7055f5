"""The CI gate's policy (harness/findings/gate.py) on synthetic runs: both
checks on one measurement, the baseline set as advice on another machine,
the worst exit, the re-measure rule; and the command's bad input."""

from dataclasses import replace

import pytest

from harness import cli
from harness.findings import gate
from harness.findings.compare import ADVISORY, REGRESSION, UNCHANGED

from .synthetic import MACHINE, synthetic_run

SLOWER = {("container", "cold_start"): 1.6, ("container", "cold_start_cpu"): 1.6}


def baseline_set(machine=MACHINE):
    return [synthetic_run(30 + i, trials=6, trial_cv=0.02, machine=machine) for i in range(4)]


def test_unchanged_code_passes_both_checks():
    verdict = gate.judge(synthetic_run(1, trials=6), synthetic_run(2, trials=6), baseline_set())
    assert verdict.ab.verdict == UNCHANGED and verdict.baseline_set.verdict == UNCHANGED
    assert not verdict.failed and verdict.code == 0


def test_a_slower_container_fails_the_ab_check_and_the_baseline_set():
    base = synthetic_run(1, trials=6, trial_cv=0.02)
    head = synthetic_run(1, trials=6, trial_cv=0.02, slower=SLOWER)  # same trial shifts: the pairs line up
    verdict = gate.judge(base, head, baseline_set())
    assert verdict.ab_failed and verdict.set_failed and verdict.code == 1
    assert {r.kind for r in verdict.baseline_set.rows} == {"ratio", "memory ratio"}  # the set: ratios only
    settings = gate.GateSettings()
    assert settings.ab_settings().paired and not settings.ab_settings().ratios_only
    assert settings.set_settings().ratios_only and settings.set_settings().machine_bound


def test_on_another_machine_the_baseline_set_is_advice_and_the_ab_check_gates():
    elsewhere = replace(MACHINE, kernel="6.0-test-newer")
    base = synthetic_run(1, trials=6, trial_cv=0.02, machine=elsewhere)
    head = synthetic_run(2, trials=6, trial_cv=0.02, machine=elsewhere, slower=SLOWER)
    only_set = gate.judge(None, head, baseline_set())
    assert only_set.ab is None and only_set.baseline_set.verdict == ADVISORY and only_set.code == 0
    assert gate.judge(base, head, baseline_set()).ab.verdict == REGRESSION


def test_the_worst_exit_wins_and_only_a_failure_is_measured_again():
    assert gate.worst([0, 1]) == 1 and gate.worst([1, 2]) == 2 and gate.worst([]) == 0
    once = gate.GateSettings()
    assert gate.measure_again(1, 0, once) and not gate.measure_again(1, 1, once)
    assert not gate.measure_again(0, 0, once) and not gate.measure_again(2, 0, once)
    assert not gate.measure_again(130, 0, once)
    assert not gate.measure_again(1, 0, gate.GateSettings(remeasures=0))


def test_the_gate_settings_are_checked():
    with pytest.raises(ValueError):
        gate.GateSettings(remeasures=-1)
    with pytest.raises(ValueError):
        gate.GateSettings(alpha=1.5)


@pytest.mark.parametrize("args, message", [
    (["--threshold", "ten"], "bad --threshold"),
    (["--baseline-set", "/nonexistent/set"], "no such folder"),
    (["--remeasures", "-1"], "remeasures"),
])
def test_gate_bad_input_is_one_line_and_exit_2(args, message, capsys):
    assert cli.main(["gate", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_a_failing_measurement_is_measured_again_and_the_last_decides(monkeypatch, tmp_path):
    from harness.commands import gate as command

    seen = []
    monkeypatch.setattr(command, "_attempt", lambda args, settings, baselines, attempt: seen.append(attempt) or
                        (1 if attempt == 0 else 0))
    monkeypatch.setattr("harness.commands.compare.load_baselines", lambda where: [])
    assert cli.main(["gate", "--baseline-set", str(tmp_path)]) == 0 and seen == [0, 1]
    seen.clear()
    monkeypatch.setattr(command, "_attempt", lambda args, settings, baselines, attempt: seen.append(attempt) or 1)
    assert cli.main(["gate", "--baseline-set", str(tmp_path)]) == 1 and seen == [0, 1]
