"""The study scripts' own arithmetic: the power study's relabeling of A/A
pairs, and the coverage study's calibrated rerun share."""

import sys

import pytest

from harness.paths import REPO_ROOT

from .synthetic import synthetic_run

sys.path.insert(0, str(REPO_ROOT / "scripts"))

import coverage_study  # noqa: E402
import power_study  # noqa: E402


def test_swapping_pairs_exchanges_exactly_those_trials():
    base, head = synthetic_run(1, trials=4), synthetic_run(2, trials=4)
    new_base, new_head = power_study.swap_pairs(base, head, {0, 2})
    for name in ("isolate", "container"):
        for key in ("cold_start", "cold_start_cpu"):
            b, h = base.backends[name].timing(key), head.backends[name].timing(key)
            nb, nh = new_base.backends[name].timing(key), new_head.backends[name].timing(key)
            same = lambda x, y, t: list(x.groups()[t]) == list(y.groups()[t])  # noqa: E731
            assert same(nb, h, 0) and same(nb, b, 1) and same(nh, b, 2) and same(nh, h, 3)
        sweeps = {s.trial: s for s in new_base.backends[name].memory.sweeps}
        assert sweeps[0] == {s.trial: s for s in head.backends[name].memory.sweeps}[0]
    back, _ = power_study.swap_pairs(new_base, new_head, {0, 2})
    again, original = back.backends["container"].cold_start.wall, base.backends["container"].cold_start.wall
    assert all(list(again.groups()[t]) == list(original.groups()[t]) for t in range(4))


def test_a_calibrated_interval_holds_a_rerun_less_often_than_its_coverage():
    assert coverage_study.rerun_share(0.95) == pytest.approx(0.834, abs=0.002)
    assert coverage_study.rerun_share(0.75) < 0.75


def test_the_coverage_study_finds_every_figure_kind_of_a_run():
    kinds = {kind for kind, _ in coverage_study.figures(synthetic_run(3, trials=4))}
    assert {"cold start, wall, idle", "cold start, CPU, idle", "warm call, idle", "memory PSS",
            "cold start, wall, idle, ratio", "memory PSS, ratio"} <= kinds
