"""Pure bootstrap helpers for comparing medians across runs (numpy does the work).

Bootstrap medians are drawn with a seed derived from the samples themselves,
so the same samples always give the same replicates (and the same interval and
p-value), whichever comparison asks for them.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

RESAMPLES = 4000
SEED = 20261126
_BATCH_CELLS = 4_000_000  # resample this many values at a time (memory bound)


def _seed_for(data: np.ndarray, seed: int) -> int:
    digest = hashlib.sha256(np.ascontiguousarray(data, dtype=float).tobytes()).digest()
    return seed ^ int.from_bytes(digest[:8], "little")


def bootstrap_medians(samples: Sequence[float], resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Medians of `resamples` resamples (with replacement) of the samples."""
    data = np.asarray(samples, dtype=float)
    if data.size == 0:
        raise ValueError("no samples to resample")
    rng = np.random.default_rng(_seed_for(data, seed))
    out = np.empty(resamples)
    batch = max(1, _BATCH_CELLS // data.size)
    for start in range(0, resamples, batch):
        stop = min(resamples, start + batch)
        picks = rng.integers(0, data.size, size=(stop - start, data.size))
        out[start:stop] = np.median(data[picks], axis=1)
    return out


def percentile_interval(replicates: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return float(low), float(high)


def two_sided_p(replicates: np.ndarray, null: float = 1.0) -> float:
    """Percentile-bootstrap p-value for 'the statistic equals `null`': twice the
    smaller share of replicates on either side, (count + 1) / (B + 1)."""
    below = int(np.count_nonzero(replicates <= null))
    above = int(np.count_nonzero(replicates >= null))
    return min(1.0, 2 * (min(below, above) + 1) / (replicates.size + 1))


BLOCKS, MIN_BLOCK = 20, 10  # series of at least BLOCKS * MIN_BLOCK samples are blocked


def batch_medians(samples: Sequence[float]) -> list[float]:
    """The raw samples, or for a long series (thousands of back-to-back warm
    calls, correlated in time as load drifts) the medians of BLOCKS contiguous
    blocks, so that drift within a run is not mistaken for many independent samples."""
    if len(samples) < BLOCKS * MIN_BLOCK:
        return [float(v) for v in samples]
    return [float(np.median(block)) for block in np.array_split(np.asarray(samples, dtype=float), BLOCKS)]


def median_ratio_interval(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap interval of median(a) / median(b) (batch medians for long series)."""
    return percentile_interval(bootstrap_medians(batch_medians(a)) / bootstrap_medians(batch_medians(b)), confidence)
