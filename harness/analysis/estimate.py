"""Figures with their intervals, from trial-tagged series: a median or a
percentile of one figure, a ratio of two figures measured in the same trials
(paired: the geometric mean of the trials' own ratios), and a ratio between
two runs (independent). Every interval is the
hierarchical bootstrap of harness/analysis/bootstrap.py."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.analysis import bootstrap
from harness.results.model import Series


@dataclass(frozen=True)
class Estimate:
    value: float  # the statistic of all samples (or the ratio of two)
    ci: tuple[float, float] | None  # hierarchical, expanded percentile; None with too little data
    n: int  # samples (for a ratio: the smaller side)
    trials: int  # trials the interval resamples
    se_log: float | None = None  # bootstrap standard error on the log scale
    between_cv: float | None = None  # spread between trials (one figure only)
    within_cv: float | None = None  # spread within a trial (one figure only)
    p_value: float | None = None  # ratios: two-sided, for "the ratio is 1"

    @property
    def half_width(self) -> float | None:
        """Half the interval's width, as a share of the value."""
        if not self.ci or not self.value:
            return None
        return (self.ci[1] - self.ci[0]) / 2 / abs(self.value)

    @property
    def trials_for_target(self) -> int | None:
        """Trials a +-5% interval would take here, at today's samples per trial."""
        if self.se_log is None:
            return None
        return bootstrap.trials_needed(self.se_log, trials=self.trials)

    @property
    def coverage(self) -> float | None:
        """The confidence the interval can claim for the true median here and
        now: the nominal 95%, capped by what T trials can give. No
        distribution-free interval from T independent trial values covers the
        median more often than their range does, 1 - 2^(1-T): 75% for 3
        trials, 87.5% for 4, 96.9% for 6 (docs/coverage-study.md checks it)."""
        if not self.ci or self.trials < 2:
            return None
        return min(bootstrap.CONFIDENCE, 1 - 2.0 ** (1 - self.trials))

    @property
    def prediction(self) -> tuple[float, float] | None:
        """Where a rerun's estimate should fall (95%), the same design on the same
        machine soon after: the interval widened by sqrt(2) on the log scale, since
        the rerun's estimate has an error of its own. Drift between runs hours or
        days apart is not in it (docs/coverage-study.md measures it)."""
        if not self.ci or self.value <= 0 or self.ci[0] <= 0:
            return None
        half = (math.log(self.ci[1]) - math.log(self.ci[0])) / 2
        centre = math.log(self.value)
        return math.exp(centre - math.sqrt(2) * half), math.exp(centre + math.sqrt(2) * half)

    def scaled(self, factor: float) -> "Estimate":
        ci = (self.ci[0] * factor, self.ci[1] * factor) if self.ci else None
        return Estimate(self.value * factor, ci, self.n, self.trials, self.se_log, self.between_cv, self.within_cv,
                        self.p_value)

    def to_json(self) -> dict:
        return {"value": self.value, "ci95": list(self.ci) if self.ci else None, "n": self.n, "trials": self.trials,
                "half_width": self.half_width, "between_trials_cv": self.between_cv,
                "within_trial_cv": self.within_cv, "trials_for_5pct": self.trials_for_target,
                "p_value": self.p_value}


def _groups(series: Series, trials: list[int] | None = None, q: float | str = 0.5) -> list[np.ndarray]:
    """Each trial's resampling units: block medians for the median (drift
    within a trial is not taken for independent samples), but the raw samples
    for a tail quantile: a p99 of block medians is not a p99 of the calls, and
    its interval could not contain the p99 printed beside it."""
    by_trial = series.groups()
    keys = trials if trials is not None else list(by_trial)
    if bootstrap.is_tail(q):
        return [np.asarray(by_trial[t], dtype=float) for t in keys]
    return [bootstrap.batch_medians(by_trial[t]) for t in keys]


def _statistic(series: Series, q: float | str, trials: list[int] | None = None) -> float:
    data = series.only(trials).array() if trials is not None else series.array()
    return bootstrap.statistic_of(data, q)


