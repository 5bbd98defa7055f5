"""The results model: frozen dataclasses for everything a run records, with
trials in it, and their versioned JSON.

A run is T trials; each trial is a fresh worker process that measured every
selected backend. Every sample keeps the id of the trial it came from
(`Series.trials`), so that analysis can resample trials, then samples.

On disk a run is pytest-benchmark's JSON (so `pytest-benchmark compare`
reads it): one benchmark per (suite, backend) with the raw samples in
`stats.data`, the suite's typed record in `extra_info`, machine facts under
`machine_info.isobench` and the run record under the top-level key
`isobench`. `to_json` and `from_json` are exact inverses; files written by
isobench 1 (schema isobench/1, no trials) load through `migrate_v1`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Iterable, Mapping

import numpy as np

from harness.results.vocabulary import REGIMES, STEADY_CLASSES

from harness.results.migrate import migrate_v1
from harness.results.at_scale import SWEEP_RECORDS
from harness.results.fields import Fields as _Fields
from harness.results.schema import LEGACY_SCHEMA, SCHEMA, WORKLOADS_SCHEMA, ResultsError  # noqa: F401


# ---------------------------------------------------------------- reading helpers

def _freeze(value: Any) -> Any:
    """Plain JSON data as a hashable, immutable value (tuples for lists)."""
    if isinstance(value, dict):
        return FrozenMap({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The plain JSON data of a frozen value (dicts and lists again)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


class FrozenMap(Mapping):
    """An immutable mapping for free-form recorded facts (versions, backend facts)."""

    def __init__(self, data: Mapping | None = None):
        self._data = dict(data or {})

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __hash__(self):
        return hash(tuple(sorted((k, repr(v)) for k, v in self._data.items())))

    def __eq__(self, other):
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    def __repr__(self):
        return f"FrozenMap({self._data!r})"


def _round(value: float) -> float:
    """Samples are stored to 1 ns (seconds) or 1 byte precision: compact, and far below any resolution."""
    return round(value, 9)


# ---------------------------------------------------------------- samples

@dataclass(frozen=True)
class Series:
    """Samples of one figure, each with the trial it came from."""

    values: tuple[float, ...]
    trials: tuple[int, ...]

    def __post_init__(self):
        if len(self.values) != len(self.trials):
            raise ResultsError(f"a series has {len(self.values)} values but {len(self.trials)} trial ids")

    @staticmethod
    def of(values: Iterable[float], trial: int) -> "Series":
        values = tuple(float(v) for v in values)
        return Series(values, (trial,) * len(values))

    @staticmethod
    def join(parts: Iterable["Series"]) -> "Series":
        values: list[float] = []
        trials: list[int] = []
        for part in parts:
            values += part.values
            trials += part.trials
        return Series(tuple(values), tuple(trials))

    def __len__(self) -> int:
        return len(self.values)

    def __bool__(self) -> bool:
        return bool(self.values)

    def array(self, scale: float = 1.0) -> np.ndarray:
        return np.asarray(self.values, dtype=float) * scale

    def groups(self, scale: float = 1.0) -> dict[int, np.ndarray]:
        """Samples by trial id, in trial order."""
        data, ids = self.array(scale), np.asarray(self.trials)
        return {int(t): data[ids == t] for t in sorted(set(self.trials))}

    @property
    def trial_ids(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.trials)))

    def only(self, trials: Iterable[int]) -> "Series":
        keep = set(trials)
        pairs = [(v, t) for v, t in zip(self.values, self.trials) if t in keep]
        return Series(tuple(v for v, _ in pairs), tuple(t for _, t in pairs))

    def relabel(self, mapping: Mapping[int, int]) -> "Series":
        return Series(self.values, tuple(mapping[t] for t in self.trials))

    def to_json(self) -> dict:
        return {"values": [_round(v) for v in self.values], "trials": list(self.trials)}

    @staticmethod
    def from_json(raw: object, where: str) -> "Series":
        f = _Fields(raw, where)
        return Series(f.numbers("values", True), f.ints("trials", True))


# ---------------------------------------------------------------- what a run is made of

@dataclass(frozen=True)
class Stopping:
    """When a run stops sampling: at least min_trials trials, then until every
    figure is known (its interval's half-width at most target_half_width of
    its value), max_trials are done, or the budget (the whole run, trials and
    their start-up included) is spent."""

    min_trials: int = 3
    max_trials: int = 3
    budget_s: float = 180.0
    target_half_width: float = 0.03

    def __post_init__(self):
        if self.min_trials < 1 or self.max_trials < self.min_trials:
            raise ValueError("need 1 <= min_trials <= max_trials")


@dataclass(frozen=True)
class Profile:
    """How much a run measures: which suites, when sampling stops, the CPU
    regimes of the timed blocks, and each suite's settings. The settings are
    declared by the suites (Suite.Settings, harness/suites/) and kept here
    under the names results files record them by; a suite reads its own
    typed (Suite.settings). In a results file the profile is one flat object."""

    name: str
    description: str = ""
    suites: tuple[str, ...] = ()
    stopping: Stopping = Stopping()
    # CPU regimes of the cold-start and warm-call blocks (harness/procedures/cpu_regime.py), interleaved in each trial.
    regimes: tuple[str, ...] = ("idle", "awake")
    settings: FrozenMap = FrozenMap()  # setting name -> value, every suite's

    def __post_init__(self):
        if "idle" not in self.regimes or set(self.regimes) - set(REGIMES):
            raise ValueError(f"profile {self.name}: regimes must include idle and be among {', '.join(REGIMES)}")

    def to_json(self) -> dict:
        out: dict[str, Any] = {"name": self.name, "description": self.description, "suites": list(self.suites)}
        for item in fields(Stopping):
            out[item.name] = getattr(self.stopping, item.name)
        for key, value in self.settings.items():
            out[key] = list(value) if isinstance(value, tuple) else value
        out["regimes"] = list(self.regimes)
        return out

    @staticmethod
    def from_json(raw: object, where: str) -> "Profile":
        f = _Fields(raw, where)
        if "name" not in f.raw:
            raise ResultsError(f"{where}: missing 'name'")
        own, stopping, settings = {}, {}, {}
        for key, value in f.raw.items():
            value = tuple(value) if isinstance(value, list) else value
            if value is None and (key in STOPPING_FIELDS or key in ("name", "description", "suites", "regimes")):
                continue
            if key in ("name", "description", "suites", "regimes"):
                own[key] = value
            elif key in STOPPING_FIELDS:
                stopping[key] = value
            else:
                settings[key] = value
        try:
            return Profile(**own, stopping=Stopping(**stopping), settings=FrozenMap(settings))
        except (TypeError, ValueError) as error:
            raise ResultsError(f"{where}: {error}") from None


STOPPING_FIELDS = tuple(item.name for item in fields(Stopping))


@dataclass(frozen=True)
class Provenance:
    """Recorded when the run starts, before any trial."""

    started: str
    commit: str | None = None
    branch: str | None = None
    dirty: bool = False
    load_average: tuple[float, ...] = ()
    harness_version: str = ""
    recorded_at_start: bool = True  # False for files that recorded it at the end (isobench 1)

    def to_json(self) -> dict:
        return {"started": self.started, "commit": self.commit, "branch": self.branch, "dirty": self.dirty,
                "load_average": list(self.load_average), "harness_version": self.harness_version,
                "recorded_at_start": self.recorded_at_start}

    @staticmethod
    def from_json(raw: object, where: str) -> "Provenance":
        f = _Fields(raw, where)
        return Provenance(started=f.str("started", required=True), commit=f.str("commit", None),
                          branch=f.str("branch", None), dirty=f.bool("dirty"),
                          load_average=f.numbers("load_average"), harness_version=f.str("harness_version"),
                          recorded_at_start=f.bool("recorded_at_start", True))


@dataclass(frozen=True)
class Machine:
    cpu_model: str = "unknown"
    cpu_count: int = 0
    affinity: tuple[int, ...] = ()
    kernel: str = ""
    os: str = ""
    python: str = ""
    python_implementation: str = ""
    memory_total_bytes: int | None = None
    hostname: str = ""
    virtualization: FrozenMap = field(default_factory=FrozenMap)  # how this machine is virtualised, if it is
    timer: FrozenMap = field(default_factory=FrozenMap)  # the harness timer's resolution and read cost
    cpu_idle: FrozenMap = field(default_factory=FrozenMap)  # cpuidle driver, governor, states, halt-poll settings

    @property
    def identity(self) -> dict[str, object]:
        """The facts that make two machines the same kind for absolute figures
        (a baseline set belongs to one): CPU model, cores, memory in whole GiB
        (MemTotal moves by a few hundred KiB between boots), and the kernel
        build. Unknown facts are left out."""
        found = {"cpu model": self.cpu_model if self.cpu_model != "unknown" else None,
                 "cores": self.cpu_count or None,
                 "memory GiB": round(self.memory_total_bytes / (1 << 30)) if self.memory_total_bytes else None,
                 "kernel": self.kernel or None}
        return {key: value for key, value in found.items() if value is not None}

    def to_json(self) -> dict:
        return {"cpu_model": self.cpu_model, "cpu_count": self.cpu_count, "affinity": list(self.affinity),
                "kernel": self.kernel, "os": self.os, "python": self.python,
                "python_implementation": self.python_implementation, "memory_total_bytes": self.memory_total_bytes,
                "hostname": self.hostname, "virtualization": thaw(self.virtualization), "timer": thaw(self.timer),
                "cpu_idle": thaw(self.cpu_idle)}

    @staticmethod
    def from_json(raw: object, where: str) -> "Machine":
        f = _Fields(raw, where)
        return Machine(cpu_model=f.str("cpu_model", "unknown"), cpu_count=f.int("cpu_count", 0),
                       affinity=f.ints("affinity"), kernel=f.str("kernel"), os=f.str("os"), python=f.str("python"),
                       python_implementation=f.str("python_implementation"),
                       memory_total_bytes=f.int("memory_total_bytes", None), hostname=f.str("hostname"),
                       virtualization=_freeze(f.dict("virtualization")), timer=_freeze(f.dict("timer")),
                       cpu_idle=_freeze(f.dict("cpu_idle")))


@dataclass(frozen=True)
class WorkerInfo:
    path: str
    sha256: str
    bytes: int
    workload: str = ""  # the workload's name (workloads/NAME); "custom" for a file of the user's
    form: str = "handler"  # "handler" (export function handler) or "module" (export default { fetch })

    @property
    def name(self) -> str:
        return self.workload or "custom"

    def to_json(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "bytes": self.bytes, "workload": self.workload,
                "form": self.form}

    @staticmethod
    def from_json(raw: object, where: str) -> "WorkerInfo":
        f = _Fields(raw, where)
        path = f.str("path", "?")
        # Files from before workloads were named: the hello worker is the hello workload.
        implied = "hello" if path.endswith("workloads/hello/worker.js") else ""
        return WorkerInfo(path, f.str("sha256", ""), f.int("bytes", 0), f.str("workload", implied),
                          f.str("form", "handler"))


@dataclass(frozen=True)
class Conditions:
    """What the run controlled: pinning, the child environment, the container base image."""

    pinned_cpus: tuple[int, ...] | None = None
    base_image: str | None = None
    child_environment: FrozenMap = field(default_factory=FrozenMap)

    def to_json(self) -> dict:
        return {"pinned_cpus": list(self.pinned_cpus) if self.pinned_cpus is not None else None,
                "base_image": self.base_image, "child_environment": thaw(self.child_environment)}

    @staticmethod
    def from_json(raw: object, where: str) -> "Conditions":
        f = _Fields(raw, where)
        pinned = f.value("pinned_cpus")
        return Conditions(pinned_cpus=f.ints("pinned_cpus") if pinned is not None else None,
                          base_image=f.str("base_image", None), child_environment=_freeze(f.dict("child_environment")))


@dataclass(frozen=True)
class BackendInfo:
    """What a backend is, as it described itself when the run measured it."""

    name: str
    available: bool
    reason: str = ""
    summary: str = ""
    transport: str = ""
    family: str = ""
    family_index: int = 0  # its position among the registered backends of its family (colours)
    instance_class: str = ""
    described_as: str = ""  # how a sentence names it: "a V8 isolate", "a Docker container"
    reference: bool = False  # ratios are every other backend over this one
    roles: tuple[str, ...] = ()  # what it stands for in published figures (vocabulary.ROLES)
    versions: FrozenMap = field(default_factory=FrozenMap)
    facts: FrozenMap = field(default_factory=FrozenMap)  # measured once, outside the rounds
    failures: tuple[str, ...] = ()  # one line per failed measurement ("suite: error")
    # How it serves concurrent callers; () declares none; None: not recorded (older files).
    concurrency_modes: tuple[str, ...] | None = None
    variant_of: str = ""  # the backend this one is a variant of (Backend.variant_of)

    def to_json(self) -> dict:
        return {"name": self.name, "available": self.available, "reason": self.reason, "summary": self.summary,
                "transport": self.transport, "family": self.family, "family_index": self.family_index,
                "instance_class": self.instance_class, "described_as": self.described_as,
                "reference": self.reference, "roles": list(self.roles), "versions": thaw(self.versions),
                "facts": thaw(self.facts),
                "failures": list(self.failures),
                "concurrency_modes": None if self.concurrency_modes is None else list(self.concurrency_modes),
                "variant_of": self.variant_of}

    @staticmethod
    def from_json(raw: object, where: str) -> "BackendInfo":
        f = _Fields(raw, where)
        return BackendInfo(name=f.str("name", required=True), available=f.bool("available"), reason=f.str("reason"),
                           summary=f.str("summary"), transport=f.str("transport"), family=f.str("family"),
                           family_index=f.int("family_index", 0), instance_class=f.str("instance_class"),
                           described_as=f.str("described_as"), reference=f.bool("reference"),
                           roles=tuple(str(r) for r in f.list("roles")),
                           versions=_freeze(f.dict("versions")), facts=_freeze(f.dict("facts")),
                           failures=tuple(str(x) for x in f.list("failures")),
                           concurrency_modes=None if f.value("concurrency_modes") is None
                           else tuple(str(m) for m in f.list("concurrency_modes")),
                           variant_of=f.str("variant_of"))


@dataclass(frozen=True)
class TrialInfo:
    """One trial: a fresh worker process. A lost trial (the process died) keeps its cause."""

    index: int
    status: str  # "complete" or "lost"
    cause: str = ""
    started: str = ""
    finished: str = ""
    pid: int | None = None
    seed: int = 0
    load_average_at_start: tuple[float, ...] = ()
    suites: FrozenMap = field(default_factory=FrozenMap)  # suite -> backends it measured
    side: str = ""  # A/B runs: which version ("base" or "head")
    pair: int | None = None  # A/B runs: trials of the two versions that ran back to back share it
    startup_s: float | None = None  # process start to the backends prepared
    suite_seconds: FrozenMap = field(default_factory=FrozenMap)  # how long each suite took
    cpu_regimes: FrozenMap = field(default_factory=FrozenMap)  # {"measured": [...], "awake": how, or why not}

    def to_json(self) -> dict:
        return {"index": self.index, "status": self.status, "cause": self.cause, "started": self.started,
                "finished": self.finished, "pid": self.pid, "seed": self.seed,
                "load_average_at_start": list(self.load_average_at_start), "suites": thaw(self.suites),
                "side": self.side, "pair": self.pair, "startup_s": self.startup_s,
                "suite_seconds": dict(self.suite_seconds), "cpu_regimes": thaw(self.cpu_regimes)}

    @staticmethod
    def from_json(raw: object, where: str) -> "TrialInfo":
        f = _Fields(raw, where)
        status = f.str("status", required=True)
        if status not in ("complete", "lost"):
            raise ResultsError(f"{where}.status: expected complete or lost, found {status!r}")
        return TrialInfo(index=f.int("index", required=True), status=status, cause=f.str("cause"),
                         started=f.str("started"), finished=f.str("finished"), pid=f.int("pid", None),
                         seed=f.int("seed", 0), load_average_at_start=f.numbers("load_average_at_start"),
                         suites=_freeze(f.dict("suites")), side=f.str("side"), pair=f.int("pair", None),
                         startup_s=f.float("startup_s"), suite_seconds=FrozenMap(f.dict("suite_seconds")),
                         cpu_regimes=_freeze(f.dict("cpu_regimes")))


# ---------------------------------------------------------------- per-suite records

@dataclass(frozen=True)
class ColdStart:
    wall: Series  # seconds
    cpu: Series | None = None  # seconds of CPU time; None where the backend cannot tell
    cpu_scope: str = ""
    phases: FrozenMap = field(default_factory=FrozenMap)  # phase -> Series (seconds)
    answers: tuple[str, ...] = ()
    timer: str = ""

    def to_json(self) -> dict:
        return {"cpu": self.cpu.to_json() if self.cpu else None, "cpu_scope": self.cpu_scope,
                "phases": {name: series.to_json() for name, series in self.phases.items()},
                "answers": list(self.answers), "timer": self.timer}

    @staticmethod
    def from_json(wall: Series, raw: object, where: str) -> "ColdStart":
        f = _Fields(raw, where)
        cpu = f.value("cpu")
        return ColdStart(wall=wall, cpu=Series.from_json(cpu, f"{where}.cpu") if cpu is not None else None,
                         cpu_scope=f.str("cpu_scope"),
                         phases=FrozenMap({name: Series.from_json(value, f"{where}.phases.{name}")
                                           for name, value in f.dict("phases").items()}),
                         answers=tuple(str(a) for a in f.list("answers")), timer=f.str("timer"))


@dataclass(frozen=True)
class FirstInstance:
    """The first isolate of a fresh process (engine library load and platform start included)."""

    total: Series  # seconds, timed inside the fresh interpreter
    phases: FrozenMap = field(default_factory=FrozenMap)  # phase -> Series (seconds)
    uss_growth_bytes: Series | None = None
    timer: str = ""

    def to_json(self) -> dict:
        return {"total": self.total.to_json(), "phases": {k: v.to_json() for k, v in self.phases.items()},
                "uss_growth_bytes": self.uss_growth_bytes.to_json() if self.uss_growth_bytes else None,
                "timer": self.timer}

    @staticmethod
    def from_json(raw: object, where: str) -> "FirstInstance":
        f = _Fields(raw, where)
        uss = f.value("uss_growth_bytes")
        return FirstInstance(total=Series.from_json(f.value("total"), f"{where}.total"),
                             phases=FrozenMap({k: Series.from_json(v, f"{where}.phases.{k}")
                                               for k, v in f.dict("phases").items()}),
                             uss_growth_bytes=Series.from_json(uss, f"{where}.uss_growth_bytes") if uss else None,
                             timer=f.str("timer"))


@dataclass(frozen=True)
class EngineTime:
    """The handler's own time in the engine, per trial loop (ns per call)."""

    handler_ns: Series  # the loop with the handler, per call
    loop_ns: Series  # the same loop with the handler replaced by identity, per call
    clock: str = ""
    clock_resolution_ns: float | None = None  # the JS clock's step, as measured in the engine
    calls: tuple[int, ...] = ()

    def net(self) -> Series:
        """Handler minus loop, per loop (same trial ids)."""
        return Series(tuple(h - b for h, b in zip(self.handler_ns.values, self.loop_ns.values)),
                      self.handler_ns.trials)

    def to_json(self) -> dict:
        return {"handler_ns": self.handler_ns.to_json(), "loop_ns": self.loop_ns.to_json(), "clock": self.clock,
                "clock_resolution_ns": self.clock_resolution_ns, "calls": list(self.calls)}

    @staticmethod
    def from_json(raw: object, where: str) -> "EngineTime":
        f = _Fields(raw, where)
        return EngineTime(handler_ns=Series.from_json(f.value("handler_ns"), f"{where}.handler_ns"),
                          loop_ns=Series.from_json(f.value("loop_ns"), f"{where}.loop_ns"), clock=f.str("clock"),
                          clock_resolution_ns=f.float("clock_resolution_ns"), calls=f.ints("calls"))


