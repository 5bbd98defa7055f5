"""The record one trial process hands its manager, typed. The trial (its
suites, through harness/measure/trial.py) fills it; `to_json` is what the
process leaves at OUT and what the journal keeps; `TrialRecord.from_json`
reads it back once, checked, and harness/measure/assemble.py merges the
records of every trial into a Run.

- TrialRecord         one trial: when, where, which suites, and each backend's record
- BackendTrialRecord  one backend in one trial: what it is, what failed, its samples per suite
- BackendDescription  what a backend said it is (the run's BackendInfo comes from it)
- ColdStartRecord, FirstInstanceRecord, WarmCallRecord, WarmupRecord, EngineRecord:
  the raw samples of the timed suites, in the units they were read in
- the scale suites keep the results model's own records (MemorySweep,
  DensitySweep, Concurrency), and the steady state its SteadyState
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from harness.results.model import BackendInfo, Concurrency, DensitySweep, MemorySweep, SteadyState, _freeze


class TrialRecordError(ValueError):
    """A trial record that does not have the shape it must (one line)."""


def _floats(raw: object, what: str) -> list[float]:
    if not isinstance(raw, list):
        raise TrialRecordError(f"{what} is not a list")
    return [float(v) for v in raw]


def _phases(raw: object, what: str) -> dict[str, list[float]]:
    if not isinstance(raw, Mapping):
        raise TrialRecordError(f"{what} is not an object")
    return {str(phase): _floats(values, f"{what}.{phase}") for phase, values in raw.items()}


def _mapping(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise TrialRecordError(f"{what} is not an object")
    return raw


@dataclass
class ColdStartRecord:
    """One CPU regime's cold starts: seconds of wall and CPU time (CPU None:
    the backend cannot tell), each phase's milliseconds, the answers seen."""

    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] | None = field(default_factory=list)
    phases_ms: dict[str, list[float]] = field(default_factory=dict)
    answers: list[str] = field(default_factory=list)

    def add(self, sample) -> None:
        """One start (harness.measure.procedures.ColdSample)."""
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
        raw = _mapping(raw, what)  # written by this commit's trial process or, in an A/B run, the base's
        cpu = raw.get("cpu_s")
        return cls(wall_s=_floats(raw["wall_s"], f"{what}.wall_s"),
                   cpu_s=None if cpu is None else _floats(cpu, f"{what}.cpu_s"),
                   phases_ms=_phases(raw.get("phases_ms") or {}, f"{what}.phases_ms"),
                   answers=[str(a) for a in raw.get("answers") or []])


@dataclass
class FirstInstanceRecord:
    """The first instance in a fresh process: milliseconds, phases, the USS it added."""

    total_ms: list[float] = field(default_factory=list)
    phases_ms: dict[str, list[float]] = field(default_factory=dict)
    uss_growth_bytes: list[float] = field(default_factory=list)
    timer: str = ""

    def add(self, probe: Mapping[str, Any]) -> None:
        """One probe's answer (the JSON a first-instance probe process printed)."""
        self.total_ms.append(float(probe["total_ms"]))
        self.uss_growth_bytes.append(float(probe.get("uss_growth_bytes") or 0))
        self.timer = probe.get("timer", "")
        for phase, value in (probe.get("phases_ms") or {}).items():
            self.phases_ms.setdefault(phase, []).append(float(value))

    def to_json(self) -> dict:
        return {"total_ms": self.total_ms, "phases_ms": self.phases_ms, "uss_growth_bytes": self.uss_growth_bytes,
                "timer": self.timer}

    @classmethod
    def from_json(cls, raw: object, what: str) -> "FirstInstanceRecord":
        raw = _mapping(raw, what)
        return cls(total_ms=_floats(raw["total_ms"], f"{what}.total_ms"),
                   phases_ms=_phases(raw.get("phases_ms") or {}, f"{what}.phases_ms"),
                   uss_growth_bytes=_floats(raw.get("uss_growth_bytes") or [], f"{what}.uss_growth_bytes"),
                   timer=str(raw.get("timer") or ""))


@dataclass
class WarmCallRecord:
    """One CPU regime's timed warm calls and transport pings, in nanoseconds."""

    call_ns: list[int] = field(default_factory=list)
    ping_ns: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"call_ns": self.call_ns, "ping_ns": self.ping_ns}

    @classmethod
    def from_json(cls, raw: object, what: str) -> "WarmCallRecord":
        raw = _mapping(raw, what)
        return cls(call_ns=list(raw["call_ns"]), ping_ns=list(raw["ping_ns"]))


@dataclass
class WarmupRecord:
    """The warm-up calls before the timed blocks, in one CPU regime, and whether they settled."""

    call_ns: list[int]
    settled: bool
    regime: str

    def to_json(self) -> dict:
        return {"call_ns": self.call_ns, "settled": self.settled, "regime": self.regime}

    @classmethod
    def from_json(cls, raw: object, what: str) -> "WarmupRecord":
        raw = _mapping(raw, what)
        return cls(call_ns=list(raw["call_ns"]), settled=bool(raw.get("settled")),
                   regime=str(raw.get("regime") or "idle"))