def estimate(series: Series, q: float | str = 0.5) -> Estimate | None:
    """The q-quantile (the median by default) with its hierarchical interval."""
    if not series:
        return None
    groups = _groups(series, q=q)
    value = _statistic(series, q)
    parts = bootstrap.components(_groups(series) if bootstrap.is_tail(q) else groups)
    if len(series) < 2:
        return Estimate(value, None, len(series), len(groups), between_cv=parts.between_cv,
                        within_cv=parts.within_cv)
    reps = bootstrap.replicates([groups], q=q, resamples=bootstrap.TAIL_RESAMPLES if bootstrap.is_tail(q)
                                else bootstrap.RESAMPLES)[0]
    return Estimate(value, bootstrap.interval(reps, len(groups)), len(series), len(groups), bootstrap.log_se(reps),
                    parts.between_cv, parts.within_cv)


def common_trials(*series: Series) -> list[int]:
    shared = set(series[0].trial_ids)
    for other in series[1:]:
        shared &= set(other.trial_ids)
    return sorted(shared)


def _paired(x: Series, y: Series, q: float | str):
    """Two figures measured in the same trials: their shared trials, each one's
    statistic over them, the smaller sample count, and their paired replicates
    (None with fewer than two samples); None when they share no trial."""
    trials = common_trials(x, y) if x and y else []
    if not trials:
        return None
    n = min(len(x.only(trials)), len(y.only(trials)))
    reps = bootstrap.replicates([_groups(x, trials), _groups(y, trials)], q=q, paired=True) if n >= 2 else None
    return trials, _statistic(x, q, trials), _statistic(y, q, trials), n, reps


def _contrast(parts: list[tuple[Series, int]], trials: list[int], q: float | str, salt: int = 0,
              replicated: bool = True):
    """A paired contrast of figures measured in the same trials (see
    bootstrap.contrast_replicates): its value, the geometric mean over the
    trials of each trial's contrast, and its replicates (None with fewer than
    two samples, or when not `replicated`). None when a trial's statistic is
    not positive."""
    groups = [series.groups() for series, _ in parts]
    stats = np.array([[bootstrap.statistic_of(by_trial[t], q) for t in trials] for by_trial in groups])
    if not (stats > 0).all():
        return None
    logs = sum(sign * np.log(row) for (_, sign), row in zip(parts, stats))
    value = float(np.exp(np.mean(logs)))
    if not replicated or min(len(series.only(trials)) for series, _ in parts) < 2:
        return value, None
    reps = bootstrap.contrast_replicates(logs, [_groups(series, trials, q) for series, _ in parts],
                                         [sign for _, sign in parts], q=q, salt=salt)
    return (value, reps) if reps is not None else None


def _pooled_contrast(parts: list[tuple[Series, int]], trials: list[int], q: float | str, salt: int = 0,
                     replicated: bool = True):
    """The same contrast of the parts' pooled statistics, resampled paired:
    for figures a trial's statistic of which can be zero or negative (memory)."""
    value = float(np.prod([_statistic(series, q, trials) ** sign for series, sign in parts]))
    if not replicated or min(len(series.only(trials)) for series, _ in parts) < 2:
        return value, None
    reps = bootstrap.replicates([_groups(series, trials, q) for series, _ in parts], q=q, paired=True, salt=salt)
    return value, np.prod([row ** sign for row, (_, sign) in zip(reps, parts)], axis=0)


def _paired_contrast(parts: list[tuple[Series, int]], trials: list[int], q: float | str, salt: int = 0,
                     replicated: bool = True):
    """Figures measured in the same trials, contrasted within each trial, so
    that what a trial shares cancels; pooled when a trial's statistic is not positive."""
    return (_contrast(parts, trials, q, salt, replicated)
            or _pooled_contrast(parts, trials, q, salt, replicated))


def _within_run_ratio(x: Series, y: Series, trials: list[int], q: float | str, salt: int = 0):
    """x over y measured in the same trials: value and replicates."""
    return _paired_contrast([(x, 1), (y, -1)], trials, q, salt)


def trial_ratio(x: Series, y: Series, q: float | str = 0.5) -> float | None:
    """The value paired_ratio gives, without its interval (nothing resampled)."""
    trials = common_trials(x, y) if x and y else []
    if not trials:
        return None
    return _paired_contrast([(x, 1), (y, -1)], trials, q, replicated=False)[0]