@dataclass(frozen=True)
class MemoryStep:
    n: int
    total_bytes: FrozenMap  # kind -> growth over the baseline with n instances alive


@dataclass(frozen=True)
class MemorySweep:
    """One trial's sweep: N instances held alive at once, for growing N."""

    trial: int
    counts: tuple[int, ...]
    steps: tuple[MemoryStep, ...]
    baseline_bytes: FrozenMap = field(default_factory=FrozenMap)
    scopes: FrozenMap = field(default_factory=FrozenMap)  # kind -> whose memory it is, in words
    settle_s: float = 0.0
    duration_s: float = 0.0

    @property
    def largest_n(self) -> int:
        return self.steps[-1].n if self.steps else 0

    def per_instance(self) -> dict[str, float]:
        """kind -> growth / N at the largest N."""
        if not self.steps:
            return {}
        last = self.steps[-1]
        return {kind: value / last.n for kind, value in last.total_bytes.items()}

    def slope(self) -> dict[str, float]:
        """kind -> least-squares growth per added instance over the steps with N >= 2."""
        shared = [s for s in self.steps if s.n >= 2]
        if len({s.n for s in shared}) < 2:
            return {}
        out = {}
        for kind in shared[-1].total_bytes:
            points = [(s.n, s.total_bytes[kind]) for s in shared if kind in s.total_bytes]
            if len({n for n, _ in points}) >= 2:
                out[kind] = float(np.polyfit([n for n, _ in points], [t for _, t in points], 1)[0])
        return out

    def to_json(self) -> dict:
        return {"trial": self.trial, "counts": list(self.counts),
                "steps": [{"n": s.n, "total_bytes": dict(s.total_bytes)} for s in self.steps],
                "baseline_bytes": dict(self.baseline_bytes), "scopes": dict(self.scopes), "settle_s": self.settle_s,
                "duration_s": self.duration_s}

    @staticmethod
    def from_json(raw: object, where: str) -> "MemorySweep":
        f = _Fields(raw, where)
        steps = []
        for i, step in enumerate(f.list("steps")):
            s = _Fields(step, f"{where}.steps[{i}]")
            totals = s.dict("total_bytes")
            if not all(isinstance(v, (int, float)) for v in totals.values()):
                raise ResultsError(f"{where}.steps[{i}].total_bytes: expected numbers")
            steps.append(MemoryStep(s.int("n", required=True), FrozenMap({k: float(v) for k, v in totals.items()})))
        return MemorySweep(trial=f.int("trial", 0), counts=f.ints("counts"), steps=tuple(steps),
                           baseline_bytes=FrozenMap(f.dict("baseline_bytes")), scopes=FrozenMap(f.dict("scopes")),
                           settle_s=f.float("settle_s", 0.0), duration_s=f.float("duration_s", 0.0))


