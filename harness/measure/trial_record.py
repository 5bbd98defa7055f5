"""The record one trial process hands its manager, typed. The trial (its
suites, through harness/measure/trial.py) fills it; `to_json` is what the
process leaves at OUT and what the journal keeps; `TrialRecord.from_json`
reads it back once, checked, and harness/measure/assemble.py merges the
records of every trial into a Run.

- TrialRecord         one trial: when, where, which suites, and each backend's record
- BackendTrialRecord  one backend in one trial: what it is, what failed, and
                      each suite's part (the record types each suite declares)
- BackendDescription  what a backend said it is (the run's BackendInfo comes from it)
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from harness.results.model import BackendInfo, _freeze
from harness.suites import RECORDS
from harness.results.fields import Fields
from harness.suites.records import TrialRecordError


DECLARED = ("summary", "family", "instance_class", "described_as", "reference", "roles", "cpu_scope",
            "concurrency_modes", "variant_of")  # Backend's class attributes, recorded as they are declared


@dataclass
class BackendDescription:
    """What a backend said it is, in the trial that prepared it: its declared
    attributes (DECLARED), its transport, its versions, and its facts."""

    summary: str = ""
    transport: str = ""
    family: str = ""
    instance_class: str = ""
    described_as: str = ""
    reference: bool = False
    roles: tuple[str, ...] = ()
    versions: Mapping[str, Any] = field(default_factory=dict)
    cpu_scope: str = ""
    concurrency_modes: tuple[str, ...] | None = None
    variant_of: str = ""
    facts: Mapping[str, Any] | None = None  # read when the trial closes

    @classmethod
    def of(cls, backend, versions: Mapping[str, Any]) -> "BackendDescription":
        """A prepared backend's description (its versions read by the caller, who handles a failure)."""
        declared = {name: getattr(backend, name) for name in DECLARED}
        return cls(**{**declared, "roles": tuple(declared["roles"]),
                      "concurrency_modes": tuple(declared["concurrency_modes"])},
                   transport=backend.transport(), versions=versions)

    def info(self, **measured) -> BackendInfo:
        """The run's BackendInfo: what the description shares with it, and what the run measured of it
        (name, available, reason, family_index, failures)."""
        shared = {f.name: getattr(self, f.name) for f in fields(BackendInfo) if hasattr(self, f.name)}
        shared.update(versions=_freeze(dict(self.versions)), facts=_freeze(dict(self.facts or {})))
        return BackendInfo(**shared, **measured)

    def to_json(self) -> dict:
        out = {"summary": self.summary, "transport": self.transport, "family": self.family,
               "instance_class": self.instance_class, "described_as": self.described_as,
               "reference": self.reference, "roles": list(self.roles), "versions": dict(self.versions),
               "cpu_scope": self.cpu_scope,
               "concurrency_modes": None if self.concurrency_modes is None else list(self.concurrency_modes),
               "variant_of": self.variant_of}
        if self.facts is not None:
            out["facts"] = dict(self.facts)
        return out

    @classmethod
    def from_json(cls, raw: object, what: str) -> "BackendDescription":
        f = Fields(raw, what, TrialRecordError)  # an A/B base of an earlier commit may say less: defaults
        return cls(summary=f.str("summary"), transport=f.str("transport"), family=f.str("family"),
                   instance_class=f.str("instance_class"), described_as=f.str("described_as"),
                   reference=f.bool("reference"), roles=f.strs("roles"), versions=f.dict("versions"),
                   cpu_scope=f.str("cpu_scope"),
                   concurrency_modes=f.strs("concurrency_modes") if f.has("concurrency_modes") else None,
                   variant_of=f.str("variant_of"), facts=f.dict("facts") if f.has("facts") else None)


