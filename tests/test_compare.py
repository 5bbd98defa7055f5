"""compare: verdicts on synthetic runs with trials (one baseline run, a
baseline set, A/B pairs), the clock choice, the machine-independent ratios,
warnings, runs written by isobench 1, and the command's exit statuses."""

import json
from dataclasses import replace

import numpy as np
import pytest

from harness import cli
from harness.findings.compare import (
    IMPROVEMENT, NOT_GATED, REGRESSION, UNCHANGED, CompareSettings, IncompatibleResults, between_runs, compare,
    verdict,
)
from harness.commands.compare import to_markdown

from .synthetic import MACHINE, save_run, synthetic_run

GATE = CompareSettings(threshold=0.10, alpha=0.01, metrics=("cold_start", "memory"))


def rows_of(comparison, kind=None):
    return {(r.backend, r.metric): r for r in comparison.rows if kind is None or r.kind == kind}


def gated(comparison, backend):
    """The cold-start row that decides for this backend: of the gated clocks, the one with the strongest verdict."""
    rows = rows_of(comparison)
    found = [rows[(backend, m)] for m in ("cold_start", "cold_start_cpu") if (backend, m) in rows
             and rows[(backend, m)].gated]
    assert found
    rank = {REGRESSION: 0, IMPROVEMENT: 1, UNCHANGED: 2}
    return min(found, key=lambda row: rank[row.verdict])


def test_unchanged_runs_are_no_regression():
    comparison = compare(synthetic_run(1), synthetic_run(2))
    assert comparison.verdict == UNCHANGED and comparison.regressions == 0
    assert comparison.warnings == ()
    row = rows_of(comparison)[("container", "cold_start")]
    assert row.trials_old == row.trials_new == 3 and "bootstrap" in row.test


def test_false_alarms_between_unchanged_runs_stay_rare():
    """Runs whose trials move together (trial_cv) are where a within-run test
    raises false alarms; the trial-level interval keeps them near alpha."""
    alarms = 0
    for seed in range(40):
        old = synthetic_run(100 + seed, trials=4, trial_cv=0.08, backends=("isolate", "container"))
        new = synthetic_run(500 + seed, trials=4, trial_cv=0.08, backends=("isolate", "container"))
        alarms += compare(old, new, GATE).regressions > 0
    assert alarms <= 2


def test_a_slower_container_is_a_regression_absolute_and_as_a_ratio():
    comparison = compare(synthetic_run(1, trials=5), synthetic_run(2, trials=5, slower={("container", "cold_start"): 1.5}))
    assert comparison.verdict == REGRESSION
    assert gated(comparison, "container").verdict == REGRESSION
    assert gated(comparison, "container/isolate").verdict == REGRESSION
    assert gated(comparison, "isolate").verdict == UNCHANGED
    low, high = rows_of(comparison)[("container", "cold_start")].ratio_ci95
    assert low < 1.5 < high


def test_an_improvement_is_not_a_regression():
    comparison = compare(synthetic_run(1, trials=5), synthetic_run(2, trials=5, slower={("subprocess", "cold_start"): 0.6}))
    assert gated(comparison, "subprocess").verdict == IMPROVEMENT
    assert comparison.verdict == UNCHANGED


def test_the_reference_getting_slower_shows_on_its_own_row():
    slower = {("isolate", "cold_start"): 1.6, ("isolate", "cold_start_cpu"): 1.6}
    comparison = compare(synthetic_run(1, trials=5), synthetic_run(2, trials=5, slower=slower),
                         replace(GATE, ratios_only=True))
    row = rows_of(comparison)[("isolate (vs all others)", "cold_start")]
    assert row.verdict == REGRESSION and row.ratio > 1.3


