"""The first instance of a fresh process, for the backends whose first costs
more (the isolate: loading libmini_racer and starting V8's platform), each
time in a fresh interpreter, timed inside it; backends visited in a new
random order each round. Never mixed with the steady cold start."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from harness.procedures.instances import ARG
from harness.results.model import FirstInstance, FrozenMap
from harness.results.vocabulary import Figure
from harness.suites.base import Records, Suite, parts, series
from harness.suites.records import phases, record_fields

MS = 1e-3


@dataclass
class FirstInstanceRecord:
    """The first instance in a fresh process: milliseconds, phases, the USS it added."""

    total_ms: list[float] = field(default_factory=list)
    phases_ms: dict[str, list[float]] = field(default_factory=dict)
    uss_growth_bytes: list[float] = field(default_factory=list)
    timer: str = ""

    def add(self, probe: Mapping[str, Any]) -> None:
        """One probe's answer (the JSON a first-instance probe process printed)."""
        f = record_fields(probe, "first-instance probe")
        self.total_ms.append(f.float("total_ms", required=True))
        self.uss_growth_bytes.append(f.float("uss_growth_bytes", 0.0))
        self.timer = f.str("timer")
        for phase, value in f.floats_by_name("phases_ms").items():
            self.phases_ms.setdefault(phase, []).append(value)

    def to_json(self) -> dict:
        return {"total_ms": self.total_ms, "phases_ms": self.phases_ms, "uss_growth_bytes": self.uss_growth_bytes,
                "timer": self.timer}

    @classmethod
    def from_json(cls, raw: object, what: str) -> "FirstInstanceRecord":
        f = record_fields(raw, what)
        return cls(total_ms=list(f.numbers("total_ms", required=True)), phases_ms=phases(f, "phases_ms"),
                   uss_growth_bytes=list(f.numbers("uss_growth_bytes")), timer=f.str("timer"))


@dataclass(frozen=True)
class FirstInstanceSettings:
    first_instance_rounds: int = 2  # fresh interpreters timing their first isolate


class FirstInstanceSuite(Suite):
    name = "first_instance"
    label = "first instance per process"
    figures = (Figure("first_instance", "first isolate in a fresh process", "ms", 1e3,
                      "The first isolate of a fresh process also loads the engine library and starts V8's platform; "
                      "it is sampled in fresh interpreters and never mixed with the steady cold start."),)
    records = {"first_instance": FirstInstanceRecord}
    Settings = FirstInstanceSettings
    report = "cold_start"  # drawn beside the cold start

    def measure(self, trial) -> None:
        names = trial.members(self.name)
        rounds = self.settings(trial.profile).first_instance_rounds
        with trial.progress.steps(self.label, rounds * len(names)) as advance:
            for _ in range(rounds):
                for name in trial.order(names):
                    advance()
                    if not trial.healthy(self.name, name):
                        continue
                    try:
                        probe = trial.backends[name].first_instance_probe(trial.worker, ARG)
                    except Exception as error:
                        trial.fail(self.name, name, error)
                        continue
                    if probe is not None:
                        trial.record(name).timed("first_instance").add(probe)

    def merge(self, records: Records) -> dict[str, Any]:
        found = parts(records, "first_instance")
        total = series(((f.total_ms, t) for t, f in found), MS)
        if total is None:
            return {"first_instance": None}
        by_phase = {}
        for phase in dict.fromkeys(p for _, f in found for p in f.phases_ms):
            by_phase[phase] = series(((f.phases_ms[phase], t) for t, f in found if phase in f.phases_ms), MS)
        uss = series((f.uss_growth_bytes, t) for t, f in found if f.uss_growth_bytes)
        return {"first_instance": FirstInstance(total=total, phases=FrozenMap(by_phase), uss_growth_bytes=uss,
                                                timer=next((f.timer for _, f in found), ""))}


SUITE = FirstInstanceSuite()
