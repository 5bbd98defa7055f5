"""compare: the statistics on synthetic samples, the machine-independent
ratios, warnings, and the command's exit statuses."""

import json

import numpy as np
import pytest

from harness import cli
from harness.analysis.compare import (IMPROVEMENT, REGRESSION, UNCHANGED, IncompatibleResults, _Boot, compare_results,
                             memory_row, min_mann_whitney_p, ratio_row, timing_row, to_markdown, verdict)
from harness.results.store import parse

from .synthetic import draw, results_dict, synthetic_run, write


def rows_of(comparison, kind=None):
    return {(r["backend"], r["metric"]): r for r in comparison["rows"] if kind is None or r["kind"] == kind}


def run_pair(base_kwargs=None, new_kwargs=None, **options):
    baseline = parse(synthetic_run(1, **(base_kwargs or {})))
    new = parse(synthetic_run(2, **(new_kwargs or {})))
    return compare_results(baseline, new, **options)


# ------------------------------------------------------------ statistics

def test_identical_distributions_are_no_regression():
    comparison = run_pair()
    assert comparison["verdict"] == UNCHANGED
    assert comparison["regressions"] == 0
    assert all(r["verdict"] != REGRESSION for r in comparison["rows"])
    assert comparison["warnings"] == []


def test_false_alarm_rate_over_500_seeds_stays_at_or_below_alpha():
    alpha = 0.01
    alarms = untested_alarms = 0
    boot = _Boot(resamples=500)
    for seed in range(500):
        rng = np.random.default_rng(seed)
        old, new = list(draw(rng, 50.0, 30, 0.3)), list(draw(rng, 50.0, 30, 0.3))
        row = timing_row("subprocess", "cold_start", old, new, 0.10, alpha, boot)
        alarms += row["verdict"] == REGRESSION
        # Without the effect threshold, the test alone must hold its level too.
        untested_alarms += verdict(row["ratio"], row["p_value"], 1e-9, alpha) == REGRESSION
    assert alarms / 500 <= alpha
    assert untested_alarms / 500 <= alpha


def test_ratio_rows_false_alarm_rate_stays_at_or_below_alpha():
    alpha = 0.01
    alarms = 0
    boot = _Boot(resamples=1000)
    for seed in range(500):
        rng = np.random.default_rng(seed)
        old = (list(draw(rng, 330.0, 30, 0.1)), list(draw(rng, 4.0, 30, 0.1)))
        new = (list(draw(rng, 330.0, 30, 0.1)), list(draw(rng, 4.0, 30, 0.1)))
        row, _ = ratio_row("container", "cold_start", old, new, 1e-9, alpha, boot)
        alarms += row["verdict"] == REGRESSION
    assert alarms / 500 <= alpha


def test_a_30_percent_shift_is_caught():
    comparison = run_pair(new_kwargs={"slower": {("container", "cold_start"): 1.3}})
    row = rows_of(comparison)[("container", "cold_start")]
    assert row["verdict"] == REGRESSION
    assert row["ratio"] > 1.1 and row["p_value"] < 0.01
    assert row["ratio_ci95"][0] > 1.0
    assert comparison["verdict"] == REGRESSION
    assert rows_of(comparison)[("isolate", "cold_start")]["verdict"] == UNCHANGED


def test_a_30_percent_speedup_is_an_improvement_not_a_regression():
    comparison = run_pair(new_kwargs={"slower": {("subprocess", "warm_call"): 0.7}})
    assert rows_of(comparison)[("subprocess", "warm_call")]["verdict"] == IMPROVEMENT
    assert comparison["verdict"] == UNCHANGED


def test_a_3_percent_shift_on_noisy_data_is_not_a_regression():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        old, new = draw(rng, 50.0, 30, 0.3), draw(rng, 50.0 * 1.03, 30, 0.3)
        assert timing_row("subprocess", "cold_start", list(old), list(new), 0.10, 0.01)["verdict"] != REGRESSION


def test_significance_alone_is_not_enough():
    # A 5% shift on quiet data is highly significant but below the 10% threshold.
    rng = np.random.default_rng(3)
    old, new = draw(rng, 50.0, 200, 0.01), draw(rng, 52.5, 200, 0.01)
    row = timing_row("subprocess", "cold_start", list(old), list(new), 0.10, 0.01)
    assert row["p_value"] < 1e-6
    assert row["verdict"] == UNCHANGED


