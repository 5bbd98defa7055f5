"""The records of the at-scale suites (harness/suites/storm.py, ...): one
sweep per backend and trial, kept whole in the results file under the
suite's benchmark (`extra_info.sweeps`), as density's and concurrency's are.
Every time is in seconds from the moment the harness released the burst or
the request's intended arrival; what each timer covers is in
docs/methodology.md#at-scale."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from harness.results.fields import Fields

# Why an instance of a storm did not answer (harness/procedures/storm.py `failure_cause`).
FAILURE_CAUSES = {
    "fd limit": "the harness or the instance ran out of file descriptors (EMFILE, ENFILE)",
    "pid limit": "no more processes or threads could be created (EAGAIN from fork or clone, a pids cgroup)",
    "memory": "memory ran out (ENOMEM, an OOM kill, a memory cap)",
    "engine error": "the engine or runtime refused or failed the start (dockerd, runc, V8)",
    "timeout": "no answer within the storm's time limit",
    "other": "anything else (its message is recorded)",
}


@dataclass(frozen=True)
class StormFailure:
    """The instances of one burst that failed for one cause, and the first one's message."""

    cause: str
    count: int
    message: str

    def to_json(self) -> dict:
        return {"cause": self.cause, "count": self.count, "message": self.message}

    @staticmethod
    def from_json(raw: object, where: str) -> "StormFailure":
        f = Fields(raw, where)
        return StormFailure(f.str("cause", required=True), f.int("count", required=True), f.str("message"))


class _Answers:
    """What a level of new instances tells from its fields `latencies_s` (one per answer) and `failures`."""

    latencies_s: tuple[float, ...]
    failures: tuple[StormFailure, ...]

    @property
    def answered(self) -> int:
        return len(self.latencies_s)

    @property
    def failed(self) -> int:
        return sum(failure.count for failure in self.failures)


@dataclass(frozen=True)
class StormLevel(_Answers):
    """One burst of N starts requested at the same moment.

    latencies_s: for each instance that answered, the burst's release to its
    first answer, in the order they answered. last_answer_s: the release to
    the last answer (None if none answered). mem_drop_bytes: how far the
    machine's MemAvailable fell from before the burst to its last answer."""

    n: int
    latencies_s: tuple[float, ...]
    failures: tuple[StormFailure, ...] = ()
    last_answer_s: float | None = None
    teardown_s: float = 0.0
    mem_drop_bytes: float | None = None

    @property
    def all_answered(self) -> bool:
        return self.answered == self.n and not self.failures

    def to_json(self) -> dict:
        return {"n": self.n, "latencies_s": list(self.latencies_s), "failures": [f.to_json() for f in self.failures],
                "last_answer_s": self.last_answer_s, "teardown_s": self.teardown_s,
                "mem_drop_bytes": self.mem_drop_bytes}

    @staticmethod
    def from_json(raw: object, where: str) -> "StormLevel":
        f = Fields(raw, where)
        return StormLevel(n=f.int("n", required=True), latencies_s=f.numbers("latencies_s"),
                          failures=tuple(StormFailure.from_json(x, f"{where}.failures[{i}]")
                                         for i, x in enumerate(f.list("failures"))),
                          last_answer_s=f.float("last_answer_s"), teardown_s=f.float("teardown_s", 0.0),
                          mem_drop_bytes=f.float("mem_drop_bytes"))


# What stopped a storm sweep (StormSweep.bound).
STORM_BOUNDS = {
    "ladder": "the ladder ended",
    "cap": "the next N is past the per-backend cap for its instance class",
    "memory": "the next N would not fit in the memory budget",
    "failures": "instances of the last burst failed",
    "time": "the sweep's time budget was spent",
}