@dataclass
class EngineRecord:
    """Time inside the engine: the handler alone and the bare loop, per measurement."""

    handler_ns: list[float] = field(default_factory=list)
    loop_ns: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    clock: str = ""
    clock_resolution_ns: float | None = None

    def add(self, result: Mapping[str, Any]) -> None:
        """One in-engine measurement (the engine's own JSON)."""
        self.handler_ns.append(float(result["handler_ns"]))
        self.loop_ns.append(float(result["loop_ns"]))
        self.calls.append(int(result["calls"]))
        self.clock = result.get("clock") or ""
        step = result.get("clock_resolution_ns")
        if step is not None:
            known = self.clock_resolution_ns
            self.clock_resolution_ns = float(step) if known is None else max(known, float(step))

    def to_json(self) -> dict:
        return {"handler_ns": self.handler_ns, "loop_ns": self.loop_ns, "calls": self.calls, "clock": self.clock,
                "clock_resolution_ns": self.clock_resolution_ns}

    @classmethod
    def from_json(cls, raw: object, what: str) -> "EngineRecord":
        raw = _mapping(raw, what)
        step = raw.get("clock_resolution_ns")
        return cls(handler_ns=_floats(raw["handler_ns"], f"{what}.handler_ns"),
                   loop_ns=_floats(raw["loop_ns"], f"{what}.loop_ns"), calls=[int(c) for c in raw.get("calls") or []],
                   clock=str(raw.get("clock") or ""), clock_resolution_ns=None if step is None else float(step))


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
        raw = _mapping(raw, what)  # an A/B base of an earlier commit may say less: defaults
        modes, facts = raw.get("concurrency_modes"), raw.get("facts")
        return cls(summary=str(raw.get("summary") or ""), transport=str(raw.get("transport") or ""),
                   family=str(raw.get("family") or ""), instance_class=str(raw.get("instance_class") or ""),
                   described_as=str(raw.get("described_as") or ""), reference=bool(raw.get("reference")),
                   roles=tuple(str(r) for r in raw.get("roles") or ()), versions=dict(raw.get("versions") or {}),
                   cpu_scope=str(raw.get("cpu_scope") or ""),
                   concurrency_modes=None if modes is None else tuple(str(m) for m in modes),
                   variant_of=str(raw.get("variant_of") or ""), facts=None if facts is None else dict(facts))


TIMED = {  # key in the record -> its record type
    "cold_start": ColdStartRecord, "cold_start_awake": ColdStartRecord, "first_instance": FirstInstanceRecord,
    "warm_call": WarmCallRecord, "warm_call_awake": WarmCallRecord, "warmup": WarmupRecord, "engine": EngineRecord,
}
SCALE = {"memory": MemorySweep, "density": DensitySweep, "concurrency": Concurrency}


@dataclass
class BackendTrialRecord:
    """One backend in one trial. `info` is None when it was not prepared
    (`unavailable` says why); a suite it was not measured in is None."""

    info: BackendDescription | None = None
    unavailable: str | None = None
    failures: list[str] = field(default_factory=list)  # "suite: error", one per failed measurement
    cold_start: ColdStartRecord | None = None
    cold_start_awake: ColdStartRecord | None = None
    first_instance: FirstInstanceRecord | None = None
    warm_call: WarmCallRecord | None = None
    warm_call_awake: WarmCallRecord | None = None
    warmup: WarmupRecord | None = None
    engine: EngineRecord | None = None
    steady_state: list[SteadyState] = field(default_factory=list)
    memory: MemorySweep | None = None
    density: DensitySweep | None = None
    concurrency: Concurrency | None = None

    def timed(self, key: str):
        """The record of a sampled suite (cold_start*, first_instance, warm_call*, engine), made on first use."""
        found = getattr(self, key)
        if found is None:
            found = TIMED[key]()
            setattr(self, key, found)
        return found

    def to_json(self) -> dict:
        out: dict[str, Any] = {"info": self.info.to_json() if self.info else {}, "unavailable": self.unavailable,
                               "failures": list(self.failures)}
        for key in TIMED:
            value = getattr(self, key)
            if value is not None:
                out[key] = value.to_json()
        if self.steady_state:
            out["steady_state"] = [state.to_json() for state in self.steady_state]
        for key in SCALE:
            value = getattr(self, key)
            if value is not None:
                out[key] = value.to_json()
        return out

    @classmethod
    def from_json(cls, raw: object, what: str) -> "BackendTrialRecord":
        raw = _mapping(raw, what)
        info = raw.get("info")
        record = cls(info=BackendDescription.from_json(info, f"{what}.info") if info else None,
                     unavailable=raw.get("unavailable"), failures=[str(f) for f in raw.get("failures") or []],
                     steady_state=[SteadyState.from_json(s, f"{what}.steady_state")
                                   for s in (raw["steady_state"] if "steady_state" in raw else [])])
        for key, kind in (*TIMED.items(), *SCALE.items()):  # a suite not measured is left out
            if key in raw and raw[key]:
                setattr(record, key, kind.from_json(raw[key], f"{what}.{key}"))
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
        raw = _mapping(raw, "trial record")
        try:
            index = int(raw["index"])
            # What a trial process of an earlier commit (an A/B base) may leave out has its default.
            return cls(protocol=int(raw["protocol"]), index=index, seed=int(raw["seed"]),
                       started=str(raw["started"]), finished=str(raw["finished"]),
                       backends={name: BackendTrialRecord.from_json(data, f"trial {index}, {name}")
                                 for name, data in _mapping(raw["backends"], "backends").items()},
                       side=str(raw.get("side") or ""), pair=raw.get("pair"), pid=raw.get("pid"),
                       load_average_at_start=[float(v) for v in raw.get("load_average_at_start") or []],
                       suites={str(s): list(names) for s, names in (raw.get("suites") or {}).items()},
                       startup_seconds=raw.get("startup_seconds"),
                       suite_seconds={str(s): float(v) for s, v in (raw.get("suite_seconds") or {}).items()},
                       suite_errors=[str(e) for e in raw.get("suite_errors") or []],
                       cpu_regimes=dict(raw.get("cpu_regimes") or {}))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise TrialRecordError(f"trial record: {error.__class__.__name__}: {error}") from None
