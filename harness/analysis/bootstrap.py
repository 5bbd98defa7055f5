"""Intervals that include run-to-run spread: a hierarchical bootstrap over
trials (with fewer than 3 trials, then samples). Pure functions; numpy and scipy do the work.

A run is T trials (fresh worker processes); trial t holds n_t samples of a
figure. Variance comes at both levels, and the level between trials is the
one a single process cannot see: a process's layout, the machine's state
while it ran. Following Kalibera and Jones ("Rigorous Benchmarking in
Reasonable Time", ISMM 2013), each replicate

  1. draws T trials with replacement from the T trials,
  2. (with fewer than 3 trials) draws, within each drawn trial, its n_t
     samples with replacement,
  3. computes the statistic (a median or a percentile) of the pooled draw.

The spread of B replicates then holds the variation between trials as well as
within them. Figures from different runs are resampled independently.

Two figures measured in the same trials (a backend and the reference backend;
the two sides of an A/B pair) are compared *within each trial*: their ratio is
the geometric mean over the trials of each trial's own ratio (x_t / y_t), and
a replicate draws trials and averages their log ratios
(contrast_replicates). What a trial's figures share (the machine's speed
while it ran) then cancels in every trial. Drawing the same trials for both
and taking the ratio of the pooled statistics, as isobench did until December
2026, cancels it only in part: the pooled median of x and that of y fall in
different trials. On the 20 A/A runs of the coverage study that interval held
a rerun's cold-start ratio 91-92% of the time, against 83% for a calibrated
one; the trials' own ratios give 82-84% (docs/coverage-study.md).

Step 2 is taken only with fewer than TOP_ONLY_FROM (3) trials. A trial's
median already carries the spread of its samples, so drawing the samples
again counts that spread twice, and the interval is too wide. Measured on 20
committed runs of one commit (docs/coverage-study.md), the two-stage
interval of a cold-start ratio held another run's estimate 100% of the time
and the pooled median 100%, where a calibrated 95% interval would give 83% and
95%; resampling the trials alone gave 92% and 98% for ratios, and for
absolute cold starts 86-88% and 95%. This follows Davison and Hinkley
(Bootstrap Methods, 1997, section 3.8) and Ren et al. (2010, "Nonparametric
bootstrapping for hierarchical data"): with enough groups, resample the top
level only. With one or two trials there is nothing else to resample.

Few trials make the plain percentile interval too narrow: it treats the
trials' spread as known. The interval is the expanded percentile interval
(Hesterberg, "What Teachers Should Know About the Bootstrap", 2015): the
replicates' percentiles at alpha' with

    Phi^-1(1 - alpha'/2) = sqrt(T / (T - 1)) * t_{T-1}(1 - alpha/2),

which for T = 2 or 3 reaches the replicates' extremes and tends to the plain
percentile interval as T grows. Its p-value for "the ratio is 1" is the same
t statistic on the replicates' standard error (on the log scale).

Long series inside a trial (thousands of back-to-back warm calls, correlated
as the machine's load drifts) are first cut into BLOCKS contiguous blocks
whose medians stand for them (batch means), so drift within a trial is not
taken for many independent samples. That holds for the median only: a tail
quantile (p90, p99) is a property of the raw samples, and the medians of
blocks have none of the tail, so for a tail the raw samples are resampled
within each drawn trial (the trial level still carries the drift between
trials). Otherwise the interval of a p99 would be the p99 of block medians and
miss the p99 of the calls it is printed beside.

The variance components (between trials, within a trial) are the one-way
random-effects estimates on log values (method of moments), as a coefficient
of variation each; with them comes how many trials an interval of +-5% would
take at this machine's noise.

Replicates are seeded from the data, so the same samples give the same
interval whoever asks.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats as scipy_stats

RESAMPLES = 4000
TOP_ONLY_FROM = 3  # with this many trials or more, only trials are resampled (see the docstring)
TAIL_RESAMPLES = 1000  # raw samples are wide: fewer replicates for a tail quantile's interval
SEED = 20261129
BLOCKS, MIN_BLOCK = 20, 10  # series of at least BLOCKS * MIN_BLOCK samples in one trial are blocked
_BATCH_CELLS = 2_000_000  # values drawn at a time (memory bound)
CONFIDENCE = 0.95
TARGET = 0.05  # the +-5% the trials estimate is for


def is_tail(q: float | str) -> bool:
    """A quantile in a tail (p90, p99), whose units are raw samples, not block medians."""
    return not isinstance(q, str) and abs(q - 0.5) >= 0.25


def batch_medians(samples: Sequence[float]) -> np.ndarray:
    """The samples, or for a long series the medians of BLOCKS contiguous blocks."""
    data = np.asarray(samples, dtype=float)
    if data.size < BLOCKS * MIN_BLOCK:
        return data
    return np.array([np.median(block) for block in np.array_split(data, BLOCKS)])


def _seed(groups: Sequence[np.ndarray], salt: int) -> int:
    digest = hashlib.sha256()
    for group in groups:
        digest.update(np.ascontiguousarray(group, dtype=float).tobytes())
        digest.update(b"|")
    return SEED ^ salt ^ int.from_bytes(digest.digest()[:8], "little")


def _padded(groups: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.array([len(g) for g in groups])
    table = np.full((len(groups), int(sizes.max())), np.nan)
    for row, group in enumerate(groups):
        table[row, :len(group)] = group
    return table, sizes


TRIMMED = "trimmed"  # the statistic: the geometric mean of the middle 80% (10% cut from each tail)
TRIM = 0.10


def statistic_of(data: np.ndarray, q: float | str = 0.5) -> float:
    """The statistic of one set of samples: a quantile (q), or the trimmed geometric mean."""
    if q == TRIMMED:
        ordered = np.sort(np.log(data))
        cut = int(np.floor(TRIM * ordered.size))
        return float(np.exp(ordered[cut:ordered.size - cut].mean()))
    return float(np.quantile(data, q))


def replicates(figures: Sequence[Sequence[np.ndarray]], q: float | str = 0.5, resamples: int = RESAMPLES,
               paired: bool = True, salt: int = 0) -> np.ndarray:
    """Hierarchical bootstrap replicates of each figure's statistic: the
    q-quantile, or (q = TRIMMED) the trimmed geometric mean.

    figures[f][t] holds figure f's samples in trial t (already blocked).
    paired: every figure has the same trials, and each replicate draws the
    same trials for all of them. Returns an array (figures, resamples)."""
    if not figures or any(not groups for groups in figures):
        raise ValueError("no trials to resample")
    trials = len(figures[0])
    if paired and any(len(groups) != trials for groups in figures):
        raise ValueError("paired figures need the same trials")
    rng = np.random.default_rng(_seed([g for groups in figures for g in groups], salt))
    tables = [_padded(groups) for groups in figures]
    out = np.empty((len(figures), resamples))
    widest = max(len(groups) * table.shape[1] for groups, (table, _) in zip(figures, tables))
    batch = max(1, _BATCH_CELLS // max(1, widest))
    for start in range(0, resamples, batch):
        count = min(batch, resamples - start)
        shared = rng.integers(0, trials, size=(count, trials)) if paired else None
        for f, (groups, (table, sizes)) in enumerate(zip(figures, tables)):
            picks = shared if paired else rng.integers(0, len(groups), size=(count, len(groups)))
            chosen = sizes[picks]  # (count, T): samples in each drawn trial
            width = table.shape[1]
            if len(groups) < TOP_ONLY_FROM:
                within = (rng.random((count, picks.shape[1], width)) * chosen[..., None]).astype(int)
            else:
                within = np.broadcast_to(np.arange(width), (count, picks.shape[1], width))
            values = table[picks[..., None], within]
            values[np.arange(width)[None, None, :] >= chosen[..., None]] = np.nan
            rows, counts = values.reshape(count, -1), chosen.sum(axis=1)
            out[f, start:start + count] = row_trimmed(rows, counts) if q == TRIMMED else row_quantiles(rows, counts, q)
    return out


def contrast_replicates(point_logs: np.ndarray, figures: Sequence[Sequence[np.ndarray]], signs: Sequence[int],
                        q: float | str = 0.5, resamples: int = RESAMPLES, salt: int = 0) -> np.ndarray | None:
    """Replicates of a paired contrast of figures measured in the same T
    trials: exp(mean over trials of sum_f sign_f * log statistic_f(trial t)).
    A ratio x/y is signs (1, -1); an A/B change of a ratio (1, -1, -1, 1).

    point_logs[t] is the contrast in trial t (from its raw samples). From
    TOP_ONLY_FROM trials only the trials are resampled; with fewer, each
    trial's statistics are also drawn from its samples (figures[f][t], already
    blocked). None when a drawn statistic is not positive (no logarithm)."""
    trials = len(point_logs)
    rng = np.random.default_rng(_seed([g for groups in figures for g in groups], salt ^ 0x5A17))
    if trials >= TOP_ONLY_FROM:
        per_trial = np.broadcast_to(np.asarray(point_logs, dtype=float)[:, None], (trials, resamples))
    else:
        per_trial = np.zeros((trials, resamples))
        for f, (groups, sign) in enumerate(zip(figures, signs)):
            for t, group in enumerate(groups):
                drawn = replicates([[group]], q=q, resamples=resamples, salt=salt + 31 * f + t)[0]
                if not (drawn > 0).all():
                    return None
                per_trial[t] += sign * np.log(drawn)
    picks = rng.integers(0, trials, size=(resamples, trials))
    return np.exp(per_trial[picks, np.arange(resamples)[:, None]].mean(axis=1))


def row_trimmed(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The trimmed geometric mean of each row's first `counts` valid values (NaN pads the rest)."""
    ordered = np.sort(np.log(values), axis=1)
    cut = np.floor(TRIM * counts).astype(int)
    summed = np.concatenate([np.zeros((ordered.shape[0], 1)), np.cumsum(np.nan_to_num(ordered), axis=1)], axis=1)
    rows = np.arange(ordered.shape[0])
    total = summed[rows, counts - cut] - summed[rows, cut]
    return np.exp(total / (counts - 2 * cut))


