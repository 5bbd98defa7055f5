"""The hierarchical bootstrap: intervals that include the spread between
trials, paired ratios, the expanded percentile interval for few trials, the
p-value, the variance components and the trials a +-5% interval would take."""

import numpy as np
import pytest

from harness.analysis import bootstrap
from harness.analysis.estimate import estimate, paired_ratio, run_ratio
from harness.results.model import Series


def trials_of(rng, medians, n, cv=0.05):
    values, ids = [], []
    for t, median in enumerate(medians):
        values += list(median * rng.lognormal(0, cv, n))
        ids += [t] * n
    return Series(tuple(values), tuple(ids))


def test_same_samples_give_the_same_interval():
    series = trials_of(np.random.default_rng(1), [1.0, 1.1, 0.95], 20)
    assert estimate(series).ci == estimate(series).ci


def test_the_interval_grows_with_the_spread_between_trials():
    rng = np.random.default_rng(2)
    steady = trials_of(rng, [1.0, 1.0, 1.0, 1.0], 30)
    drifting = trials_of(rng, [0.8, 1.0, 1.25, 1.1], 30)
    assert estimate(drifting).half_width > 3 * estimate(steady).half_width


def test_interval_covers_the_trial_medians_with_three_trials():
    """With three trials, a rerun's median can land anywhere among them: the
    expanded interval reaches the bootstrap's extremes and covers them all."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        series = trials_of(rng, list(rng.lognormal(0, 0.2, 3)), 12, cv=0.1)
        low, high = estimate(series).ci
        medians = [float(np.median(g)) for g in series.groups().values()]
        assert low <= min(medians) and high >= max(medians)


def test_paired_ratio_cancels_what_a_trial_shares():
    """Two backends measured in the same trials share each trial's shift; the
    paired ratio's interval is much narrower than either figure's own."""
    rng = np.random.default_rng(4)
    shifts = list(rng.lognormal(0, 0.3, 5))
    x = trials_of(rng, [10 * s for s in shifts], 30, cv=0.03)
    y = trials_of(rng, [1 * s for s in shifts], 30, cv=0.03)
    ratio = paired_ratio(x, y)
    assert ratio.value == pytest.approx(10, rel=0.05)
    assert ratio.half_width < estimate(x).half_width / 3


@pytest.mark.parametrize("trials,floor", [(3, 0.75), (6, 0.92)])
def test_coverage_of_the_true_median_over_many_reruns(trials, floor):
    """With between-trial spread, the interval of a run covers the true median
    at least as often as its label says (Estimate.coverage: 75% for 3 trials,
    95% from 6), where a within-run interval would not."""
    from harness.analysis.estimate import Estimate

    rng = np.random.default_rng(5)
    covered = within_covered = 0
    runs = 150
    for _ in range(runs):
        series = trials_of(rng, list(rng.lognormal(0, 0.1, trials)), 15, cv=0.05)
        groups = [bootstrap.batch_medians(g) for g in series.groups().values()]
        reps = bootstrap.replicates([groups], resamples=800)[0]
        low, high = bootstrap.interval(reps, trials)
        covered += low <= 1.0 <= high
        pooled = series.array()
        flat = np.median(rng.choice(pooled, (800, pooled.size)), axis=1)
        within_covered += np.percentile(flat, 2.5) <= 1.0 <= np.percentile(flat, 97.5)
    assert covered / runs >= floor
    assert Estimate(1.0, (0.9, 1.1), 15 * trials, trials).coverage <= max(floor, 0.95)
    assert within_covered / runs < 0.75  # why trials matter


def test_expanded_interval_tends_to_the_plain_one():
    assert bootstrap.expanded_alpha(3) < 1e-4
    assert bootstrap.expanded_alpha(10) < 0.05 < bootstrap.expanded_alpha(200) + 0.01
    assert bootstrap.expanded_alpha(1) == pytest.approx(0.05)


def test_p_value_tells_a_change_from_noise():
    rng = np.random.default_rng(6)
    old = trials_of(rng, [1.0, 1.02, 0.99, 1.01, 1.0, 0.98], 20, cv=0.05)
    same = trials_of(rng, [1.0, 0.99, 1.01, 1.0, 1.02, 0.99], 20, cv=0.05)
    slower = trials_of(rng, [1.3, 1.31, 1.28, 1.3, 1.32, 1.29], 20, cv=0.05)
    assert run_ratio(same, old)[0].p_value > 0.05
    assert run_ratio(slower, old)[0].p_value < 0.001


def test_components_recover_between_and_within_spread():
    rng = np.random.default_rng(7)
    series = trials_of(rng, list(rng.lognormal(0, 0.2, 40)), 50, cv=0.05)
    parts = bootstrap.components(list(series.groups().values()))
    assert parts.within_cv == pytest.approx(0.05, rel=0.15)
    assert parts.between_cv == pytest.approx(0.2, rel=0.35)


def test_trials_for_five_percent_follow_the_standard_error():
    assert bootstrap.trials_needed(0.05, trials=4) > bootstrap.trials_needed(0.02, trials=4)
    # se 2% with 4 trials: (1.96 * 0.02 / ln 1.05)^2 * 4 = about 2.5, so 3 trials
    assert bootstrap.trials_needed(0.02, trials=4) == 3


def test_long_series_are_blocked_within_each_trial():
    assert bootstrap.batch_medians(np.arange(1000.0)).size == bootstrap.BLOCKS
    assert bootstrap.batch_medians(np.arange(50.0)).size == 50


def test_a_ratio_interval_covers_the_trial_ratios_with_three_trials():
    """Issue 10's check: a quick run's cold-start ratio interval is at least as
    wide as the spread of that ratio between the trials' medians."""
    rng = np.random.default_rng(8)
    for _ in range(20):
        shifts = list(rng.lognormal(0, 0.15, 3))
        x = trials_of(rng, [10 * s * float(rng.lognormal(0, 0.1)) for s in shifts], 12, cv=0.1)
        y = trials_of(rng, [1 * s for s in shifts], 12, cv=0.15)
        low, high = paired_ratio(x, y).ci
        per_trial = [float(np.median(x.groups()[t]) / np.median(y.groups()[t])) for t in (0, 1, 2)]
        # the interval reaches the extreme trial ratios exactly (every draw the same trial): to rounding
        assert low <= min(per_trial) * (1 + 1e-12) and high >= max(per_trial) * (1 - 1e-12)


