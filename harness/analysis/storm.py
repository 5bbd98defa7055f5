"""Cold-start storms as pure functions on the sweeps of every trial: for
each burst size N, the instances' start latencies (p50, p99), the time until
the last one answered, instances per second, and the failures by cause.

Intervals: each trial's burst is one independent sample of the whole
system under that burst, so a burst's figures resample trials (the
hierarchical bootstrap of harness/analysis/estimate.py: trials, then the
instances within each). With one trial there is no interval, and the
summary says so by giving none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from harness.analysis.estimate import Estimate, estimate
from harness.results.at_scale import StormSweep
from harness.results.model import Series

MS = 1e3


@dataclass(frozen=True)
class OverTrials:
    """A figure in milliseconds (or per second), with its interval over trials when there are two or more."""

    value: float
    ci95: tuple[float, float] | None
    trials: int

    @staticmethod
    def of(found: Estimate | None, scale: float = MS) -> "OverTrials | None":
        if found is None:
            return None
        return OverTrials(found.value * scale, (found.ci[0] * scale, found.ci[1] * scale) if found.ci else None,
                      found.trials)

    def to_json(self) -> dict:
        return {"value": self.value, "ci95": list(self.ci95) if self.ci95 else None, "trials": self.trials}


@dataclass(frozen=True)
class BurstFigures:
    """One burst size over every trial that ran it."""

    n: int
    trials: int
    requested: int  # starts asked for, over those trials
    answered: int
    failures: Mapping[str, int]  # cause -> instances, over those trials
    start_p50_ms: OverTrials | None
    start_p99_ms: OverTrials | None
    last_answer_ms: OverTrials | None  # over the trials in which every instance answered
    instances_per_s: float | None  # N over the median time to the last answer

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def to_json(self) -> dict:
        return {"n": self.n, "trials": self.trials, "requested": self.requested, "answered": self.answered,
                "failures": dict(self.failures),
                "start_p50_ms": self.start_p50_ms.to_json() if self.start_p50_ms else None,
                "start_p99_ms": self.start_p99_ms.to_json() if self.start_p99_ms else None,
                "last_answer_ms": self.last_answer_ms.to_json() if self.last_answer_ms else None,
                "instances_per_s": self.instances_per_s}


@dataclass(frozen=True)
class StormSummary:
    """The summary's `storm` entry for one backend."""

    served: str
    bursts: tuple[BurstFigures, ...]
    bound: str  # what stopped the last sweep (results/at_scale.py STORM_BOUNDS)
    stopped_because: str
    cap: int
    bytes_per_instance: float | None
    bytes_source: str

    def burst(self, n: int) -> BurstFigures | None:
        return next((b for b in self.bursts if b.n == n), None)

    @property
    def largest_clean(self) -> BurstFigures | None:
        """The largest burst in which every instance answered in every trial."""
        clean = [b for b in self.bursts if b.answered == b.requested and b.last_answer_ms]
        return clean[-1] if clean else None

    def to_json(self) -> dict:
        return {"served": self.served, "bursts": [b.to_json() for b in self.bursts], "bound": self.bound,
                "stopped_because": self.stopped_because, "cap": self.cap,
                "bytes_per_instance": self.bytes_per_instance, "bytes_source": self.bytes_source}


def start_latencies(sweeps: Sequence[StormSweep], n: int) -> Series | None:
    """Every answered instance's start latency in bursts of N (seconds), tagged with its trial."""
    values, trials = [], []
    for sweep in sweeps:
        level = sweep.level(n)
        if level:
            values += level.latencies_s
            trials += [sweep.trial] * level.answered
    return Series(tuple(values), tuple(trials)) if values else None


def last_answers(sweeps: Sequence[StormSweep], n: int) -> Series | None:
    """Per trial, the release of a burst of N to its last answer (seconds), where every instance answered."""
    pairs = [(level.last_answer_s, sweep.trial) for sweep in sweeps
             for level in [sweep.level(n)] if level and level.all_answered and level.last_answer_s is not None]
    return Series(tuple(v for v, _ in pairs), tuple(t for _, t in pairs)) if pairs else None


def burst_figures(sweeps: Sequence[StormSweep], n: int) -> BurstFigures:
    levels = [level for sweep in sweeps for level in [sweep.level(n)] if level]
    failures: dict[str, int] = {}
    for level in levels:
        for failure in level.failures:
            failures[failure.cause] = failures.get(failure.cause, 0) + failure.count
    latencies = start_latencies(sweeps, n)
    last = last_answers(sweeps, n)
    last_figure = OverTrials.of(estimate(last)) if last else None
    return BurstFigures(n=n, trials=len(levels), requested=n * len(levels),
                        answered=sum(level.answered for level in levels), failures=failures,
                        start_p50_ms=OverTrials.of(estimate(latencies)) if latencies else None,
                        start_p99_ms=OverTrials.of(estimate(latencies, 0.99)) if latencies else None,
                        last_answer_ms=last_figure,
                        instances_per_s=n / (last_figure.value / MS) if last_figure and last_figure.value > 0
                        else None)


def summarize_storm(sweeps: Sequence[StormSweep]) -> StormSummary | None:
    """Every burst size any trial ran, over the trials that ran it; the bound is the last sweep's."""
    if not sweeps:
        return None
    sizes = sorted({level.n for sweep in sweeps for level in sweep.levels})
    last = sweeps[-1]
    return StormSummary(served=last.served, bursts=tuple(burst_figures(sweeps, n) for n in sizes), bound=last.bound,
                        stopped_because=last.stopped_because, cap=last.cap,
                        bytes_per_instance=last.bytes_per_instance, bytes_source=last.bytes_source)
