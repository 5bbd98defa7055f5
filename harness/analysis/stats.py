"""Pure statistics on raw samples (numpy and scipy do the work).

- median CI: distribution-free, from order statistics (binomial), as asv and
  SeBS (after Le Boudec) do: scipy.stats.quantile_test(...).confidence_interval.
- outliers: modified Z-score on the median absolute deviation, |z| > 3.5
  (Iglewicz and Hoaglin; hyperfine does the same).
- drift between runs: the variance of several runs' log estimates beyond
  what their own intervals explain (a method-of-moments variance component).
- intervals that include run-to-run spread (trials, then samples) and ratios
  between backends are harness/analysis/bootstrap.py's and estimate.py's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy import stats as scipy_stats

CONFIDENCE = 0.95
OUTLIER_Z = 3.5


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    median: float
    stdev: float
    min: float
    max: float
    p90: float
    p99: float
    q1: float
    q3: float
    iqr: float
    cv: float  # stdev / mean
    ci95: tuple[float, float] | None  # for the median; None when n is too small
    outliers: int  # count flagged by MAD
    mad: float  # median absolute deviation (raw, unscaled)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["ci95"] = list(self.ci95) if self.ci95 else None
        return out

    def scaled(self, factor: float) -> "Summary":
        """The same summary in another unit (counts unchanged, cv unchanged)."""
        ci = (self.ci95[0] * factor, self.ci95[1] * factor) if self.ci95 else None
        return Summary(
            n=self.n, mean=self.mean * factor, median=self.median * factor,
            stdev=self.stdev * factor, min=self.min * factor, max=self.max * factor,
            p90=self.p90 * factor, p99=self.p99 * factor, q1=self.q1 * factor,
            q3=self.q3 * factor, iqr=self.iqr * factor, cv=self.cv, ci95=ci,
            outliers=self.outliers, mad=self.mad * factor,
        )


def median_ci(samples: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Distribution-free confidence interval for the median, or None if n is too small."""
    data = np.asarray(samples, dtype=float)
    if data.size == 0:
        return None
    result = scipy_stats.quantile_test(data, q=float(np.median(data)), p=0.5)
    interval = result.confidence_interval(confidence_level=confidence)
    low, high = float(interval.low), float(interval.high)
    if not (np.isfinite(low) and np.isfinite(high)):
        return None
    return (low, high)


def modified_z_scores(samples: Sequence[float]) -> np.ndarray:
    data = np.asarray(samples, dtype=float)
    mad = scipy_stats.median_abs_deviation(data, scale=1.0)
    if mad == 0:
        return np.zeros_like(data)
    return 0.6745 * (data - np.median(data)) / mad


def outlier_indices(samples: Sequence[float], threshold: float = OUTLIER_Z) -> list[int]:
    return [int(i) for i in np.flatnonzero(np.abs(modified_z_scores(samples)) > threshold)]


def summarize(samples: Sequence[float]) -> Summary:
    data = np.asarray(samples, dtype=float)
    if data.size == 0:
        raise ValueError("no samples to summarize")
    mean = float(np.mean(data))
    stdev = float(np.std(data, ddof=1)) if data.size > 1 else 0.0
    q1, median, q3, p90, p99 = (float(v) for v in np.percentile(data, [25, 50, 75, 90, 99]))
    return Summary(
        n=int(data.size), mean=mean, median=median, stdev=stdev,
        min=float(data.min()), max=float(data.max()), p90=p90, p99=p99,
        q1=q1, q3=q3, iqr=q3 - q1, cv=stdev / mean if mean else float("nan"),
        ci95=median_ci(data), outliers=len(outlier_indices(data)),
        mad=float(scipy_stats.median_abs_deviation(data, scale=1.0)),
    )


@dataclass(frozen=True)
class Slope:
    per_unit: float
    stderr: float
    intercept: float


def marginal_slope(counts: Sequence[float], totals: Sequence[float]) -> Slope | None:
    """Least-squares growth of a total per added unit (memory per instance)."""
    if len(counts) < 2 or len(set(counts)) < 2:
        return None
    fit = scipy_stats.linregress(np.asarray(counts, dtype=float), np.asarray(totals, dtype=float))
    return Slope(float(fit.slope), float(fit.stderr), float(fit.intercept))


def drift_between_runs(values: Sequence[float], ci95s: Sequence[tuple[float, float] | None]) -> float | None:
    """The spread between runs of one figure that no run's interval sees, as a
    coefficient of variation on the log scale.

    Each run i gives an estimate x_i with a 95% interval; its standard error
    on the log scale is s_i = (log hi_i - log lo_i) / (2 * 1.96). If runs
    differed only by their own sampling error, the variance of the log x_i
    would be about the mean of s_i^2. What is left over,

        drift^2 = max(0, var(log x_i) - mean(s_i^2)),

    is the between-run variance component (method of moments, as in a
    one-way random-effects model): the machine's drift from run to run,
    hours or days apart. Needs at least two runs, every one with an interval.
    """
    if len(values) < 2 or len(values) != len(ci95s) or any(v <= 0 for v in values):
        return None
    if any(ci is None or ci[0] <= 0 or ci[1] < ci[0] for ci in ci95s):
        return None
    logs = np.log(np.asarray(values, dtype=float))
    se = [(np.log(hi) - np.log(lo)) / (2 * 1.96) for lo, hi in ci95s]
    return float(np.sqrt(max(0.0, float(np.var(logs, ddof=1)) - float(np.mean(np.square(se))))))
