"""Open-loop load as pure functions on the sweeps: per pool and offered
rate, the latency percentiles (p50, p99, p99.9 from the level's
HdrHistogram, each with the count of requests at or above it), the
achieved rate, whether the pool saturated, and the floor's percentiles at the
same rate (the harness's own generator and queue with a null call).

A backend's percentile is its own only above the floor: within
FLOOR_MARGIN of the floor's it is reported as "at the floor", since the
harness alone would have printed the same. Saturation throughput is the
highest achieved rate of a pool, per core of the machine. Levels are
pooled over the trials that ran them: the histograms are added, and the
achieved rate is the median over trials."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Sequence

from hdrh.histogram import HdrHistogram

from harness.results.at_scale import LoadLevel, LoadSweep
from harness.results.histogram import count_at_or_above, decode_sum
from harness.results.model import Series

FLOOR_MARGIN = 1.1  # a percentile within 10% of the floor's is the floor's
PERCENTILES = (("p50", 50.0), ("p99", 99.0), ("p999", 99.9))


@dataclass(frozen=True)
class Percentile:
    us: float
    at_or_above: int  # requests the figure rests on

    def to_json(self) -> dict:
        return {"us": self.us, "requests_at_or_above": self.at_or_above}


@dataclass(frozen=True)
class RatePoint:
    """One offered rate on one pool, over the trials that ran it."""

    offered_rps: float
    pool: int
    trials: int
    requests: int
    achieved_rps: float | None
    saturated: bool
    percentiles: dict  # "p50" -> Percentile
    floor: dict  # "p50" -> Percentile, the floor at the same rate and pool
    errors: int = 0

    def own(self, key: str) -> Percentile | None:
        """The percentile if it is above the floor's, else None ("at the floor")."""
        mine, floor = self.percentiles.get(key), self.floor.get(key)
        if mine is None or floor is not None and mine.us <= floor.us * FLOOR_MARGIN:
            return None
        return mine

    def over_floor(self, key: str) -> float | None:
        mine, floor = self.percentiles.get(key), self.floor.get(key)
        return mine.us / floor.us if mine and floor and floor.us > 0 else None

    def to_json(self) -> dict:
        return {"offered_rps": self.offered_rps, "pool": self.pool, "trials": self.trials,
                "requests": self.requests, "achieved_rps": self.achieved_rps, "saturated": self.saturated,
                "errors": self.errors, **{key: value.to_json() for key, value in self.percentiles.items()},
                "floor": {key: value.to_json() for key, value in self.floor.items()},
                "at_floor": [key for key, _ in PERCENTILES if key in self.percentiles and self.own(key) is None]}


@dataclass(frozen=True)
class PoolSummary:
    pool: int
    points: tuple[RatePoint, ...]
    saturation_rps: float | None  # the highest achieved rate
    cores: int

    @property
    def per_core_rps(self) -> float | None:
        return self.saturation_rps / self.cores if self.saturation_rps and self.cores else None

    def to_json(self) -> dict:
        return {"pool": self.pool, "points": [p.to_json() for p in self.points],
                "saturation_rps": self.saturation_rps, "saturation_rps_per_core": self.per_core_rps,
                "cores": self.cores}


@dataclass(frozen=True)
class LoadSummary:
    """The summary's `load` entry for one backend."""

    pools: tuple[PoolSummary, ...]
    stopped_because: str

    def pool(self, size: int) -> PoolSummary | None:
        return next((p for p in self.pools if p.pool == size), None)

    def to_json(self) -> dict:
        return {"pools": [p.to_json() for p in self.pools], "stopped_because": self.stopped_because}


def merged(levels: Sequence[LoadLevel]) -> HdrHistogram | None:
    return decode_sum([level.histogram for level in levels if level.histogram])


def percentiles(histogram: HdrHistogram | None) -> dict:
    if histogram is None or not histogram.get_total_count():
        return {}
    out = {}
    for key, percentile in PERCENTILES:
        value = histogram.get_value_at_percentile(percentile)
        out[key] = Percentile(value / 1e3, count_at_or_above(histogram, value))
    return out


def _key(level: LoadLevel) -> tuple[int, float]:
    return level.pool, level.offered_rps


def saturation_rates(sweeps: Sequence[LoadSweep], pool: int = 1) -> Series | None:
    """Per trial, a pool's saturation throughput (its highest achieved rate), where it is the backend's own:
    a trial in which it reaches SATURATED_SHARE of the floor's highest achieved rate is left out, since
    there the harness's generator, not the backend, may be what stopped it."""
    values, trials = [], []
    for sweep in sweeps:
        own = [lv.achieved_rps for lv in sweep.levels if lv.pool == pool and lv.achieved_rps is not None]
        floor = [lv.achieved_rps for lv in sweep.floor if lv.pool == pool and lv.achieved_rps is not None]
        if own and not (floor and max(own) >= LoadLevel.SATURATED_SHARE * max(floor)):
            values.append(max(own))
            trials.append(sweep.trial)
    return Series(tuple(values), tuple(trials)) if values else None


def summarize_load(sweeps: Sequence[LoadSweep]) -> LoadSummary | None:
    if not sweeps:
        return None
    groups: dict[tuple[int, float], list[LoadLevel]] = {}
    floors: dict[tuple[int, float], list[LoadLevel]] = {}
    for sweep in sweeps:
        for level in sweep.levels:
            groups.setdefault(_key(level), []).append(level)
        for level in sweep.floor:
            floors.setdefault(_key(level), []).append(level)
    cores = max(sweep.cores for sweep in sweeps)
    pools = []
    for size in sorted({pool for pool, _ in groups}):
        points = []
        for (pool, rate), levels in sorted(groups.items()):
            if pool != size:
                continue
            achieved = [lv.achieved_rps for lv in levels if lv.achieved_rps is not None]
            points.append(RatePoint(offered_rps=rate, pool=pool, trials=len(levels),
                                    requests=sum(lv.completed for lv in levels),
                                    achieved_rps=median(achieved) if achieved else None,
                                    saturated=any(lv.saturated for lv in levels),
                                    percentiles=percentiles(merged(levels)),
                                    floor=percentiles(merged(floors.get((pool, rate), []))),
                                    errors=sum(lv.errors for lv in levels)))
        rates = [p.achieved_rps for p in points if p.achieved_rps]
        pools.append(PoolSummary(size, tuple(points), max(rates) if rates else None, cores))
    return LoadSummary(tuple(pools), sweeps[-1].stopped_because)