def paired_ratio(x: Series, y: Series, q: float | str = 0.5) -> Estimate | None:
    """q-quantile of x over that of y, both measured in the same trials: the
    geometric mean of the trials' own ratios, resampled over the trials."""
    trials = common_trials(x, y) if x and y else []
    if not trials:
        return None
    n = min(len(x.only(trials)), len(y.only(trials)))
    value, ratio = _within_run_ratio(x, y, trials, q)
    if ratio is None:
        return Estimate(value, None, n, len(trials))
    return Estimate(value, bootstrap.interval(ratio, len(trials)), n, len(trials), bootstrap.log_se(ratio),
                    p_value=bootstrap.p_value_ratio(value, ratio, len(trials)))


def paired_difference(x: Series, y: Series, q: float | str = 0.5) -> Estimate | None:
    """q-quantile of x minus that of y, both measured in the same trials
    (one backend in two CPU regimes): resampled paired, over their common trials."""
    found = _paired(x, y, q)
    if found is None:
        return None
    trials, mine, theirs, n, reps = found
    if reps is None:
        return Estimate(mine - theirs, None, n, len(trials))
    return Estimate(mine - theirs, bootstrap.interval(reps[0] - reps[1], len(trials)), n, len(trials))


def run_ratio(new: Series, old: Series, q: float | str = 0.5, salt: int = 0) -> tuple[Estimate, np.ndarray] | None:
    """new over old from two runs (independent trials), and its replicates."""
    if not new or not old:
        return None
    value = _statistic(new, q) / _statistic(old, q)
    reps_new = bootstrap.replicates([_groups(new)], q=q, salt=salt)[0]
    reps_old = bootstrap.replicates([_groups(old)], q=q, salt=salt + 1)[0]
    return _from_independent(value, reps_new / reps_old, new, old), reps_new / reps_old


def _from_independent(value: float, ratio: np.ndarray, new: Series, old: Series) -> Estimate:
    trials = min(len(new.trial_ids), len(old.trial_ids))
    return Estimate(value, bootstrap.interval(ratio, trials), min(len(new), len(old)), trials,
                    bootstrap.log_se(ratio), p_value=bootstrap.p_value_ratio(value, ratio, trials))


def ratio_change(new: tuple[Series, Series], old: tuple[Series, Series], q: float | str = 0.5) -> tuple[Estimate, np.ndarray] | None:
    """(x/ref in the new run) over (x/ref in the old run): each ratio paired
    within its run (the trials' own ratios), the two runs independent."""
    (new_x, new_ref), (old_x, old_ref) = new, old
    new_trials, old_trials = common_trials(new_x, new_ref), common_trials(old_x, old_ref)
    if not new_trials or not old_trials:
        return None
    new_value, reps_new = _within_run_ratio(new_x, new_ref, new_trials, q)
    old_value, reps_old = _within_run_ratio(old_x, old_ref, old_trials, q, salt=1)
    value = new_value / old_value
    trials = min(len(new_trials), len(old_trials))
    n = min(len(new_x), len(old_x))
    if reps_new is None or reps_old is None:
        return Estimate(value, None, n, trials), np.array([value])
    change = reps_new / reps_old
    estimate_ = Estimate(value, bootstrap.interval(change, trials), n, trials,
                         bootstrap.log_se(change), p_value=bootstrap.p_value_ratio(value, change, trials))
    return estimate_, change


def paired_ratio_change(new: tuple[Series, Series], old: tuple[Series, Series],
                        q: float | str = 0.5) -> tuple[Estimate, np.ndarray] | None:
    """(x/ref on one side) over (x/ref on the other), all four measured in the
    same trials (A/B pairs): the geometric mean of each trial's change of the
    ratio, resampled over the trials."""
    trials = common_trials(*new, *old)
    if not trials:
        return None
    (new_x, new_ref), (old_x, old_ref) = new, old
    value, change = _paired_contrast([(new_x, 1), (new_ref, -1), (old_x, -1), (old_ref, 1)], trials, q)
    n = min(len(new_x), len(old_x))
    if change is None:
        return Estimate(value, None, n, len(trials)), np.array([value])
    estimate_ = Estimate(value, bootstrap.interval(change, len(trials)), n, len(trials),
                         bootstrap.log_se(change), p_value=bootstrap.p_value_ratio(value, change, len(trials)))
    return estimate_, change


def is_finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
