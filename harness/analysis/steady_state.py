"""Does a warm-call series reach a steady state, and after how many calls?

Following Barrett et al., "Virtual Machine Warmup Blows Hot and Cold"
(OOPSLA 2017), each series (one backend, one trial, one CPU regime, the calls
in the order they were made, from the first call after the cold start) is cut
into segments by changepoint detection, and classified by its segments.

1. **Denoise.** A call's time is heavy-tailed, so the series is first reduced
   to the medians of consecutive chunks of CHUNK calls, on the log scale:
   x_1 .. x_m. The changepoints are those of the chunk medians, times CHUNK.
2. **Standardise.** sigma is estimated robustly from first differences,
   sigma = 1.4826 * MAD(diff(x)) / sqrt(2), which a shift in level hardly
   moves; the series is divided by it, so the penalty below is in units of
   the noise.
3. **Changepoints.** PELT (Killick et al. 2012, `ruptures.Pelt`) with the
   least-squares cost finds the segmentation minimising
       sum over segments of sum (x_i - mean_segment)^2  +  beta * (segments - 1)
   with beta = PENALTY * log(m): Barrett et al.'s 15 log n, a penalty that
   takes a large, lasting change to pay for a new segment, so noise does not.
   Segments shorter than MIN_SEGMENT chunks are not allowed.
4. **Equivalence.** Adjacent segments whose medians (of the raw calls) differ
   by less than EQUIVALENT (5%) are merged: a change that small is not one a
   user would call slower or faster.
5. **Classify.**
   - *flat*: one segment;
   - *no steady state*: the last segment holds less than LAST_SHARE of the
     series (it changed too near the end to say it settled);
   - *warm-up*: the last segment is the fastest of all: the calls got faster
     and stayed there;
   - *slowdown*: some earlier segment was faster than the last.
   The steady state is the last segment: its median is the steady-state
   median, and its first call is the number of calls until steady state (0
   for a flat series). For a series that does not settle there is neither.

Over trials, a backend's class is the one every trial shares, else
*inconsistent* (Barrett et al.'s word), with the per-trial classes listed.
Pure functions; ruptures does the segmentation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.results.model import SteadyState
from harness.results.vocabulary import FLAT, INCONSISTENT, NO_STEADY_STATE, SLOWDOWN, WARMUP

CHUNK = 10  # calls per chunk median
PENALTY = 15.0  # beta = PENALTY * log(chunks)
MIN_SEGMENT = 3  # chunks
EQUIVALENT = 0.05  # segments whose medians differ by less than this share are one
LAST_SHARE = 0.10  # the steady segment must hold at least this share of the series
MIN_CALLS = CHUNK * MIN_SEGMENT * 2  # shorter series are not classified



def _chunk_medians(calls: np.ndarray) -> np.ndarray:
    whole = calls.size // CHUNK * CHUNK
    return np.median(np.log(calls[:whole]).reshape(-1, CHUNK), axis=1)


def _segments(chunks: np.ndarray) -> list[int]:
    """Chunk indices where each segment ends (the last is len(chunks))."""
    import ruptures

    steps = np.diff(chunks)
    sigma = 1.4826 * float(np.median(np.abs(steps - np.median(steps)))) / math.sqrt(2) if steps.size else 0.0
    if not sigma > 0:
        return [len(chunks)]
    signal = (chunks / sigma).reshape(-1, 1)
    return list(ruptures.Pelt(model="l2", min_size=MIN_SEGMENT, jump=1).fit(signal)
                .predict(pen=PENALTY * math.log(len(chunks))))


def classify(calls_s, trial: int = 0, regime: str = "idle") -> SteadyState | None:
    """The class of one series of call times (seconds, in call order); None when too short to tell."""
    calls = np.asarray(calls_s, dtype=float)
    calls = calls[calls > 0]
    if calls.size < MIN_CALLS:
        return None
    ends = [end * CHUNK for end in _segments(_chunk_medians(calls))]
    ends[-1] = calls.size  # the last chunk's tail belongs to the last segment
    starts = [0] + ends[:-1]
    medians = [float(np.median(calls[a:b])) for a, b in zip(starts, ends)]
    kept_starts, kept_medians = [starts[0]], [medians[0]]
    for start, end, median in zip(starts[1:], ends[1:], medians[1:]):
        if abs(median / kept_medians[-1] - 1) < EQUIVALENT:
            kept_medians[-1] = float(np.median(calls[kept_starts[-1]:end]))
        else:
            kept_starts.append(start)
            kept_medians.append(median)
    last = kept_starts[-1]
    changes = tuple(kept_starts[1:])
    if len(kept_starts) == 1:
        return SteadyState(trial, regime, int(calls.size), FLAT, 0, float(np.median(calls)), changes)
    if calls.size - last < LAST_SHARE * calls.size:
        return SteadyState(trial, regime, int(calls.size), NO_STEADY_STATE, None, None, changes)
    kind = WARMUP if kept_medians[-1] <= min(kept_medians[:-1]) else SLOWDOWN
    return SteadyState(trial, regime, int(calls.size), kind, last, float(np.median(calls[last:])), changes)


@dataclass(frozen=True)
class SteadyVerdict:
    """A backend's steady state over its trials, in one regime."""

    regime: str
    classification: str  # a key of vocabulary.STEADY_CLASSES, or INCONSISTENT
    per_trial: tuple[str, ...]
    calls_until_steady: float | None  # median over the trials that settled
    steady_median_s: float | None  # median over the trials that settled

    def to_json(self) -> dict:
        return {"regime": self.regime, "class": self.classification, "per_trial": list(self.per_trial),
                "calls_until_steady": self.calls_until_steady, "steady_median_s": self.steady_median_s}


def over_trials(states: list[SteadyState], regime: str) -> SteadyVerdict | None:
    mine = [s for s in states if s.regime == regime]
    if not mine:
        return None
    classes = tuple(s.classification for s in mine)
    settled = [s for s in mine if s.calls_until_steady is not None]
    return SteadyVerdict(
        regime=regime, classification=classes[0] if len(set(classes)) == 1 else INCONSISTENT, per_trial=classes,
        calls_until_steady=float(np.median([s.calls_until_steady for s in settled])) if settled else None,
        steady_median_s=float(np.median([s.steady_median_s for s in settled])) if settled else None)