def test_a_baseline_set_absorbs_what_varies_between_runs():
    """Baseline runs that differ from each other by 15-20% make a +15% run
    ordinary: outside one run's interval, inside the runs' prediction bound."""
    rng = np.random.default_rng(9)
    baselines = [synthetic_run(10 + i, trials=3, trial_cv=0.01,
                               slower={("container", "cold_start"): float(rng.lognormal(0, 0.12))})
                 for i in range(6)]
    new = synthetic_run(99, trials=3, trial_cv=0.01, slower={("container", "cold_start"): 1.15})
    single = rows_of(compare(baselines[0], new, replace(GATE, clock="wall")))[("container", "cold_start")]
    pooled = rows_of(compare(baselines, new, replace(GATE, clock="wall")))[("container", "cold_start")]
    assert pooled.between_runs.runs == 6
    assert pooled.verdict != REGRESSION
    assert pooled.between_runs.low < pooled.new_median < pooled.between_runs.high or \
        single.verdict == REGRESSION


def test_a_baseline_set_catches_a_change_beyond_its_runs():
    baselines = [synthetic_run(20 + i, trials=4, trial_cv=0.02) for i in range(5)]
    new = synthetic_run(98, trials=4, trial_cv=0.02, slower={("container", "cold_start"): 1.4})
    row = gated(compare(baselines, new, GATE), "container")
    assert row.verdict == REGRESSION and row.between_runs.above


def test_between_runs_bound():
    bound = between_runs([1.0, 1.02, 0.98, 1.01, 0.99], 1.2, 0.99)
    assert bound.above and not bound.below and bound.high < 1.2
    assert between_runs([1.0, 1.0], 2.0, 0.99) is None  # two runs say nothing about spread


def test_both_clocks_gate_and_cpu_time_never_excuses_a_wall_clock_slowdown():
    """A start that got 50% slower by waiting (wall time only; CPU time as it
    was, and steadier) is a regression: both clocks gate, each at alpha/2."""
    old = synthetic_run(1, trials=5, cv=0.1, trial_cv=0.05, cpu_cv=0.02)
    wall_only = {("container", "cold_start"): 1.5, ("container", "cold_start_cpu"): 1 / 1.5}  # CPU draws on both
    new = synthetic_run(2, trials=5, cv=0.1, trial_cv=0.05, cpu_cv=0.02, slower=wall_only)
    comparison = compare(old, new, GATE)
    rows = rows_of(comparison)
    assert rows[("container", "cold_start")].gated and rows[("container", "cold_start_cpu")].gated
    assert rows[("container", "cold_start")].verdict == REGRESSION
    assert rows[("container", "cold_start_cpu")].verdict == UNCHANGED
    assert comparison.verdict == REGRESSION
    assert "alpha/2" in rows[("container", "cold_start")].clock_choice


def test_a_fixed_clock_gates_alone():
    old = synthetic_run(1, trials=5)
    new = synthetic_run(2, trials=5, slower={("container", "cold_start"): 1.5})
    fixed = rows_of(compare(old, new, replace(GATE, clock="cpu")))
    assert fixed[("container", "cold_start")].verdict == NOT_GATED
    assert "would be regression" in fixed[("container", "cold_start")].note
    assert fixed[("container", "cold_start_cpu")].gated


def test_the_committed_reference_with_a_wall_clock_slowdown_fails_compare(tmp_path, capsys):
    """The committed reference, with the container's wall-clock cold starts
    scaled by 1.5 and its CPU times left alone: `compare` exits 1.

    The container/isolate ratio of wall times catches it: a ratio is taken
    within each trial, so a trial in which the whole machine ran slower (the
    reference has one, about 1.5x on every backend) cancels in it. The
    absolute figure is compared between two unpaired runs over trials, and
    that slow trial widens its interval past a 1.5x change at alpha/2."""
    import gzip

    from harness.paths import REPO_ROOT

    [reference] = sorted((REPO_ROOT / "results" / "reference").glob("*-full.json.gz"))
    raw = json.loads(gzip.decompress(reference.read_bytes()))
    [entry] = [b for b in raw["benchmarks"] if b["extra_info"]["metric"] == "cold_start"
               and b["extra_info"]["backend"] == "container"]
    entry["stats"]["data"] = [v * 1.5 for v in entry["stats"]["data"]]
    scaled = tmp_path / "scaled.json"
    scaled.write_text(json.dumps(raw))
    assert harness("compare", str(reference), str(scaled), "--metrics", "cold_start") == 1
    rows = {tuple(cell.strip() for cell in line.split("|")[1:3]): line
            for line in capsys.readouterr().out.splitlines() if line.startswith("| ")}
    assert "REGRESSION" in rows[("container/isolate", "cold_start")]
    assert "REGRESSION" not in rows[("container/isolate", "cold_start_cpu")]
    assert "REGRESSION" not in rows[("container", "cold_start_cpu")]