def test_a_ratio_cancels_a_slow_trial_that_a_pooled_ratio_does_not():
    """One trial of six runs 1.5x slower on both backends (the machine, not the
    backend): the trials' own ratios do not see it, so the paired interval stays
    as narrow as that of six steady trials."""
    rng = np.random.default_rng(9)
    shifts = [1.0, 1.05, 0.95, 1.0, 1.02, 1.5]
    x = trials_of(rng, [60 * s for s in shifts], 8, cv=0.1)
    y = trials_of(rng, [1 * s for s in shifts], 8, cv=0.1)
    steady_x = trials_of(rng, [60 * s for s in shifts[:5] + [1.0]], 8, cv=0.1)
    steady_y = trials_of(rng, [1 * s for s in shifts[:5] + [1.0]], 8, cv=0.1)
    slow, steady = paired_ratio(x, y), paired_ratio(steady_x, steady_y)
    assert slow.value == pytest.approx(60, rel=0.1)
    assert slow.half_width < 1.5 * steady.half_width


def test_every_tail_interval_of_the_reference_contains_its_own_percentile():
    """Real data: in the committed reference, each p90/p99 interval of the
    summary contains the p90/p99 printed beside it (the intervals resample the
    raw calls within resampled trials, not block medians)."""
    from harness.findings.summary import TAILED, backend_summary
    from harness.paths import REPO_ROOT
    from harness.results.store import load

    [path] = sorted((REPO_ROOT / "results" / "reference").glob("*-full.json.gz"))
    run = load(path)
    checked = 0
    for result in run.backends.values():
        if not result.measured:
            continue
        entry = backend_summary(result).to_json()
        for key in TAILED:
            figure = entry.get({"cold_start": "cold_start_ms", "warm_call": "warm_call_us",
                                "transport": "transport_us"}.get(key, ""))
            if not figure:
                continue
            for tail in ("p90", "p99"):
                low, high = figure[f"{tail}_ci95"]
                assert low <= figure[tail] <= high, (result.name, key, tail, figure[tail], low, high)
                checked += 1
    assert checked >= 13 * 3 * 2