@dataclass(frozen=True)
class StormSweep:
    """One backend's storm sweep in one trial: bursts of N along the ladder until a bound stops it.

    served: "at once" (each start on its own harness thread, overlapping) or
    "one at a time" (the backend cannot overlap starts: the burst queues).
    bytes_per_instance and its source bound N by the memory budget."""

    trial: int
    instance_class: str
    served: str
    ladder: tuple[int, ...]
    cap: int
    levels: tuple[StormLevel, ...]
    bound: str
    stopped_because: str
    timeout_s: float = 0.0
    memory_budget_bytes: float | None = None
    bytes_per_instance: float | None = None
    bytes_source: str = ""
    duration_s: float = 0.0

    def __post_init__(self) -> None:
        if self.bound not in STORM_BOUNDS:
            raise ValueError(f"unknown storm bound {self.bound!r}")

    def level(self, n: int) -> StormLevel | None:
        return next((level for level in self.levels if level.n == n), None)

    def to_json(self) -> dict:
        return {"trial": self.trial, "instance_class": self.instance_class, "served": self.served,
                "ladder": list(self.ladder), "cap": self.cap, "levels": [lv.to_json() for lv in self.levels],
                "bound": self.bound, "stopped_because": self.stopped_because, "timeout_s": self.timeout_s,
                "memory_budget_bytes": self.memory_budget_bytes, "bytes_per_instance": self.bytes_per_instance,
                "bytes_source": self.bytes_source, "duration_s": self.duration_s}

    @staticmethod
    def from_json(raw: object, where: str) -> "StormSweep":
        f = Fields(raw, where)
        bound = f.str("bound", required=True)
        if bound not in STORM_BOUNDS:
            raise f.error(f"{where}.bound: unknown bound {bound!r}")
        return StormSweep(trial=f.int("trial", 0), instance_class=f.str("instance_class", "process"),
                          served=f.str("served", "at once"), ladder=f.ints("ladder"), cap=f.int("cap", 0),
                          levels=tuple(StormLevel.from_json(x, f"{where}.levels[{i}]")
                                       for i, x in enumerate(f.list("levels"))),
                          bound=bound, stopped_because=f.str("stopped_because"), timeout_s=f.float("timeout_s", 0.0),
                          memory_budget_bytes=f.float("memory_budget_bytes"),
                          bytes_per_instance=f.float("bytes_per_instance"), bytes_source=f.str("bytes_source"),
                          duration_s=f.float("duration_s", 0.0))




@dataclass(frozen=True)
class LoadLevel:
    """One offered rate on one pool of warm instances, for `window_s` seconds of Poisson arrivals.

    Every latency runs from the request's intended arrival time (wrk2's
    correction for coordinated omission), so a request the generator or the
    pool sent late counts its wait. histogram: the latencies as an encoded
    HdrHistogram in ns (results/histogram.py). unserved: requests still queued when
    the drain limit ended the level. generator_lag_p99_s: how late the
    generator itself put requests in the queue (99th percentile)."""

    offered_rps: float
    pool: int
    window_s: float
    sent: int
    completed: int
    histogram: str
    errors: int = 0
    error: str = ""
    unserved: int = 0
    achieved_rps: float | None = None
    generator_lag_p99_s: float | None = None

    SATURATED_SHARE = 0.9  # a pool that answers less than this share of the offered rate did not keep up

    @property
    def saturated(self) -> bool:
        """The pool did not keep up: requests left unserved, or it answered less than SATURATED_SHARE of the offer."""
        return bool(self.unserved) or (self.achieved_rps is not None
                                       and self.achieved_rps < self.SATURATED_SHARE * self.offered_rps)

    def to_json(self) -> dict:
        return {"offered_rps": self.offered_rps, "pool": self.pool, "window_s": self.window_s, "sent": self.sent,
                "completed": self.completed, "histogram": self.histogram, "errors": self.errors,
                "error": self.error, "unserved": self.unserved, "achieved_rps": self.achieved_rps,
                "generator_lag_p99_s": self.generator_lag_p99_s}

    @staticmethod
    def from_json(raw: object, where: str) -> "LoadLevel":
        f = Fields(raw, where)
        return LoadLevel(offered_rps=f.float("offered_rps", required=True), pool=f.int("pool", required=True),
                         window_s=f.float("window_s", 0.0), sent=f.int("sent", 0), completed=f.int("completed", 0),
                         histogram=f.str("histogram"), errors=f.int("errors", 0), error=f.str("error"),
                         unserved=f.int("unserved", 0), achieved_rps=f.float("achieved_rps"),
                         generator_lag_p99_s=f.float("generator_lag_p99_s"))


