"""Steady-state classification of warm-call series (harness/analysis/steady_state.py):
synthetic series of known shape, and the over-trials verdict."""

import numpy as np

from harness.analysis.steady_state import classify, over_trials
from harness.results.vocabulary import FLAT, INCONSISTENT, NO_STEADY_STATE, SLOWDOWN, WARMUP


def noisy(levels, seed=1, cv=0.15):
    """Calls at each (count, median seconds) level in turn, lognormal noise around it."""
    rng = np.random.default_rng(seed)
    return np.concatenate([median * rng.lognormal(0, cv, count) for count, median in levels])


def test_a_flat_series_is_flat_and_steady_from_the_first_call():
    found = classify(noisy([(2000, 50e-6)]))
    assert found.classification == FLAT and found.calls_until_steady == 0
    assert abs(found.steady_median_s / 50e-6 - 1) < 0.03


def test_a_warm_up_is_found_where_it_ends():
    found = classify(noisy([(300, 200e-6), (1700, 50e-6)]))
    assert found.classification == WARMUP
    assert 280 <= found.calls_until_steady <= 320
    assert abs(found.steady_median_s / 50e-6 - 1) < 0.03


def test_a_slowdown_is_a_slowdown():
    found = classify(noisy([(1000, 50e-6), (1000, 100e-6)]))
    assert found.classification == SLOWDOWN and 980 <= found.calls_until_steady <= 1020


def test_a_change_at_the_very_end_is_no_steady_state():
    found = classify(noisy([(1900, 50e-6), (100, 150e-6)]))
    assert found.classification == NO_STEADY_STATE
    assert found.calls_until_steady is None and found.steady_median_s is None


def test_a_small_shift_is_not_a_change():
    found = classify(noisy([(1000, 50e-6), (1000, 51e-6)]))
    assert found.classification == FLAT


def test_too_short_a_series_is_not_classified():
    assert classify(noisy([(20, 50e-6)])) is None


def test_trials_that_disagree_are_inconsistent():
    states = [classify(noisy([(2000, 50e-6)], seed=s), trial=s) for s in (1, 2)]
    states.append(classify(noisy([(300, 200e-6), (1700, 50e-6)], seed=3), trial=3))
    verdict = over_trials(states, "idle")
    assert verdict.classification == INCONSISTENT
    assert verdict.per_trial == (FLAT, FLAT, WARMUP)
    assert over_trials(states[:2], "idle").classification == FLAT
    assert over_trials(states, "awake") is None
