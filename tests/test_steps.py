"""Step detection (asv's idea) on synthetic series."""

import numpy as np

from harness.analysis.steps import fit_segments, step_changes, weighted_median


def test_weighted_median():
    assert weighted_median(np.array([1.0, 2.0, 3.0]), np.ones(3)) == 2.0
    assert weighted_median(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 10.0])) == 3.0
    assert weighted_median(np.array([1.0, 2.0]), np.ones(2)) == 1.5


def test_a_step_is_found_where_it_is():
    rng = np.random.default_rng(0)
    series = np.r_[10 * rng.lognormal(0, 0.03, 15), 13 * rng.lognormal(0, 0.03, 10)]
    steps = step_changes(series)
    assert [s.index for s in steps] == [15]
    assert steps[0].direction == "up" and steps[0].confirmed
    assert abs(steps[0].change - 1.3) < 0.05


def test_two_steps_up_and_down():
    rng = np.random.default_rng(1)
    series = np.r_[10 * rng.lognormal(0, 0.02, 10), 15 * rng.lognormal(0, 0.02, 10), 10 * rng.lognormal(0, 0.02, 10)]
    steps = step_changes(series)
    assert [(s.index, s.direction) for s in steps] == [(10, "up"), (20, "down")]


def test_noise_alone_has_no_steps():
    found = 0
    for seed in range(50):
        series = 10 * np.random.default_rng(seed).lognormal(0, 0.1, 30)
        found += len(step_changes(series))
        found += len(step_changes(series, [(v * 0.9, v * 1.1) for v in series]))
    assert found == 0


def test_a_step_smaller_than_the_threshold_is_not_flagged():
    rng = np.random.default_rng(2)
    series = np.r_[10 * rng.lognormal(0, 0.005, 15), 10.3 * rng.lognormal(0, 0.005, 15)]
    assert len(fit_segments(series)) == 2  # it is a step...
    assert step_changes(series, threshold=0.05) == []  # ...but 3% is below the threshold
    assert len(step_changes(series, threshold=0.01)) == 1


def test_a_last_point_jump_is_unconfirmed():
    steps = step_changes([1.0, 1.0, 1.0, 1.0, 1.0, 2.0])
    assert len(steps) == 1 and steps[0].index == 5 and steps[0].confirmed is False


def test_short_and_flat_series():
    assert fit_segments([]) == []
    assert len(fit_segments([5.0])) == 1 and step_changes([5.0]) == []
    assert step_changes([3.0] * 8) == []