def row_quantiles(values: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile of each row's first `counts` valid values (NaNs pad the
    rest), with numpy's default linear interpolation, without a per-row loop."""
    ordered = np.sort(values, axis=1)  # NaNs sort last
    position = q * (counts - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, counts - 1)
    below = np.take_along_axis(ordered, low[:, None], axis=1)[:, 0]
    above = np.take_along_axis(ordered, high[:, None], axis=1)[:, 0]
    return below + (above - below) * (position - low)


def expanded_alpha(trials: int, confidence: float = CONFIDENCE) -> float:
    """alpha' of the expanded percentile interval for this many trials."""
    alpha = 1 - confidence
    if trials < 2:
        return alpha
    z = math.sqrt(trials / (trials - 1)) * scipy_stats.t.ppf(1 - alpha / 2, trials - 1)
    return float(2 * scipy_stats.norm.sf(z))


def interval(reps: np.ndarray, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    tail = expanded_alpha(trials, confidence) / 2 * 100
    low, high = np.percentile(reps, [tail, 100 - tail])
    return float(low), float(high)


def log_se(reps: np.ndarray) -> float:
    """Standard error of the statistic on the log scale, from the replicates."""
    positive = reps[reps > 0]
    return float(np.std(np.log(positive), ddof=1)) if positive.size > 1 else float("nan")


def p_value_ratio(value: float, reps: np.ndarray, trials: int) -> float | None:
    """Two-sided p for 'the ratio is 1': log(ratio) over its bootstrap standard
    error, as a t statistic with T - 1 degrees of freedom (scaled as the interval is)."""
    se = log_se(reps)
    if trials < 2 or not math.isfinite(se) or value <= 0:
        return None
    if se == 0:
        return 0.0 if value != 1 else 1.0
    t = abs(math.log(value)) / se / math.sqrt(trials / (trials - 1))
    return float(2 * scipy_stats.t.sf(t, trials - 1))


# ---------------------------------------------------------------- variance components

@dataclass(frozen=True)
class Components:
    between_cv: float | None  # spread of the trials' level, as a coefficient of variation
    within_cv: float | None  # spread of samples inside a trial
    samples_per_trial: float


def components(groups: Sequence[np.ndarray]) -> Components:
    """One-way random-effects variance components of log values (method of moments)."""
    logs = [np.log(g[g > 0]) for g in groups]
    logs = [g for g in logs if g.size]
    sizes = np.array([g.size for g in logs], dtype=float)
    if not logs:
        return Components(None, None, 0.0)
    total = sizes.sum()
    within = None
    if (sizes > 1).any():
        within = float(sum(((g - g.mean()) ** 2).sum() for g in logs) / max(1.0, (sizes - 1).sum()))
    between = None
    if len(logs) > 1:
        grand = sum(g.sum() for g in logs) / total
        msb = sum(g.size * (g.mean() - grand) ** 2 for g in logs) / (len(logs) - 1)
        n0 = (total - (sizes ** 2).sum() / total) / (len(logs) - 1)
        between = max(0.0, (msb - (within or 0.0)) / n0) if n0 > 0 else None
    as_cv = lambda var: math.sqrt(math.expm1(var)) if var is not None else None  # noqa: E731
    return Components(as_cv(between), as_cv(within), float(sizes.mean()))


def trials_needed(se_log: float, target: float = TARGET, confidence: float = CONFIDENCE, trials: int = 1) -> int | None:
    """Trials (at today's samples per trial) for a +-target interval, from the
    standard error of `trials` trials: se scales as 1 / sqrt(trials)."""
    if not math.isfinite(se_log) or se_log <= 0:
        return None
    z = scipy_stats.norm.ppf(1 - (1 - confidence) / 2)
    return max(2, math.ceil(trials * (z * se_log / math.log1p(target)) ** 2))
