"""Cold start, in rounds: each round starts one fresh instance of every
backend in each CPU regime of the profile (idle CPUs, CPUs held awake; the
regimes in a new random order each round, the backends in a new random order
in each regime), and times each from asking for the instance to receiving its
first answer (wall time on the phase clock, with the CPU time the start cost).
Each instance is stopped right after, outside the timer. The first rounds are
warmups and discarded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.procedures.cpu_regime import AWAKE, IDLE, regime
from harness.procedures.instances import ARG, ColdStartSample, timed_cold_start
from harness.results.model import BackendResult, ColdStart, FrozenMap, Series
from harness.results.vocabulary import Figure
from harness.suites.base import Records, Suite, parts, series
from harness.suites.records import phases, record_fields

MS = 1e-3
TIMER = "time.perf_counter_ns: backend.start() called -> first answer received; stopping the instance excluded"


@dataclass
class ColdStartRecord:
    """One CPU regime's cold starts: seconds of wall and CPU time (CPU None:
    the backend cannot tell), each phase's milliseconds, the answers seen."""

    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] | None = field(default_factory=list)
    phases_ms: dict[str, list[float]] = field(default_factory=dict)
    answers: list[str] = field(default_factory=list)

    def add(self, sample: ColdStartSample) -> None:
        self.wall_s.append(sample.wall_s)
        if sample.cpu_s is None or self.cpu_s is None:
            self.cpu_s = None
        else:
            self.cpu_s.append(sample.cpu_s)
        for phase, value in sample.phases_ms.items():
            self.phases_ms.setdefault(phase, []).append(value)
        if str(sample.answer) not in self.answers:
            self.answers.append(str(sample.answer))

    def to_json(self) -> dict:
        return {"wall_s": self.wall_s, "cpu_s": self.cpu_s, "phases_ms": self.phases_ms, "answers": self.answers}

    @classmethod
    def from_json(cls, raw: object, what: str) -> "ColdStartRecord":
        f = record_fields(raw, what)  # written by this commit's trial process or, in an A/B run, the base's
        return cls(wall_s=list(f.numbers("wall_s", required=True)),
                   cpu_s=list(f.numbers("cpu_s")) if f.has("cpu_s") else None,
                   phases_ms=phases(f, "phases_ms"), answers=[str(a) for a in f.list("answers")])


COLD_START = Figure(
    "cold_start", "cold start", "ms", 1e3,
    "From the harness asking the backend for a fresh instance to the harness receiving the first handler "
    "answer: creating the isolate (or spawning the process, or creating and starting the container), the "
    "runtime becoming ready, loading the worker and the first call. Stopping the instance is not timed.",
    ratio=True, tailed=True)
COLD_START_CPU = Figure(
    "cold_start_cpu", "cold-start CPU time", "ms", 1e3,
    "CPU time (user + system) the same cold start cost: the harness process (all its threads), plus the "
    "instance's own processes or cgroup, plus, for Docker, the engine's daemons; what each backend counts "
    "is recorded with it.", clock="cpu", ratio=True)
KEYS = {IDLE: "cold_start", AWAKE: "cold_start_awake"}  # CPU regime -> its record and result field


@dataclass(frozen=True)
class ColdStartSettings:
    cold_rounds: int = 10  # rounds; each starts one instance of every backend, in a new random order
    cold_warmups: int = 1  # rounds started first and discarded


class ColdStartSuite(Suite):
    name = "cold_start"
    label = "cold start"
    figures = (COLD_START, COLD_START_CPU, COLD_START.awake("cold_start_awake"),
               COLD_START_CPU.awake("cold_start_awake_cpu"))
    records = {key: ColdStartRecord for key in KEYS.values()}
    paired = True
    Settings = ColdStartSettings
    report = "cold_start"  # harness/report/markdown.py and plots.py

    def measure(self, trial) -> None:
        names = trial.members(self.name)
        settings = self.settings(trial.profile)
        rounds = settings.cold_warmups + settings.cold_rounds
        with trial.progress.steps("cold start", rounds * len(names) * len(trial.regimes)) as advance:
            for round_index in range(rounds):
                for cpus in trial.regime_order():
                    with regime(cpus, trial.lever):
                        for name in trial.order(names):
                            advance()
                            if not trial.healthy(self.name, name):
                                continue
                            try:
                                instance, sample = timed_cold_start(trial.backends[name], trial.worker, ARG)
                                instance.stop()
                            except Exception as error:
                                trial.fail(self.name, name, error)
                                continue
                            if round_index >= settings.cold_warmups:
                                trial.record(name).timed(KEYS[cpus]).add(sample)

    def summary(self, result: BackendResult) -> dict[str, Any]:
        """Each phase's median (ms), and what the CPU time counts."""
        if not result.cold_start:
            return {}
        out: dict[str, Any] = {"cold_start_phases_ms": {phase: float(np.median(series.array())) * 1e3
                                                        for phase, series in result.cold_start.phases.items()}}
        if result.cold_start.cpu:
            out["cold_start_cpu_scope"] = result.cold_start.cpu_scope
        return out

    def merge(self, records: Records) -> dict[str, Any]:
        cpu_scope = next((r.info.cpu_scope for _, r in records if r.info), "")
        return {key: _cold_start(parts(records, key), cpu_scope) for key in KEYS.values()}


def _cold_start(found: list[tuple[int, ColdStartRecord]], cpu_scope: str) -> ColdStart | None:
    wall = series((c.wall_s, t) for t, c in found)
    if wall is None:
        return None
    cpu = series((c.cpu_s, t) for t, c in found if c.cpu_s)
    by_phase: dict[str, Series] = {}
    for phase in dict.fromkeys(p for _, c in found for p in c.phases_ms):
        phase_series = series(((c.phases_ms[phase], t) for t, c in found if phase in c.phases_ms), MS)
        if phase_series:
            by_phase[phase] = phase_series
    answers = tuple(dict.fromkeys(a for _, c in found for a in c.answers))
    return ColdStart(wall=wall, cpu=cpu, cpu_scope=cpu_scope if cpu else "", phases=FrozenMap(by_phase),
                     answers=answers, timer=TIMER)


SUITE = ColdStartSuite()