@dataclass(frozen=True)
class Memory:
    sweeps: tuple[MemorySweep, ...]

    def per_instance(self, kind: str) -> Series:
        """Growth / N at each trial's largest N, one value per trial."""
        pairs = [(s.per_instance()[kind], s.trial) for s in self.sweeps if kind in s.per_instance()]
        return Series(tuple(v for v, _ in pairs), tuple(t for _, t in pairs))

    def slope(self, kind: str) -> Series:
        pairs = [(s.slope()[kind], s.trial) for s in self.sweeps if kind in s.slope()]
        return Series(tuple(v for v, _ in pairs), tuple(t for _, t in pairs))

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for s in self.sweeps for k in s.per_instance()))

    @property
    def scopes(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for sweep in self.sweeps:
            out.update(sweep.scopes)
        return out

    @property
    def largest_n(self) -> int:
        return max((s.largest_n for s in self.sweeps), default=0)


@dataclass(frozen=True)
class DensityStep:
    n: int
    total_bytes: FrozenMap
    read_s: float = 0.0
    elapsed_s: float = 0.0
    mem_available_bytes: int | None = None


@dataclass(frozen=True)
class DensitySweep:
    """One backend's density sweep: memory against N live instances until the ladder ends or a limit stops it."""

    trial: int
    instance_class: str
    ladder: tuple[int, ...]
    steps: tuple[DensityStep, ...]
    stopped_because: str
    stopped_early: bool
    budget_s: float = 0.0
    memory_floor: float = 0.0
    task_ceiling: float = 0.0
    settle_s: float = 0.0
    baseline_bytes: FrozenMap = field(default_factory=FrozenMap)
    scopes: FrozenMap = field(default_factory=FrozenMap)
    growth_s: float = 0.0
    teardown_s: float = 0.0
    start_s_per_instance: float | None = None
    machine_at_start: FrozenMap = field(default_factory=FrozenMap)

    @property
    def max_n_reached(self) -> int:
        return self.steps[-1].n if self.steps else 0

    def to_json(self) -> dict:
        return {"trial": self.trial, "instance_class": self.instance_class, "ladder": list(self.ladder),
                "steps": [{"n": s.n, "total_bytes": dict(s.total_bytes), "read_s": s.read_s,
                           "elapsed_s": s.elapsed_s, "mem_available_bytes": s.mem_available_bytes}
                          for s in self.steps],
                "stopped_because": self.stopped_because, "stopped_early": self.stopped_early,
                "budget_s": self.budget_s, "memory_floor": self.memory_floor, "task_ceiling": self.task_ceiling,
                "settle_s": self.settle_s, "baseline_bytes": dict(self.baseline_bytes), "scopes": dict(self.scopes),
                "growth_s": self.growth_s, "teardown_s": self.teardown_s,
                "start_s_per_instance": self.start_s_per_instance, "machine_at_start": thaw(self.machine_at_start)}

    @staticmethod
    def from_json(raw: object, where: str) -> "DensitySweep":
        f = _Fields(raw, where)
        steps = []
        for i, step in enumerate(f.list("steps")):
            s = _Fields(step, f"{where}.steps[{i}]")
            steps.append(DensityStep(n=s.int("n", required=True),
                                     total_bytes=FrozenMap({k: float(v) for k, v in s.dict("total_bytes").items()}),
                                     read_s=s.float("read_s", 0.0), elapsed_s=s.float("elapsed_s", 0.0),
                                     mem_available_bytes=s.int("mem_available_bytes", None)))
        return DensitySweep(trial=f.int("trial", 0), instance_class=f.str("instance_class", "process"),
                            ladder=f.ints("ladder"), steps=tuple(steps),
                            stopped_because=f.str("stopped_because"), stopped_early=f.bool("stopped_early"),
                            budget_s=f.float("budget_s", 0.0), memory_floor=f.float("memory_floor", 0.0),
                            task_ceiling=f.float("task_ceiling", 0.0), settle_s=f.float("settle_s", 0.0),
                            baseline_bytes=FrozenMap(f.dict("baseline_bytes")), scopes=FrozenMap(f.dict("scopes")),
                            growth_s=f.float("growth_s", 0.0), teardown_s=f.float("teardown_s", 0.0),
                            start_s_per_instance=f.float("start_s_per_instance"),
                            machine_at_start=_freeze(f.dict("machine_at_start")))


@dataclass(frozen=True)
class ConcurrencyLevel:
    callers: int
    latencies_ns: tuple[int, ...]
    calls_per_caller: tuple[int, ...]
    window_s: float
    error: str | None = None


@dataclass(frozen=True)
class ConcurrencyMode:
    mode: str
    levels: tuple[ConcurrencyLevel, ...]
    question: str = ""
    callers_are: str = ""
    duration_s: float = 0.0
    warmup_calls: int = 0
    max_calls_per_level: int = 0
    cores: int = 0
    note: str = ""
    answer: str | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return {"mode": self.mode, "question": self.question, "callers_are": self.callers_are,
                "levels": [{"callers": lv.callers, "latencies_ns": list(lv.latencies_ns),
                            "calls_per_caller": list(lv.calls_per_caller), "window_s": lv.window_s,
                            "error": lv.error} for lv in self.levels],
                "duration_s": self.duration_s, "warmup_calls": self.warmup_calls,
                "max_calls_per_level": self.max_calls_per_level, "cores": self.cores, "note": self.note,
                "answer": self.answer, "error": self.error}

    @staticmethod
    def from_json(raw: object, where: str) -> "ConcurrencyMode":
        f = _Fields(raw, where)
        levels = []
        for i, level in enumerate(f.list("levels")):
            lv = _Fields(level, f"{where}.levels[{i}]")
            levels.append(ConcurrencyLevel(callers=lv.int("callers", required=True),
                                           latencies_ns=tuple(int(x) for x in lv.numbers("latencies_ns")),
                                           calls_per_caller=lv.ints("calls_per_caller"),
                                           window_s=lv.float("window_s", 0.0), error=lv.str("error", None)))
        return ConcurrencyMode(mode=f.str("mode", required=True), levels=tuple(levels), question=f.str("question"),
                               callers_are=f.str("callers_are"), duration_s=f.float("duration_s", 0.0),
                               warmup_calls=f.int("warmup_calls", 0),
                               max_calls_per_level=f.int("max_calls_per_level", 0), cores=f.int("cores", 0),
                               note=f.str("note"), answer=f.str("answer", None), error=f.str("error", None))


@dataclass(frozen=True)
class Concurrency:
    trial: int
    primary_mode: str
    modes: FrozenMap  # mode -> ConcurrencyMode

    def to_json(self) -> dict:
        return {"trial": self.trial, "primary_mode": self.primary_mode,
                "modes": {name: mode.to_json() for name, mode in self.modes.items()}}

    @staticmethod
    def from_json(raw: object, where: str) -> "Concurrency":
        f = _Fields(raw, where)
        return Concurrency(trial=f.int("trial", 0), primary_mode=f.str("primary_mode"),
                           modes=FrozenMap({k: ConcurrencyMode.from_json(v, f"{where}.modes.{k}")
                                            for k, v in f.dict("modes").items()}))


@dataclass(frozen=True)
class SteadyState:
    """One warm-call series (a trial, a CPU regime, from the first call after
    the cold start): its class, where its steady state starts, its steady median."""

    trial: int
    regime: str
    calls: int  # calls in the series
    classification: str  # a key of vocabulary.STEADY_CLASSES
    calls_until_steady: int | None  # None: no steady state
    steady_median_s: float | None
    changepoints: tuple[int, ...] = ()  # call indices where a kept segment starts

    def __post_init__(self) -> None:
        if self.classification not in STEADY_CLASSES:
            raise ResultsError(f"unknown steady-state class {self.classification!r}")

    def to_json(self) -> dict:
        return {"trial": self.trial, "regime": self.regime, "calls": self.calls, "class": self.classification,
                "calls_until_steady": self.calls_until_steady, "steady_median_s": self.steady_median_s,
                "changepoints": list(self.changepoints)}

    @staticmethod
    def from_json(raw: object, where: str) -> "SteadyState":
        f = _Fields(raw, where)
        return SteadyState(trial=f.int("trial", required=True), regime=f.str("regime", "idle"),
                           calls=f.int("calls", required=True), classification=f.str("class", required=True),
                           calls_until_steady=f.int("calls_until_steady", None),
                           steady_median_s=f.float("steady_median_s"), changepoints=f.ints("changepoints"))


@dataclass(frozen=True)
class BackendResult:
    """Everything the run measured of one backend, over all its trials."""

    info: BackendInfo
    cold_start: ColdStart | None = None
    first_instance: FirstInstance | None = None
    warm_call: Series | None = None  # seconds, idle CPUs
    transport: Series | None = None  # seconds, idle CPUs
    engine: EngineTime | None = None
    # The same figures timed with the CPUs held awake (harness/procedures/cpu_regime.py).
    cold_start_awake: ColdStart | None = None
    warm_call_awake: Series | None = None
    transport_awake: Series | None = None
    warmup: Series | None = None  # seconds: the warm-up calls before the blocks (regime: see steady_state); not a figure
    steady_state: tuple[SteadyState, ...] = ()  # per trial and regime
    memory: Memory | None = None
    density: tuple[DensitySweep, ...] = ()
    concurrency: tuple[Concurrency, ...] = ()
    # Seconds of the timing figures of suites that have no field of their own here (harness/suites/).
    timings: FrozenMap = FrozenMap()
    # The whole sweeps of the at-scale suites, per trial: suite key -> records (results/at_scale.py SWEEP_RECORDS).
    sweeps: FrozenMap = FrozenMap()

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def measured(self) -> bool:
        return any((self.cold_start, self.warm_call, self.memory, self.density, self.concurrency, self.timings,
                    self.sweeps))

    def timing(self, key: str) -> Series | None:
        """A timing figure by its vocabulary key (seconds), or None."""
        if key in ("cold_start", "cold_start_awake"):
            cold = getattr(self, key)
            return cold.wall if cold else None
        if key in ("cold_start_cpu", "cold_start_awake_cpu"):
            cold = getattr(self, key.removesuffix("_cpu"))
            return cold.cpu if cold else None
        if key == "first_instance":
            return self.first_instance.total if self.first_instance else None
        if key in ("warm_call", "transport", "warm_call_awake", "transport_awake"):
            return getattr(self, key)
        return self.timings[key] if key in self.timings else None


@dataclass(frozen=True)
class FigureStop:
    """Why sampling of one figure stopped: its interval was narrow enough, or the budget ran out."""

    figure: str  # "backend/metric"
    trials: int
    half_width: float | None  # relative, of the hierarchical interval when it stopped
    stopped_because: str  # "precision", "max trials" or "time budget"


@dataclass(frozen=True)
class InjectedDelay:
    """A test-only fault injected into one backend: a start delay and/or a crashing worker."""

    ms: float = 0.0  # delay in every start
    percent: float | None = None  # given as a share of the backend's own median
    calibrated_median_ms: float | None = None
    crash_trial: int | None = None  # the trial whose third start hosted a crashing worker
    kind: str = "busy"  # busy-wait (wall and CPU time) or sleep (wall time only)

    def describe(self) -> str:
        parts = []
        if self.ms:
            parts.append(f"+{self.ms:.2f} ms per start ({'slept' if self.kind == 'sleep' else 'busy-wait'}"
                         + (f", {self.percent:g}% of its median)" if self.percent is not None else ")"))
        if self.crash_trial is not None:
            parts.append(f"a crashing worker in trial {self.crash_trial}")
        return " and ".join(parts) or "nothing"

    def to_json(self) -> dict:
        return {"ms": self.ms, "percent": self.percent, "calibrated_median_ms": self.calibrated_median_ms,
                "kind": self.kind, "crash_trial": self.crash_trial}

    @staticmethod
    def from_json(raw: object, where: str, error: type[Exception] = ResultsError) -> "InjectedDelay":
        d = _Fields(raw, where, error)
        return InjectedDelay(ms=d.float("ms", 0.0), percent=d.float("percent"),
                             calibrated_median_ms=d.float("calibrated_median_ms"),
                             crash_trial=d.int("crash_trial", None), kind=d.str("kind", "busy"))


@dataclass(frozen=True)
class Run:
    """One run of isobench: its record, its machine, and every backend's results."""

    status: str  # complete, some-trials-lost, interrupted, failed
    provenance: Provenance
    machine: Machine
    profile: Profile
    worker: WorkerInfo
    conditions: Conditions
    trials: tuple[TrialInfo, ...]
    backends: FrozenMap  # name -> BackendResult, in the order requested
    requested_backends: tuple[str, ...] = ()
    finished: str = ""
    load_average_at_end: tuple[float, ...] = ()
    stopping: tuple[FigureStop, ...] = ()
    injected: FrozenMap = field(default_factory=FrozenMap)  # backend -> InjectedDelay (test-only runs)
    run_id: str = ""
    resumed: tuple[str, ...] = ()  # when an interrupted run was resumed
    path: str | None = field(default=None, compare=False)
    schema: str = SCHEMA
    migrated_from: str | None = None

    @property
    def reference(self) -> str | None:
        """The backend every ratio is over (the one that declared itself the reference and was measured)."""
        for name, result in self.backends.items():
            if result.info.reference and result.measured:
                return name
        return None

    @property
    def measured(self) -> list[str]:
        return [name for name, result in self.backends.items() if result.measured]

    @property
    def complete_trials(self) -> tuple[TrialInfo, ...]:
        return tuple(t for t in self.trials if t.status == "complete")

    @property
    def lost_trials(self) -> tuple[TrialInfo, ...]:
        return tuple(t for t in self.trials if t.status == "lost")

    def backend(self, name: str) -> BackendResult | None:
        return self.backends.get(name)

    def with_path(self, path: str | None) -> "Run":
        return replace(self, path=path)

    @property
    def workload(self) -> str:
        return self.worker.name


@dataclass(frozen=True)
class WorkloadSet:
    """Several runs, one per workload, kept in one file. Each is a whole run
    (its own trials, with the backends interleaved in them); the workloads
    ran one after another."""

    runs: FrozenMap  # workload -> Run, in the order measured
    path: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.runs:
            raise ResultsError("a workload set needs at least one run")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.runs)

    @property
    def primary(self) -> Run:
        """The hello workload when there is one (the figures of the main report), else the first."""
        return self.runs.get("hello") or next(iter(self.runs.values()))

    def with_path(self, path: str | None) -> "WorkloadSet":
        return replace(self, path=path, runs=FrozenMap({n: r.with_path(path) for n, r in self.runs.items()}))

    @staticmethod
    def of(runs: Iterable[Run]) -> "WorkloadSet":
        keyed: dict[str, Run] = {}
        for run in runs:
            if run.workload in keyed:
                raise ResultsError(f"two runs of workload {run.workload!r}; a set keeps one per workload")
            keyed[run.workload] = run
        return WorkloadSet(FrozenMap(keyed))