@dataclass(frozen=True)
class LoadSweep:
    """One backend's open-loop sweep in one trial: offered rates on pools of
    warm instances, up to and past saturation, and the floor (the same
    generator and queue with a null call) at the same rates and pools."""

    trial: int
    instance_class: str
    rates: tuple[float, ...]
    pools: tuple[int, ...]
    levels: tuple[LoadLevel, ...]
    floor: tuple[LoadLevel, ...] = ()
    cores: int = 0
    stopped_because: str = ""
    duration_s: float = 0.0

    def to_json(self) -> dict:
        return {"trial": self.trial, "instance_class": self.instance_class, "rates": list(self.rates),
                "pools": list(self.pools), "levels": [lv.to_json() for lv in self.levels],
                "floor": [lv.to_json() for lv in self.floor], "cores": self.cores,
                "stopped_because": self.stopped_because, "duration_s": self.duration_s}

    @staticmethod
    def from_json(raw: object, where: str) -> "LoadSweep":
        f = Fields(raw, where)
        return LoadSweep(trial=f.int("trial", 0), instance_class=f.str("instance_class", "process"),
                         rates=f.numbers("rates"), pools=f.ints("pools"),
                         levels=tuple(LoadLevel.from_json(x, f"{where}.levels[{i}]")
                                      for i, x in enumerate(f.list("levels"))),
                         floor=tuple(LoadLevel.from_json(x, f"{where}.floor[{i}]")
                                     for i, x in enumerate(f.list("floor"))),
                         cores=f.int("cores", 0), stopped_because=f.str("stopped_because"),
                         duration_s=f.float("duration_s", 0.0))


@dataclass(frozen=True)
class StartRateLevel(_Answers):
    """One arrival rate of the sustained start rate: `sent` requests arriving
    as a Poisson process, each served by a new instance that is stopped after
    its answer.

    latencies_s: for each request answered, its intended arrival to the new
    instance's first answer, in the order they answered (the wait for a free
    server, the start and the first call; the stop that follows is not in
    it). unserved: requests not begun by the level's time limit.
    generator_lag_p99_s: how late the generator itself released requests.
    floor_p99_s: the harness's own p99 at this rate (null starts through the
    same generator, queue and servers), measured only when the level's p99
    was past the bound; the level is then judged against the bound plus it."""

    rate: float
    sent: int
    latencies_s: tuple[float, ...]
    failures: tuple[StormFailure, ...] = ()
    unserved: int = 0
    generator_lag_p99_s: float | None = None
    floor_p99_s: float | None = None

    @property
    def p99_s(self) -> float | None:
        return float(np.percentile(self.latencies_s, 99)) if self.latencies_s else None

    def shortfall(self, bound_s: float) -> str:
        """Why this level fails the bound (a failed start, a request not served, p99 past it), or "" if it passes."""
        if self.failures:
            causes = ", ".join(f"{f.count} {f.cause}" for f in self.failures)
            return f"{self.failed} of {self.sent} starts failed at {self.rate:g}/s ({causes})"
        if self.unserved or self.answered < self.sent:
            return f"{self.sent - self.answered} of {self.sent} requests not served in time at {self.rate:g}/s"
        if self.p99_s > bound_s + (self.floor_p99_s or 0.0):
            floor = f" plus the harness's own p99 of {self.floor_p99_s * 1e3:.3g} ms" if self.floor_p99_s else ""
            return (f"p99 {self.p99_s * 1e3:.3g} ms at {self.rate:g}/s is past the bound of "
                    f"{bound_s * 1e3:.3g} ms{floor}")
        return ""

    def on_the_floor(self, bound_s: float) -> bool:
        """It passes only by the harness's own p99: past the bound, within the bound plus the floor."""
        return not self.shortfall(bound_s) and self.p99_s is not None and self.p99_s > bound_s

    def to_json(self) -> dict:
        return {"rate": self.rate, "sent": self.sent, "latencies_s": list(self.latencies_s),
                "failures": [f.to_json() for f in self.failures], "unserved": self.unserved,
                "generator_lag_p99_s": self.generator_lag_p99_s, "floor_p99_s": self.floor_p99_s}

    @staticmethod
    def from_json(raw: object, where: str) -> "StartRateLevel":
        f = Fields(raw, where)
        return StartRateLevel(rate=f.float("rate", required=True), sent=f.int("sent", required=True),
                              latencies_s=f.numbers("latencies_s"),
                              failures=tuple(StormFailure.from_json(x, f"{where}.failures[{i}]")
                                             for i, x in enumerate(f.list("failures"))),
                              unserved=f.int("unserved", 0), generator_lag_p99_s=f.float("generator_lag_p99_s"),
                              floor_p99_s=f.float("floor_p99_s"))


