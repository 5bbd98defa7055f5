"""The sustained start rate as pure functions on the sweeps of every trial.

Each trial's sweep gives one sustained rate: the highest arrival rate of its
ladder at which every request was answered and the p99 stayed within the
bound (bound_factor times that sweep's own lone-start median, plus the
harness's own p99 at that rate where it was measured: the floor), every
lower rate having passed too. A rate that passed only by the floor's p99 is
counted as "on the floor" in its figures. A sweep whose last rate passed reached the ladder's
end: its rate is a lower bound, and the summary says "at least".

Intervals: the lone start and each rate's p50 and p99 resample trials, then
the requests within them (harness/analysis/estimate.py). The sustained rate
is a rung of a ladder, not a continuous figure, so it is given as the
median over trials with the lowest and highest trial beside it, never as a
bootstrap interval."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Sequence

from harness.analysis.estimate import estimate
from harness.analysis.storm import MS, OverTrials
from harness.results.at_scale import StartRateSweep
from harness.results.model import Series

FIRECRACKER_PER_CORE = 5.0  # micro-VMs a second per core, Firecracker's published figure (docs/sources.md)


@dataclass(frozen=True)
class RateFigures:
    """One arrival rate over every trial that ran it."""

    rate: float
    trials: int
    passed: int  # trials in which this rate passed the bound
    on_the_floor: int  # of those, trials that passed only by the harness's own p99 (the floor)
    sent: int
    answered: int
    failed: int
    p50_ms: OverTrials | None
    p99_ms: OverTrials | None

    def to_json(self) -> dict:
        return {"rate": self.rate, "trials": self.trials, "passed": self.passed,
                "on_the_floor": self.on_the_floor, "sent": self.sent,
                "answered": self.answered, "failed": self.failed,
                "p50_ms": self.p50_ms.to_json() if self.p50_ms else None,
                "p99_ms": self.p99_ms.to_json() if self.p99_ms else None}


@dataclass(frozen=True)
class StartRateSummary:
    """The summary's `start_rate` entry for one backend."""

    served: str
    in_flight: int
    bound_factor: float
    single_start_ms: OverTrials | None
    rates: tuple[RateFigures, ...]
    sustained_rps: tuple[float, ...]  # one per trial (0: not even the lowest rate passed)
    at_least: bool  # some trial passed its ladder's last rate: the true rate may be higher
    cores: int
    stopped_because: str  # the last sweep's

    @property
    def sustained_median_rps(self) -> float | None:
        return statistics.median(self.sustained_rps) if self.sustained_rps else None

    @property
    def trial_range_rps(self) -> tuple[float, float] | None:
        """The lowest and the highest trial's sustained rate, where they differ."""
        low, high = (min(self.sustained_rps), max(self.sustained_rps)) if self.sustained_rps else (0, 0)
        return (low, high) if low != high else None

    @property
    def per_core_rps(self) -> float | None:
        found = self.sustained_median_rps
        return found / self.cores if found is not None and self.cores else None

    @property
    def bound_ms(self) -> float | None:
        return self.bound_factor * self.single_start_ms.value if self.single_start_ms else None

    def rate(self, rate: float) -> RateFigures | None:
        return next((r for r in self.rates if r.rate == rate), None)

    def to_json(self) -> dict:
        return {"served": self.served, "in_flight": self.in_flight, "bound_factor": self.bound_factor,
                "single_start_ms": self.single_start_ms.to_json() if self.single_start_ms else None,
                "rates": [r.to_json() for r in self.rates], "sustained_rps": list(self.sustained_rps),
                "at_least": self.at_least, "cores": self.cores, "stopped_because": self.stopped_because,
                "sustained_median_rps": self.sustained_median_rps, "per_core_rps": self.per_core_rps}


def sustained(sweep: StartRateSweep) -> tuple[float, bool]:
    """This trial's sustained rate (0 if none passed), and whether it is its ladder's last rate."""
    best = 0.0
    for level in sweep.levels:
        if level.shortfall(sweep.bound_s):
            break
        best = level.rate
    return best, bool(sweep.levels) and best == sweep.rates[-1]


def _series(sweeps: Sequence[StartRateSweep], rate: float) -> Series | None:
    values, trials = [], []
    for sweep in sweeps:
        for level in sweep.levels:
            if level.rate == rate:
                values += level.latencies_s
                trials += [sweep.trial] * level.answered
    return Series(tuple(values), tuple(trials)) if values else None


def rate_figures(sweeps: Sequence[StartRateSweep], rate: float) -> RateFigures:
    ran = [(sweep, level) for sweep in sweeps for level in sweep.levels if level.rate == rate]
    latencies = _series(sweeps, rate)
    return RateFigures(rate=rate, trials=len(ran), passed=sum(not lv.shortfall(s.bound_s) for s, lv in ran),
                       on_the_floor=sum(lv.on_the_floor(s.bound_s) for s, lv in ran),
                       sent=sum(lv.sent for _, lv in ran), answered=sum(lv.answered for _, lv in ran),
                       failed=sum(lv.failed for _, lv in ran),
                       p50_ms=OverTrials.of(estimate(latencies)) if latencies else None,
                       p99_ms=OverTrials.of(estimate(latencies, 0.99)) if latencies else None)


def sustained_rates(sweeps: Sequence[StartRateSweep]) -> Series | None:
    """Each trial's sustained rate (starts a second), tagged with its trial: the key figure's samples."""
    return Series(tuple(sustained(s)[0] for s in sweeps), tuple(s.trial for s in sweeps)) if sweeps else None


def summarize_start_rate(sweeps: Sequence[StartRateSweep]) -> StartRateSummary | None:
    if not sweeps:
        return None
    lone = Series(tuple(v for s in sweeps for v in s.lone_starts_s),
                  tuple(s.trial for s in sweeps for _ in s.lone_starts_s))
    rates = sorted({level.rate for sweep in sweeps for level in sweep.levels})
    found = [sustained(sweep) for sweep in sweeps]
    last = sweeps[-1]
    return StartRateSummary(served=last.served, in_flight=last.in_flight, bound_factor=last.bound_factor,
                            single_start_ms=OverTrials.of(estimate(lone), MS),
                            rates=tuple(rate_figures(sweeps, rate) for rate in rates),
                            sustained_rps=tuple(rate for rate, _ in found), at_least=any(end for _, end in found),
                            cores=last.cores, stopped_because=last.stopped_because)