@dataclass
class BackendTrialRecord:
    """One backend in one trial. `info` is None when it was not prepared
    (`unavailable` says why). `parts` holds what each suite measured of it,
    under the suite's record keys (harness/suites/: RECORDS); a suite that did
    not measure it has no part."""

    info: BackendDescription | None = None
    unavailable: str | None = None
    failures: list[str] = field(default_factory=list)  # "suite: error", one per failed measurement
    parts: dict[str, Any] = field(default_factory=dict)

    def part(self, key: str):
        """A suite's record under `key`, or None."""
        return self.parts[key] if key in self.parts else None

    def put(self, key: str, record) -> None:
        if key not in RECORDS:
            raise TrialRecordError(f"no suite records {key!r}")
        self.parts[key] = record

    def timed(self, key: str):
        """The record under `key`, made empty on first use (for records that samples are added to)."""
        if key not in self.parts:
            self.put(key, RECORDS[key]())
        return self.parts[key]

    def to_json(self) -> dict:
        out: dict[str, Any] = {"info": self.info.to_json() if self.info else {}, "unavailable": self.unavailable,
                               "failures": list(self.failures)}
        for key in RECORDS:  # the registry's order
            if key in self.parts:
                out[key] = self.parts[key].to_json()
        return out

    @classmethod
    def from_json(cls, raw: object, what: str) -> "BackendTrialRecord":
        f = Fields(raw, what, TrialRecordError)
        record = cls(info=BackendDescription.from_json(f.dict("info"), f"{what}.info") if f.dict("info") else None,
                     unavailable=f.str("unavailable", None), failures=list(f.strs("failures")))
        for key, kind in RECORDS.items():  # a suite not measured is left out
            if f.value(key):
                record.parts[key] = kind.from_json(f.value(key), f"{what}.{key}")
        return record


@dataclass
class TrialRecord:
    """One trial: what it measured, when and where, and each backend's record."""

    protocol: int
    index: int
    seed: int
    started: str
    finished: str
    backends: dict[str, BackendTrialRecord]
    side: str = ""
    pair: int | None = None
    pid: int | None = None
    load_average_at_start: list[float] = field(default_factory=list)
    suites: dict[str, list[str]] = field(default_factory=dict)  # suite -> backends it measured
    startup_seconds: float | None = None
    suite_seconds: dict[str, float] = field(default_factory=dict)
    suite_errors: list[str] = field(default_factory=list)
    cpu_regimes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"protocol": self.protocol, "index": self.index, "seed": self.seed, "side": self.side,
                "pair": self.pair, "pid": self.pid, "started": self.started, "finished": self.finished,
                "load_average_at_start": list(self.load_average_at_start), "suites": dict(self.suites),
                "startup_seconds": self.startup_seconds, "suite_seconds": dict(self.suite_seconds),
                "suite_errors": list(self.suite_errors), "cpu_regimes": dict(self.cpu_regimes),
                "backends": {name: record.to_json() for name, record in self.backends.items()}}

    @classmethod
    def from_json(cls, raw: object) -> "TrialRecord":
        f = Fields(raw, "trial record", TrialRecordError)
        index = f.int("index", required=True)
        suites = f.sub("suites") or Fields({}, "trial record.suites", TrialRecordError)
        # What a trial process of an earlier commit (an A/B base) may leave out has its default.
        return cls(protocol=f.int("protocol", required=True), index=index, seed=f.int("seed", required=True),
                   started=f.str("started", required=True), finished=f.str("finished", required=True),
                   backends={name: BackendTrialRecord.from_json(data, f"trial {index}, {name}")
                             for name, data in f.dict("backends", required=True).items()},
                   side=f.str("side"), pair=f.int("pair", None), pid=f.int("pid", None),
                   load_average_at_start=list(f.numbers("load_average_at_start")),
                   suites={str(s): list(suites.strs(s)) for s in suites.raw},
                   startup_seconds=f.float("startup_seconds"), suite_seconds=f.floats_by_name("suite_seconds"),
                   suite_errors=list(f.strs("suite_errors")), cpu_regimes=f.dict("cpu_regimes"))