def start_rate_bound(lone_starts_s: tuple[float, ...], factor: float) -> float:
    """A level's p99 bound: `factor` times the median of the lone starts."""
    return factor * statistics.median(lone_starts_s)


@dataclass(frozen=True)
class StartRateSweep:
    """One backend's sustained start rate in one trial: the lone starts that
    set the bound, then rising arrival rates until one fails it.

    lone_starts_s: cold starts one at a time with nothing else running, each
    from the request to the first answer; the bound is bound_factor times
    their median. A level passes when every request was answered and its p99
    is within the bound. served: "at once" (up to `in_flight` starts overlap,
    each on its own harness thread) or "one at a time"."""

    trial: int
    instance_class: str
    served: str
    in_flight: int
    rates: tuple[float, ...]
    lone_starts_s: tuple[float, ...]
    bound_factor: float
    levels: tuple[StartRateLevel, ...]
    stopped_because: str = ""
    cores: int = 0
    duration_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.lone_starts_s:
            raise ValueError("a start-rate sweep needs its lone starts (they set the bound)")
        if self.bound_factor <= 1:
            raise ValueError(f"a start-rate bound factor must be above 1, not {self.bound_factor}")

    @property
    def single_start_s(self) -> float:
        return statistics.median(self.lone_starts_s)

    @property
    def bound_s(self) -> float:
        return start_rate_bound(self.lone_starts_s, self.bound_factor)

    def to_json(self) -> dict:
        return {"trial": self.trial, "instance_class": self.instance_class, "served": self.served,
                "in_flight": self.in_flight, "rates": list(self.rates), "lone_starts_s": list(self.lone_starts_s),
                "bound_factor": self.bound_factor, "levels": [lv.to_json() for lv in self.levels],
                "stopped_because": self.stopped_because, "cores": self.cores, "duration_s": self.duration_s}

    @staticmethod
    def from_json(raw: object, where: str) -> "StartRateSweep":
        f = Fields(raw, where)
        lone = f.numbers("lone_starts_s")
        factor = f.float("bound_factor", required=True)
        if not lone or factor <= 1:
            raise f.error(f"{where}: a start-rate sweep needs lone starts and a bound factor above 1")
        return StartRateSweep(trial=f.int("trial", 0), instance_class=f.str("instance_class", "process"),
                              served=f.str("served", "at once"), in_flight=f.int("in_flight", 1),
                              rates=f.numbers("rates"), lone_starts_s=lone, bound_factor=factor,
                              levels=tuple(StartRateLevel.from_json(x, f"{where}.levels[{i}]")
                                           for i, x in enumerate(f.list("levels"))),
                              stopped_because=f.str("stopped_because"), cores=f.int("cores", 0),
                              duration_s=f.float("duration_s", 0.0))


# The records kept whole per sweep, by benchmark name (results/model.py writes and reads them generically).
SWEEP_RECORDS: dict[str, type] = {"storm": StormSweep, "load": LoadSweep, "start_rate": StartRateSweep}