# ---------------------------------------------------------------- pytest-benchmark JSON

_STAT_FIELDS = ("min", "max", "mean", "stddev", "rounds", "median", "iqr", "q1", "q3", "iqr_outliers",
                "stddev_outliers", "outliers", "ld15iqr", "hd15iqr", "ops", "total")


def _stats(data: list[float]) -> dict:
    """pytest-benchmark's own statistics block for these samples."""
    from pytest_benchmark.stats import Stats

    stats = Stats()
    for value in data:
        stats.update(value)
    out = stats.as_dict() if data else {name: None for name in _STAT_FIELDS}
    out["iterations"] = 1  # each sample is one timed operation; pytest-benchmark's BenchmarkStats adds this field
    out["data"] = data
    return out


LATENCY_SUITES = ("warm_call", "transport", "warm_call_awake", "transport_awake")  # kept as HdrHistograms too


def _benchmark(suite: str, backend: str, data: list[float], extra: dict) -> dict:
    name = f"test_{suite}[{backend}]"
    if suite in LATENCY_SUITES and data:
        from harness.results.histogram import encode

        extra = {**extra, "hdr_histogram": encode(data), "hdr_histogram_unit": "ns"}
    return {"group": suite, "name": name, "fullname": f"bench/test_{suite.removesuffix('_awake')}.py::{name}",
            "params": {"backend_name": backend}, "param": backend,
            "extra_info": {"metric": suite, "backend": backend, **extra},
            "options": {"disable_gc": True, "timer": "perf_counter_ns", "min_rounds": 1, "max_time": 0,
                        "min_time": 0, "warmup": False},
            "stats": _stats([_round(v) for v in data])}


