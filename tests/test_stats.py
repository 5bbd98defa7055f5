import math

import numpy as np
import pytest

from harness.analysis import stats


def reference_median_ci(sorted_values, confidence=0.95):
    """Independent exact computation: the narrowest symmetric pair of order
    statistics (j, n-j+1) with P(X_(j) <= median <= X_(n-j+1)) >= confidence."""
    n = len(sorted_values)

    def coverage(j):  # P(j <= B <= n - j), B ~ Binomial(n, 1/2)
        return sum(math.comb(n, k) for k in range(j, n - j + 1)) / 2**n

    best = None
    for j in range(1, n // 2 + 1):
        if coverage(j) >= confidence:
            best = j
    if best is None:
        return None
    return sorted_values[best - 1], sorted_values[n - best]


@pytest.mark.parametrize("n", [6, 7, 10, 11, 20, 30, 31, 50, 100])
def test_median_ci_matches_exact_order_statistics(n):
    values = list(np.arange(1.0, n + 1.0))
    assert stats.median_ci(values) == reference_median_ci(values)


def test_median_ci_matches_le_boudec_for_large_n():
    n = 100
    values = np.arange(1.0, n + 1.0)
    low_rank = math.floor(0.5 * n - 0.98 * math.sqrt(n))
    high_rank = math.ceil(1 + 0.5 * n + 0.98 * math.sqrt(n))
    assert stats.median_ci(values) == (values[low_rank - 1], values[high_rank - 1])


def test_median_ci_needs_enough_samples():
    assert stats.median_ci([1.0, 2.0, 3.0, 4.0, 5.0]) is None
    assert stats.median_ci([]) is None


def test_summarize_known_values():
    summary = stats.summarize([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert summary.n == 10
    assert summary.median == 5.5
    assert summary.mean == 5.5
    assert summary.q1 == pytest.approx(3.25)
    assert summary.q3 == pytest.approx(7.75)
    assert summary.iqr == pytest.approx(4.5)
    assert summary.p90 == pytest.approx(9.1)
    assert summary.stdev == pytest.approx(np.std(np.arange(1, 11), ddof=1))
    assert summary.cv == pytest.approx(summary.stdev / 5.5)
    assert summary.ci95 == (2.0, 9.0)
    assert summary.outliers == 0


def test_summarize_scaled_keeps_shape():
    summary = stats.summarize([0.001, 0.002, 0.003, 0.004, 0.005, 0.006]).scaled(1000)
    assert summary.median == pytest.approx(3.5)
    assert summary.ci95 == pytest.approx((1.0, 6.0))
    assert summary.cv == pytest.approx(stats.summarize([1, 2, 3, 4, 5, 6]).cv)


def test_summarize_rejects_empty():
    with pytest.raises(ValueError):
        stats.summarize([])


def test_mad_flags_the_obvious_outlier_only():
    samples = [10.0, 10.2, 9.9, 10.1, 10.0, 9.8, 10.3, 50.0]
    assert stats.outlier_indices(samples) == [7]


def test_mad_of_constant_samples_flags_nothing():
    assert stats.outlier_indices([3.0] * 20) == []


def test_modified_z_score_formula():
    samples = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    mad = np.median(np.abs(samples - 3.0))  # = 1
    expected = 0.6745 * (samples - 3.0) / mad
    assert np.allclose(stats.modified_z_scores(samples), expected)


def test_marginal_slope_recovers_linear_growth():
    fit = stats.marginal_slope([1, 10, 50, 200], [42e6 + 0.7e6 * n for n in (1, 10, 50, 200)])
    assert fit.per_unit == pytest.approx(0.7e6)
    assert fit.intercept == pytest.approx(42e6)
    assert stats.marginal_slope([5], [1.0]) is None


def test_drift_is_the_spread_beyond_the_runs_own_errors():
    from harness.analysis.stats import drift_between_runs

    # Two runs e^0.2 apart with (almost) no error of their own: var(log) = 0.02.
    tight = [(0.999999, 1.000001), (math.exp(0.2) * 0.999999, math.exp(0.2) * 1.000001)]
    assert drift_between_runs([1.0, math.exp(0.2)], tight) == pytest.approx(math.sqrt(0.02), rel=1e-3)
    # The same two values, each with a standard error of 0.1 on the log scale: 0.02 - 0.01 is left.
    wide = [(math.exp(-0.196), math.exp(0.196)), (math.exp(0.2 - 0.196), math.exp(0.2 + 0.196))]
    assert drift_between_runs([1.0, math.exp(0.2)], wide) == pytest.approx(0.1, rel=1e-3)
    # Runs that differ by less than their errors explain: no drift.
    assert drift_between_runs([1.0, 1.01], [(0.8, 1.25), (0.8, 1.26)]) == 0.0
    # One run, or a run without an interval, says nothing.
    assert drift_between_runs([1.0], [(0.9, 1.1)]) is None
    assert drift_between_runs([1.0, 1.1], [(0.9, 1.1), None]) is None