def test_paired_ab_runs_resample_their_pairs_together():
    shifts = {"trial_cv": 0.25, "trials": 6}
    base = synthetic_run(1, **shifts)
    head = synthetic_run(1, **shifts, slower={("container", "cold_start"): 1.15, ("container", "cold_start_cpu"): 1.15})
    paired = rows_of(compare(base, head, replace(GATE, paired=True, clock="wall")))[("container", "cold_start")]
    independent = rows_of(compare(base, head, replace(GATE, clock="wall")))[("container", "cold_start")]
    width = lambda row: row.ratio_ci95[1] - row.ratio_ci95[0]  # noqa: E731
    assert width(paired) < width(independent) / 2
    assert paired.verdict == REGRESSION


def test_memory_is_compared_per_trial():
    comparison = compare(synthetic_run(1), synthetic_run(2, memory_scale={"subprocess": 1.3}), GATE)
    assert rows_of(comparison)[("subprocess", "memory_pss")].verdict == REGRESSION


def test_different_workers_cannot_be_compared():
    with pytest.raises(IncompatibleResults, match="different workers"):
        compare(synthetic_run(1), synthetic_run(2, worker_sha="1" * 64))


def test_warnings_name_busy_injected_and_different_machines():
    new = synthetic_run(2, load=(3.0, 1.0, 1.0), injected={"container": 50.0},
                        versions={"isolate": {"v8": "99"}})
    comparison = compare(synthetic_run(1, versions={"isolate": {"v8": "14"}}), new)
    text = " ".join(comparison.warnings)
    assert "busy machine" in text and "INJECTED" in text and "isolate v8: 14 -> 99" in text
    assert comparison.machine_differences["isolate v8"] == {"baseline": "14", "new": "99"}


def test_verdict_needs_effect_and_significance():
    assert verdict(1.5, 0.001, 0.1, 0.01) == REGRESSION
    assert verdict(1.5, 0.2, 0.1, 0.01) == UNCHANGED
    assert verdict(1.05, 0.0001, 0.1, 0.01) == UNCHANGED
    assert verdict(1.5, 0.001, 0.1, 0.01, outside=False) == UNCHANGED


def test_markdown_shows_every_row_and_the_count():
    comparison = compare(synthetic_run(1, trials=5), synthetic_run(2, trials=5, slower={("container", "cold_start"): 1.5}))
    text = to_markdown(comparison)
    assert "**REGRESSION**" in text and "regression(s)" in text
    assert text.count("\n| ") >= len(comparison.rows)


def test_a_run_written_by_isobench_1_still_compares(tmp_path):
    """The committed v1 files load through the migration: one trial, Mann-Whitney on the raw samples."""
    from harness.results.store import load

    old = load("tests/data/v1-quick.json")
    assert old.migrated_from == "isobench/1" and len(old.trials) == 1
    comparison = compare(old, old)
    row = rows_of(comparison)[("container", "cold_start")]
    assert "Mann-Whitney" in row.test and row.verdict == UNCHANGED
    assert any("isobench 1" in w for w in comparison.warnings)


# ------------------------------------------------------------ the command

def harness(*args):
    return cli.main(list(args))


def test_cli_exit_statuses(tmp_path, capsys):
    old = save_run(synthetic_run(1, trials=5), tmp_path / "old.json")
    same = save_run(synthetic_run(2, trials=5), tmp_path / "same.json")
    slow = save_run(synthetic_run(3, trials=5, slower={("container", "cold_start"): 1.6,
                                                        ("container", "cold_start_cpu"): 1.6}), tmp_path / "slow.json")
    assert harness("compare", str(old), str(same)) == 0
    assert harness("compare", str(old), str(slow)) == 1
    capsys.readouterr()
    assert harness("compare", str(old), str(slow), "--format", "json") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == REGRESSION and data["schema"] == "isobench-compare/2"