def test_effect_alone_is_not_enough_with_too_few_samples():
    row = timing_row("isolate", "cold_start", [4.0, 4.1, 4.2], [8.0, 8.1, 8.2], 0.10, 0.01)
    assert row["ratio"] > 1.9
    assert row["verdict"] == UNCHANGED
    assert "too few samples" in row["note"]
    assert min_mann_whitney_p(3, 3) == pytest.approx(0.1)


def test_long_series_are_tested_on_block_medians():
    rng = np.random.default_rng(4)
    old, new = draw(rng, 100.0, 4000, 0.2), draw(rng, 100.0, 4000, 0.2)
    row = timing_row("isolate", "warm_call", list(old), list(new), 0.10, 0.01)
    assert "block medians" in row["test"]
    assert row["n_old"] == 4000


def test_memory_is_compared_by_threshold_only():
    comparison = run_pair(new_kwargs={"memory_scale": {"container": 1.2}})
    row = rows_of(comparison)[("container", "memory_pss")]
    assert row["verdict"] == REGRESSION and row["p_value"] is None and row["ratio_ci95"] is None
    assert "threshold only" in row["test"]
    assert any("Memory per instance is compared by the threshold only" in n for n in comparison["notes"])
    assert memory_row("isolate", "uss", 1.0, 1.05, 0.10)["verdict"] == UNCHANGED
    assert memory_row("isolate", "uss", 1.0, 0.8, 0.10)["verdict"] == IMPROVEMENT


def test_first_isolate_is_compared_from_extra_info():
    comparison = run_pair(new_kwargs={"slower": {("isolate", "first_isolate"): 2.0}})
    row = rows_of(comparison)[("isolate", "first_isolate")]
    assert row["unit"] == "ms" and row["n_old"] == 10
    assert row["verdict"] == REGRESSION


def test_comparison_is_json_and_reproducible():
    first, second = run_pair(), run_pair()
    assert json.loads(json.dumps(first)) == first
    assert first == second
    assert set(first) >= {"rows", "warnings", "machine_differences", "verdict", "regressions", "notes"}
    assert set(first["rows"][0]) >= {"backend", "metric", "old_median", "new_median", "ratio", "ratio_ci95",
                                     "p_value", "verdict"}


# ------------------------------------------------------------ ratios

def test_ratios_only_catches_a_relative_regression_of_one_backend():
    comparison = run_pair(new_kwargs={"slower": {("container", "cold_start"): 1.3}}, ratios_only=True)
    assert all(r["kind"] in ("ratio", "memory ratio") for r in comparison["rows"])
    assert rows_of(comparison)[("container/isolate", "cold_start")]["verdict"] == REGRESSION
    assert rows_of(comparison)[("subprocess/isolate", "cold_start")]["verdict"] == UNCHANGED
    assert comparison["verdict"] == REGRESSION


def test_ratios_only_ignores_a_machine_that_is_uniformly_slower():
    everything = {key: 1.5 for key in [(b, m) for b in ("isolate", "subprocess", "container")
                                       for m in ("cold_start", "warm_call", "transport")]}
    comparison = run_pair(new_kwargs={"slower": everything}, ratios_only=True)
    assert comparison["verdict"] == UNCHANGED
    absolute = run_pair(new_kwargs={"slower": everything})
    assert absolute["verdict"] == REGRESSION


def test_ratios_only_flags_the_isolate_when_it_alone_got_slower():
    comparison = run_pair(new_kwargs={"slower": {("isolate", "cold_start"): 1.4}}, ratios_only=True)
    reference = rows_of(comparison)[("isolate (vs all others)", "cold_start")]
    assert reference["verdict"] == REGRESSION
    assert reference["ratio"] == pytest.approx(1.4, rel=0.15)
    assert comparison["verdict"] == REGRESSION


def test_metrics_keeps_only_the_named_metrics():
    comparison = run_pair(new_kwargs={"slower": {("container", "warm_call"): 2.0}}, ratios_only=True,
                          metrics=("cold_start", "memory"))
    assert {r["metric"] for r in comparison["rows"]} == {"cold_start", "memory_uss", "memory_pss"}
    assert comparison["verdict"] == UNCHANGED  # the warm-call regression is not among them
    with pytest.raises(IncompatibleResults, match="among metrics"):
        run_pair(metrics=("nothing",))


def test_memory_ratio_rows():
    comparison = run_pair(new_kwargs={"memory_scale": {"subprocess": 1.3}}, ratios_only=True)
    assert rows_of(comparison)[("subprocess/isolate", "memory_pss")]["verdict"] == REGRESSION
    assert rows_of(comparison)[("container/isolate", "memory_pss")]["verdict"] == UNCHANGED