def to_json(run: Run) -> dict:
    """The run as pytest-benchmark JSON with isobench's record under `isobench`."""
    benchmarks = []
    for name, result in run.backends.items():
        if result.cold_start:
            cold = result.cold_start
            extra = {"unit": "s", "trials": list(cold.wall.trials), "timer": cold.timer, **cold.to_json()}
            if result.first_instance:
                extra["first_instance"] = result.first_instance.to_json()
            benchmarks.append(_benchmark("cold_start", name, list(cold.wall.values), extra))
        if result.warm_call:
            extra = {"unit": "s", "trials": list(result.warm_call.trials),
                     "engine": result.engine.to_json() if result.engine else None,
                     "warmup": result.warmup.to_json() if result.warmup else None,
                     "steady_state": [s.to_json() for s in result.steady_state]}
            benchmarks.append(_benchmark("warm_call", name, list(result.warm_call.values), extra))
        if result.transport:
            benchmarks.append(_benchmark("transport", name, list(result.transport.values),
                                         {"unit": "s", "trials": list(result.transport.trials)}))
        if result.cold_start_awake:
            cold = result.cold_start_awake
            benchmarks.append(_benchmark("cold_start_awake", name, list(cold.wall.values),
                                         {"unit": "s", "trials": list(cold.wall.trials), "timer": cold.timer,
                                          "regime": "awake", **cold.to_json()}))
        for suite in ("warm_call_awake", "transport_awake"):
            series = getattr(result, suite)
            if series:
                benchmarks.append(_benchmark(suite, name, list(series.values),
                                             {"unit": "s", "trials": list(series.trials), "regime": "awake"}))
        if result.memory:
            benchmarks.append(_benchmark("memory", name, [s.duration_s for s in result.memory.sweeps],
                                         {"timer": "duration of each trial's sweep; not a performance figure",
                                          "sweeps": [s.to_json() for s in result.memory.sweeps]}))
        if result.density:
            benchmarks.append(_benchmark("density", name, [s.growth_s + s.teardown_s for s in result.density],
                                         {"timer": "duration of each sweep; not a performance figure",
                                          "sweeps": [s.to_json() for s in result.density]}))
        for key, series in result.timings.items():
            benchmarks.append(_benchmark(key, name, list(series.values), {"unit": "s", "trials": list(series.trials)}))
        if result.concurrency:
            durations = [sum(lv.window_s for m in c.modes.values() for lv in m.levels) for c in result.concurrency]
            benchmarks.append(_benchmark("concurrency", name, durations,
                                         {"timer": "timed windows of each sweep; not a performance figure",
                                          "sweeps": [c.to_json() for c in result.concurrency]}))
        for key, sweeps in result.sweeps.items():
            benchmarks.append(_benchmark(key, name, [s.duration_s for s in sweeps],
                                         {"timer": "duration of each sweep; not a performance figure",
                                          "sweeps": [s.to_json() for s in sweeps]}))
    record = {
        "schema": run.schema, "status": run.status, "run_id": run.run_id, "provenance": run.provenance.to_json(),
        "finished": run.finished, "load_average_at_end": list(run.load_average_at_end),
        "profile": run.profile.to_json(), "worker": run.worker.to_json(), "conditions": run.conditions.to_json(),
        "requested_backends": list(run.requested_backends),
        "backends": {name: result.info.to_json() for name, result in run.backends.items()},
        "trials": [t.to_json() for t in run.trials],
        "stopping": [{"figure": s.figure, "trials": s.trials, "half_width": s.half_width,
                      "stopped_because": s.stopped_because} for s in run.stopping],
        "injected": {name: d.to_json() for name, d in run.injected.items()},
        "resumed": list(run.resumed),
    }
    if run.migrated_from:
        record["migrated_from"] = run.migrated_from
    return {
        "machine_info": {"isobench": run.machine.to_json(), "node": run.machine.hostname,
                         "python_version": run.machine.python, "cpu": {"count": run.machine.cpu_count,
                                                                       "brand_raw": run.machine.cpu_model}},
        "commit_info": {"id": run.provenance.commit, "branch": run.provenance.branch,
                        "dirty": run.provenance.dirty, "time": run.provenance.started},
        "benchmarks": benchmarks,
        "datetime": run.provenance.started,
        "version": _pytest_benchmark_version(),
        "isobench": record,
    }


