"""The summary's figures as typed records: a timing with its intervals, a
ratio, a difference, a memory figure. Each is made once from an Estimate (in
its display unit) and read by attribute; `to_json` gives the summary's JSON
(schema isobench-summary/2), key for key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from harness.analysis.estimate import Estimate

Interval = tuple[float, float]


def _pair(values) -> list[float] | None:
    return list(values) if values else None


def as_json(value: Any) -> Any:
    """A summary value as JSON: records by their `to_json`, mappings and sequences item by item."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, Mapping):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_json(item) for item in value]
    return value


@dataclass(frozen=True)
class Tail:
    """A percentile (p90, p99) with its interval."""

    value: float
    ci95: Interval | None


@dataclass(frozen=True)
class SampleSpread:
    """The samples' own spread: coefficient of variation (None for one sample), smallest, largest."""

    cv: float | None
    min: float
    max: float

    @staticmethod
    def of(samples: np.ndarray, scale: float) -> "SampleSpread":
        cv = float(np.std(samples, ddof=1) / np.mean(samples)) if samples.size > 1 else None
        return SampleSpread(cv, float(samples.min()) * scale, float(samples.max()) * scale)


@dataclass(frozen=True)
class TimingSummary:
    """A timing figure in its display unit: the median with its interval over
    trials, the variance between and within trials, and (where computed) its
    tails, the samples' spread and the HdrHistogram percentiles."""

    median: float
    ci95: Interval | None
    ci_coverage: float | None
    pi95: Interval | None  # where a rerun's estimate should fall
    n: int
    trials: int
    half_width: float | None
    between_trials_cv: float | None
    within_trial_cv: float | None
    trials_for_5pct: int | None
    tails: Mapping[str, Tail] | None = None  # "p90", "p99" (only for series of 20 samples or more)
    spread: SampleSpread | None = None
    hdr: Mapping[str, Any] | None = None  # harness/results/histogram.py `tail`

    @staticmethod
    def of(found: Estimate, scale: float, tails: Mapping[str, Estimate | None] | None = None,
           samples: np.ndarray | None = None, hdr: Mapping[str, Any] | None = None) -> "TimingSummary":
        scaled = found.scaled(scale)
        shown = {key: Tail(tail.value * scale, tuple(v * scale for v in tail.ci) if tail.ci else None)
                 for key, tail in (tails or {}).items() if tail is not None}
        return TimingSummary(
            median=scaled.value, ci95=scaled.ci, ci_coverage=found.coverage, pi95=scaled.prediction, n=found.n,
            trials=found.trials, half_width=found.half_width, between_trials_cv=found.between_cv,
            within_trial_cv=found.within_cv, trials_for_5pct=found.trials_for_target, tails=shown or None,
            spread=SampleSpread.of(samples, scale) if samples is not None and samples.size else None, hdr=hdr)

    def to_json(self) -> dict:
        out: dict = {"median": self.median, "ci95": _pair(self.ci95), "ci_coverage": self.ci_coverage,
                     "pi95": _pair(self.pi95), "n": self.n, "trials": self.trials, "half_width": self.half_width,
                     "between_trials_cv": self.between_trials_cv, "within_trial_cv": self.within_trial_cv,
                     "trials_for_5pct": self.trials_for_5pct}
        for key, tail in (self.tails or {}).items():
            out[key], out[f"{key}_ci95"] = tail.value, _pair(tail.ci95)
        if self.spread:
            out["cv"], out["min"], out["max"] = self.spread.cv, self.spread.min, self.spread.max
        if self.hdr is not None:
            out["hdr"] = dict(self.hdr)
        return out


@dataclass(frozen=True)
class RatioSummary:
    """One backend's figure over the reference's, paired by trial."""

    value: float
    ci95: Interval | None
    ci_coverage: float | None
    pi95: Interval | None
    p_value: float | None
    trials: int
    n: int

    @staticmethod
    def of(found: Estimate) -> "RatioSummary":
        return RatioSummary(found.value, found.ci, found.coverage, found.prediction, found.p_value, found.trials,
                            found.n)

    def to_json(self) -> dict:
        return {"value": self.value, "ci95": _pair(self.ci95), "ci_coverage": self.ci_coverage,
                "pi95": _pair(self.pi95), "p_value": self.p_value, "trials": self.trials, "n": self.n}


@dataclass(frozen=True)
class Difference:
    """A paired difference in its display unit (for example what waking an idle CPU adds to a call)."""

    median: float
    ci95: Interval | None
    trials: int

    @staticmethod
    def of(found: Estimate, scale: float) -> "Difference":
        scaled = found.scaled(scale)
        return Difference(scaled.value, scaled.ci, found.trials)

    @property
    def ci_coverage(self) -> None:
        """Not recorded for this figure: its interval is marked with no coverage."""
        return None

    def to_json(self) -> dict:
        return {"median": self.median, "ci95": _pair(self.ci95), "trials": self.trials}


@dataclass(frozen=True)
class MemoryFigure:
    """Per-instance memory of one kind, MiB, with its interval over trials."""

    median: float
    ci95: Interval | None
    ci_coverage: float | None
    trials: int

    @staticmethod
    def of(found: Estimate, scale: float) -> "MemoryFigure":
        scaled = found.scaled(scale)
        return MemoryFigure(scaled.value, scaled.ci, found.coverage, found.trials)

    def to_json(self) -> dict:
        return {"median": self.median, "ci95": _pair(self.ci95), "ci_coverage": self.ci_coverage,
                "trials": self.trials}


@dataclass(frozen=True)
class CountedValue:
    """A median with its interval over n samples in trials (the handler's own time in the engine)."""

    median: float
    ci95: Interval | None
    n: int
    trials: int

    @property
    def ci_coverage(self) -> None:
        """Not recorded for this figure: its interval is marked with no coverage."""
        return None

    def to_json(self) -> dict:
        return {"median": self.median, "ci95": _pair(self.ci95), "n": self.n, "trials": self.trials}