# ------------------------------------------------------------ warnings and input

def test_machine_differences_are_named():
    comparison = run_pair(new_kwargs={"machine": {"cpu_model": "Other CPU", "kernel": "6.1"},
                                      "versions": {"subprocess": {"node": "22.0.0"}}})
    differences = comparison["machine_differences"]
    assert set(differences) >= {"cpu model", "kernel", "node"}
    assert differences["cpu model"] == {"baseline": "Test CPU", "new": "Other CPU"}
    assert any("differ in machine or versions" in w and "cpu model" in w for w in comparison["warnings"])


def test_injected_faults_are_flagged():
    comparison = run_pair(new_kwargs={"injected": {"start_delay_ms": {"subprocess": 40.0}}})
    assert comparison["injected"]["new"] == {"start_delay_ms": {"subprocess": 40.0}}
    assert any("INJECTED" in w for w in comparison["warnings"])
    assert "INJECTED" in to_markdown(comparison)


def test_busy_machine_is_flagged():
    comparison = run_pair(new_kwargs={"load_at_start": [3.0, 2.0, 1.0]})
    assert any("busy machine" in w and "3.00" in w for w in comparison["warnings"])
    assert not any("busy machine" in w for w in run_pair(new_kwargs={"load_at_start": [0.5, 0.5, 0.5]})["warnings"])


def test_different_workers_cannot_be_compared():
    with pytest.raises(IncompatibleResults, match="different workers"):
        run_pair(new_kwargs={"worker_sha": "1" * 64})


def test_markdown_names_regressions():
    comparison = run_pair(new_kwargs={"slower": {("container", "cold_start"): 1.3}})
    text = to_markdown(comparison)
    assert "| container | cold_start | ms |" in text and "**REGRESSION**" in text


# ------------------------------------------------------------ the command

@pytest.fixture
def files(tmp_path):
    def make(name, seed, **kwargs):
        return str(write(tmp_path / name, synthetic_run(seed, **kwargs)))
    return make


def test_exit_0_without_regression(files, capsys):
    assert cli.main(["compare", files("a.json", 1), files("b.json", 2)]) == 0
    assert "| backend | metric |" in capsys.readouterr().out


def test_exit_1_on_regression(files, capsys):
    new = files("b.json", 2, slower={("subprocess", "cold_start"): 1.8})
    assert cli.main(["compare", files("a.json", 1), new, "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == REGRESSION


def test_exit_1_on_relative_regression_with_ratios_only(files, capsys):
    new = files("b.json", 2, slower={("subprocess", "cold_start"): 1.8})
    assert cli.main(["compare", files("a.json", 1), new, "--ratios-only", "--threshold", "25%"]) == 1


@pytest.mark.parametrize("problem", ["missing", "corrupt", "schema", "worker", "threshold"])
def test_exit_2_on_unusable_input(problem, files, tmp_path, capsys):
    baseline, new = files("a.json", 1), files("b.json", 2)
    args = ["compare", baseline, new]
    if problem == "missing":
        args[2] = str(tmp_path / "nope.json")
    elif problem == "corrupt":
        (tmp_path / "b.json").write_text("{not json")
    elif problem == "schema":
        raw = json.loads((tmp_path / "b.json").read_text())
        raw["isobench"]["schema"] = "isobench/999"
        (tmp_path / "b.json").write_text(json.dumps(raw))
    elif problem == "worker":
        args[2] = files("c.json", 2, worker_sha="f" * 64)
    else:
        args += ["--threshold", "ten"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("isobench: error:") and "\n" not in err


def test_machine_difference_warns_and_strict_refuses(files, capsys):
    baseline, new = files("a.json", 1), files("b.json", 2, machine={"cpu_model": "Other CPU"})
    assert cli.main(["compare", baseline, new]) == 0
    err = capsys.readouterr().err
    assert "WARNING" in err and "cpu model" in err
    assert cli.main(["compare", baseline, new, "--strict"]) == 2
    assert "cpu model" in capsys.readouterr().err


def test_no_common_figures_is_unusable(tmp_path):
    a = write(tmp_path / "a.json", results_dict({("isolate", "cold_start"): [0.004] * 5}))
    b = write(tmp_path / "b.json", results_dict({("container", "cold_start"): [0.3] * 5}))
    assert cli.main(["compare", str(a), str(b)]) == 2