def _pytest_benchmark_version() -> str:
    try:
        from pytest_benchmark import __version__
    except ImportError:
        return ""
    return __version__


def from_json(raw: object, where: str = "results") -> Run:
    """A Run from pytest-benchmark JSON written by isobench (either schema); ResultsError if it is not one."""
    if not isinstance(raw, dict):
        raise ResultsError(f"{where}: not a JSON object")
    if not isinstance(raw.get("benchmarks"), list):
        raise ResultsError(f"{where}: no 'benchmarks' list; not a pytest-benchmark results file")
    record = raw.get("isobench")
    if not isinstance(record, dict) or "schema" not in record:
        raise ResultsError(f"{where}: no 'isobench' record; a pytest-benchmark file, but not written by isobench")
    if record["schema"] == LEGACY_SCHEMA:
        raw = migrate_v1(raw, where)
        record = raw["isobench"]
    if record["schema"] != SCHEMA:
        raise ResultsError(f"{where}: schema {record['schema']!r} is not supported (expected {SCHEMA!r})")
    rec = _Fields(record, f"{where}: isobench")
    infos = {name: BackendInfo.from_json(value, f"{where}: isobench.backends.{name}")
             for name, value in rec.dict("backends").items()}
    parts: dict[str, dict[str, Any]] = {name: {} for name in infos}
    for index, entry in enumerate(raw["benchmarks"]):
        here = f"{where}: benchmarks[{index}]"
        bench = _Fields(entry, here)
        stats = bench.sub("stats", required=True)
        extra = bench.sub("extra_info", required=True)
        suite, backend = extra.str("metric", required=True), extra.str("backend", required=True)
        data = stats.numbers("data")
        target = parts.setdefault(backend, {})
        if suite in ("cold_start", "warm_call", "transport", "cold_start_awake", "warm_call_awake", "transport_awake"):
            series = Series(data, extra.ints("trials", True))
            if suite == "cold_start_awake":
                target[suite] = ColdStart.from_json(series, extra.raw, f"{here}.extra_info")
            elif suite == "cold_start":
                target["cold_start"] = ColdStart.from_json(series, extra.raw, f"{here}.extra_info")
                if extra.value("first_instance"):
                    target["first_instance"] = FirstInstance.from_json(extra.raw["first_instance"],
                                                                       f"{here}.extra_info.first_instance")
            else:
                target[suite] = series
                if suite == "warm_call" and extra.value("engine"):
                    target["engine"] = EngineTime.from_json(extra.raw["engine"], f"{here}.extra_info.engine")
                if suite == "warm_call" and extra.value("warmup"):
                    target["warmup"] = Series.from_json(extra.raw["warmup"], f"{here}.extra_info.warmup")
                if suite == "warm_call":
                    target["steady_state"] = tuple(
                        SteadyState.from_json(s, f"{here}.extra_info.steady_state[{i}]")
                        for i, s in enumerate(extra.list("steady_state")))
        elif suite == "memory":
            target["memory"] = Memory(tuple(MemorySweep.from_json(s, f"{here}.extra_info.sweeps[{i}]")
                                            for i, s in enumerate(extra.list("sweeps"))))
        elif suite == "density":
            target["density"] = tuple(DensitySweep.from_json(s, f"{here}.extra_info.sweeps[{i}]")
                                      for i, s in enumerate(extra.list("sweeps")))
        elif suite == "concurrency":
            target["concurrency"] = tuple(Concurrency.from_json(s, f"{here}.extra_info.sweeps[{i}]")
                                          for i, s in enumerate(extra.list("sweeps")))
        elif suite in SWEEP_RECORDS:
            target.setdefault("sweeps", {})[suite] = tuple(
                SWEEP_RECORDS[suite].from_json(s, f"{here}.extra_info.sweeps[{i}]")
                for i, s in enumerate(extra.list("sweeps")))
        elif extra.str("unit") == "s" and "trials" in extra.raw:  # a timing of a suite with no field here
            target.setdefault("timings", {})[suite] = Series(data, extra.ints("trials", True))
        else:
            raise ResultsError(f"{here}: unknown suite {suite!r}")
    backends = {}
    for name, found in parts.items():
        info = infos.get(name) or BackendInfo(name=name, available=True)
        for key in ("timings", "sweeps"):
            if key in found:
                found[key] = FrozenMap(found[key])
        backends[name] = BackendResult(info=info, **found)
    stopping = tuple(FigureStop(figure=s.str("figure", required=True), trials=s.int("trials", 0),
                                half_width=s.float("half_width"), stopped_because=s.str("stopped_because"))
                     for s in (_Fields(x, f"{where}: isobench.stopping") for x in rec.list("stopping")))
    injected = {name: InjectedDelay.from_json(value, f"{where}: isobench.injected.{name}")
                for name, value in rec.dict("injected").items()}
    machine_raw = (raw.get("machine_info") or {}).get("isobench") or {}
    return Run(
        status=rec.str("status", "unknown"),
        provenance=Provenance.from_json(rec.value("provenance"), f"{where}: isobench.provenance"),
        machine=Machine.from_json(machine_raw, f"{where}: machine_info.isobench"),
        profile=Profile.from_json(rec.value("profile"), f"{where}: isobench.profile"),
        worker=WorkerInfo.from_json(rec.value("worker") or {}, f"{where}: isobench.worker"),
        conditions=Conditions.from_json(rec.value("conditions") or {}, f"{where}: isobench.conditions"),
        trials=tuple(TrialInfo.from_json(t, f"{where}: isobench.trials[{i}]") for i, t in enumerate(rec.list("trials"))),
        backends=FrozenMap(backends),
        requested_backends=tuple(str(x) for x in rec.list("requested_backends")),
        finished=rec.str("finished"), load_average_at_end=rec.numbers("load_average_at_end"),
        stopping=stopping, injected=FrozenMap(injected), run_id=rec.str("run_id"),
        resumed=tuple(str(x) for x in rec.list("resumed")),
        migrated_from=rec.str("migrated_from", None),
    )