def test_cli_takes_a_baseline_folder(tmp_path, capsys):
    folder = tmp_path / "baseline"
    for i in range(4):
        save_run(synthetic_run(30 + i, trials=3), folder / f"run{i}.json")
    save_run(synthetic_run(40, injected={"container": 10.0}), folder / "injected.json")
    new = save_run(synthetic_run(50, trials=3), tmp_path / "new.json")
    assert harness("compare", str(folder), str(new), "--metrics", "cold_start,memory") == 0
    captured = capsys.readouterr()
    assert "leaving out" in captured.err and "injected" in captured.err
    assert "baseline runs' bound" in captured.out


def test_a_baseline_set_from_another_machine_is_advice(tmp_path, capsys):
    """A baseline set belongs to its machine: the same regression fails the
    check on that machine (exit 1) and is printed as advice on another (exit 0)."""
    folder = tmp_path / "baseline"
    for i in range(4):
        save_run(synthetic_run(30 + i, trials=4, trial_cv=0.02), folder / f"run{i}.json")
    slower = {("container", "cold_start"): 1.6, ("container", "cold_start_cpu"): 1.6}
    here = save_run(synthetic_run(50, trials=4, trial_cv=0.02, slower=slower), tmp_path / "here.json")
    elsewhere_machine = replace(MACHINE, kernel="6.0-test-newer", memory_total_bytes=MACHINE.memory_total_bytes + 4096)
    there = save_run(synthetic_run(50, trials=4, trial_cv=0.02, slower=slower, machine=elsewhere_machine),
                     tmp_path / "there.json")
    assert harness("compare", str(folder), str(here), "--metrics", "cold_start") == 1
    capsys.readouterr()
    assert harness("compare", str(folder), str(there), "--metrics", "cold_start") == 0
    captured = capsys.readouterr()
    assert "ADVICE ONLY" in captured.out and "REGRESSION" in captured.out
    assert "kernel: 6.0-test there, 6.0-test-newer here" in captured.err
    assert "memory" not in captured.err.split("kernel")[1]  # a few KiB of MemTotal is the same machine
    assert harness("compare", str(folder), str(there), "--metrics", "cold_start", "--gate-any-machine") == 1
    capsys.readouterr()
    # One baseline file is not a set: the run is compared as before, with a warning.
    assert harness("compare", str(folder / "run0.json"), str(there), "--metrics", "cold_start") == 1


@pytest.mark.parametrize("args,message", [
    (["--threshold", "ten"], "bad --threshold"),
    (["--metrics", ","], "--metrics is empty"),
])
def test_cli_bad_options_are_one_line(tmp_path, capsys, args, message):
    old = save_run(synthetic_run(1), tmp_path / "old.json")
    assert harness("compare", str(old), str(old), *args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("content,message", [
    ("{not json", "corrupt JSON"),
    ('{"benchmarks": []}', "not written by isobench"),
    ('{"benchmarks": [], "isobench": {"schema": "isobench/99"}}', "not supported"),
])
def test_cli_corrupt_files_are_one_line(tmp_path, capsys, content, message):
    good = save_run(synthetic_run(1), tmp_path / "good.json")
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert harness("compare", str(good), str(bad)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_each_regime_gates_its_own_pair_of_clocks():
    """The awake cold start's wall and CPU rows gate as the idle ones do, each at alpha/2."""
    from harness.results.model import FrozenMap

    def with_awake(run):
        return replace(run, backends=FrozenMap({n: replace(r, cold_start_awake=r.cold_start)
                                                for n, r in run.backends.items()}))

    comparison = compare(with_awake(synthetic_run(1, trials=5)), with_awake(synthetic_run(2, trials=5)), GATE)
    rows = rows_of(comparison)
    for metric in ("cold_start", "cold_start_cpu", "cold_start_awake", "cold_start_awake_cpu"):
        assert rows[("container", metric)].clock_choice == "both clocks gate, each at alpha/2"
    assert rows[("container", "cold_start_awake_cpu")].clock == "cpu"
