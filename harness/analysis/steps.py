"""Step detection in a series of figures over commits (pure).

The idea is asv's (asv/step_detect.py, after Friedrich et al. 2008 and Yao
1988): model the series as piecewise constant plus noise, fit each segment by
its weighted median (L1, robust to outliers), and choose the number of
segments k by a Schwarz-like criterion

    beta * k + ln(floor + sum of w_i |y_i - level_i|),   beta = 4 ln(n) / n

Here the best fit for each k is found exactly by dynamic programming (series
are short), instead of asv's approximate solver. Weights are the inverse of
each point's relative CI width (a precise point counts more).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

MAX_SEGMENTS = 12


@dataclass(frozen=True)
class Segment:
    start: int  # index of the first point
    end: int  # index after the last point
    level: float  # weighted median of the points
    spread: float  # weighted mean absolute deviation from the level

    @property
    def size(self) -> int:
        return self.end - self.start


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cumulative = np.cumsum(w)
    half = cumulative[-1] / 2
    i = int(np.searchsorted(cumulative, half))
    if math.isclose(cumulative[i], half) and i + 1 < v.size:
        return float((v[i] + v[i + 1]) / 2)
    return float(v[i])


def _cost_table(y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = y.size
    cost = np.full((n + 1, n + 1), np.inf)
    level = np.zeros((n + 1, n + 1))
    for start in range(n):
        for end in range(start + 1, n + 1):
            m = weighted_median(y[start:end], w[start:end])
            level[start, end] = m
            cost[start, end] = float(np.sum(w[start:end] * np.abs(y[start:end] - m)))
    return cost, level


def _weights(values: np.ndarray, ci95: Sequence | None) -> np.ndarray:
    if ci95 is None:
        return np.ones(values.size)
    widths = np.array([(hi - lo) / abs(v) if ci and (hi := ci[1]) is not None and (lo := ci[0]) is not None and v
                       else np.nan for v, ci in zip(values, ci95)], dtype=float)
    weights = np.where(np.isfinite(widths) & (widths > 0), 1 / np.where(widths > 0, widths, 1), np.nan)
    fill = np.nanmedian(weights) if np.any(np.isfinite(weights)) else 1.0
    weights = np.where(np.isfinite(weights), weights, fill)
    return weights / np.median(weights)


def _measurement_floor(y: np.ndarray, w: np.ndarray, ci95: Sequence | None) -> float | None:
    """sum of w_i * (half CI width)_i, if every point has a CI."""
    if ci95 is None or any(not ci for ci in ci95):
        return None
    half = np.array([(ci[1] - ci[0]) / 2 for ci in ci95], dtype=float)
    return float(np.sum(w * half)) if np.all(np.isfinite(half)) else None


def fit_segments(values: Sequence[float], ci95: Sequence | None = None) -> list[Segment]:
    """The best piecewise-constant fit of the series (see module doc)."""
    y = np.asarray(values, dtype=float)
    n = y.size
    if n == 0:
        return []
    w = _weights(y, ci95)
    cost, level = _cost_table(y, w)
    k_max = min(n, MAX_SEGMENTS)
    # best[k][end]: least cost of y[:end] in k segments; cut[k][end]: where the last one starts
    best = np.full((k_max + 1, n + 1), np.inf)
    cut = np.zeros((k_max + 1, n + 1), dtype=int)
    best[0, 0] = 0.0
    for k in range(1, k_max + 1):
        for end in range(k, n + 1):
            candidates = best[k - 1, k - 1:end] + cost[k - 1:end, end]
            i = int(np.argmin(candidates))
            best[k, end], cut[k, end] = candidates[i], k - 1 + i
    beta = 4 * math.log(n) / n if n > 1 else 0.0

    def bounds_for(k: int) -> list[tuple[int, int]]:
        out, end = [], n
        for kk in range(k, 0, -1):
            start = int(cut[kk, end])
            out.append((start, end))
            end = start
        return out[::-1]

    measured = _measurement_floor(y, w, ci95)

    def score(k: int) -> float:
        # More segments always fit better; a noise floor stops that: the points'
        # own measurement error when every point has a CI, else asv's rule
        # (a tenth of the smallest step, or 0.1% of a single level).
        levels = [level[start, end] for start, end in bounds_for(k)]
        steps = [abs(b - a) for a, b in zip(levels, levels[1:])]
        if any(step == 0 for step in steps):
            return math.inf  # two neighbouring segments at one level: not a step
        floor = measured if measured is not None else (0.1 * min(steps) if steps else 1e-3 * abs(levels[0]))
        return beta * k + math.log(max(floor, 1e-300) + best[k, n])

    k = min(range(1, k_max + 1), key=score)
    segments = []
    for start, end in bounds_for(k):
        m = level[start, end]
        spread = float(np.sum(w[start:end] * np.abs(y[start:end] - m)) / np.sum(w[start:end]))
        segments.append(Segment(start, end, float(m), spread))
    return segments


@dataclass(frozen=True)
class StepChange:
    """A boundary between two fitted segments: where the new level starts, both levels, their ratio."""

    index: int  # the first point of the new segment
    before: float
    after: float
    change: float  # after / before
    direction: str  # "up" or "down"
    confirmed: bool  # the new level rests on two points or more
    segments: tuple[Segment, Segment]

    def to_json(self) -> dict:
        return {"index": self.index, "before": self.before, "after": self.after, "change": self.change,
                "direction": self.direction, "confirmed": self.confirmed,
                "segments": [asdict(segment) for segment in self.segments]}


def step_changes(values: Sequence[float], ci95: Sequence | None = None, threshold: float = 0.05) -> list[StepChange]:
    """Boundaries between fitted segments whose levels differ by more than the
    threshold (relative) and more than either segment's spread. A step whose
    new level rests on a single point is marked unconfirmed (asv, too, wants
    two points before it calls a regression)."""
    segments = fit_segments(values, ci95)
    out = []
    for before, after in zip(segments, segments[1:]):
        if before.level == 0:
            continue
        change = after.level / before.level
        if abs(change - 1) <= threshold or abs(after.level - before.level) <= max(before.spread, after.spread):
            continue
        out.append(StepChange(after.start, before.level, after.level, change, "up" if change > 1 else "down",
                              after.size >= 2, (before, after)))
    return out