# ---------------------------------------------------------------- several workloads in one file

def set_to_json(workloads: WorkloadSet) -> dict:
    """A workload set as one pytest-benchmark file: every run's benchmarks, named
    `WORKLOAD/test_SUITE[BACKEND]` with `extra_info.workload`, and each run's
    other keys under `isobench.runs.WORKLOAD`."""
    benchmarks, runs = [], {}
    for name, run in workloads.runs.items():
        raw = to_json(run)
        for bench in raw.pop("benchmarks"):
            benchmarks.append({**bench, "name": f"{name}/{bench['name']}", "fullname": f"{name}/{bench['fullname']}",
                               "extra_info": {**bench["extra_info"], "workload": name}})
        runs[name] = raw
    top = runs[workloads.primary.workload]
    return {**{key: value for key, value in top.items() if key != "isobench"}, "benchmarks": benchmarks,
            "isobench": {"schema": WORKLOADS_SCHEMA, "primary": workloads.primary.workload, "runs": runs}}


def set_from_json(raw: object, where: str = "results") -> WorkloadSet:
    """A WorkloadSet from a workload-set file, or from a plain run file (a set of one)."""
    record = raw.get("isobench") if isinstance(raw, dict) else None
    if not isinstance(record, dict) or record.get("schema") != WORKLOADS_SCHEMA:
        return WorkloadSet.of([from_json(raw, where)])
    if not isinstance(record.get("runs"), dict) or not isinstance(raw.get("benchmarks"), list):
        raise ResultsError(f"{where}: a workload set without 'runs' or 'benchmarks'")
    runs = []
    for name, top in record["runs"].items():
        if not isinstance(top, dict):
            raise ResultsError(f"{where}: isobench.runs.{name} is not an object")
        own = []
        for bench in raw["benchmarks"]:
            extra = bench.get("extra_info") if isinstance(bench, dict) else None
            if isinstance(extra, dict) and extra.get("workload") == name:
                prefix = f"{name}/"
                own.append({**bench, "name": str(bench.get("name", "")).removeprefix(prefix),
                            "fullname": str(bench.get("fullname", "")).removeprefix(prefix),
                            "extra_info": {k: v for k, v in extra.items() if k != "workload"}})
        runs.append(from_json({**top, "benchmarks": own}, f"{where}: workload {name}"))
    return WorkloadSet.of(runs)
