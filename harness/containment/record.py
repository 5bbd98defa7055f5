"""The containment results file and its typed records, checked once when a
file is loaded: a bad one is a ResultsError of one line. The file is written
atomically (harness.results.store.write_atomic). Each record's to_json gives
the file's JSON in its own key order, so a file read and written again is the
same file.

- ContainmentRecord  one `harness contain` run: machine, limits, backends, pairs
- BackendStatus      whether a backend could run here, and why not
- PairResult         one (hostile workload, backend) pair: what happened and the verdict
- PairRun            what happened: the host, the hostile call, the next instance
- HostOutcome        how the probe (the host) ended, watched from outside
- CallOutcome        the hostile call: an answer or an error, with its times
- NextInstance       a fresh hello instance on the same backend afterwards
- Verdict            contained or not, why, and what the worker obtained
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from harness.backends.base import Limits
from harness.results.store import ResultsError, read_json, write_atomic

SCHEMA = "isobench-containment/1"


class RecordError(ValueError):
    """A record that does not have the shape it must: said in one line."""


def _mapping(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise RecordError(f"{what} is not an object")
    return raw


def _required(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str):
    if key not in raw or not isinstance(raw[key], kind):
        raise RecordError(f"{what} lacks {key!r} (or it has the wrong type)")
    return raw[key]


def _optional(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str):
    value = raw.get(key)
    if value is not None and not isinstance(value, kind):
        raise RecordError(f"{what}: {key!r} has the wrong type")
    return value


def _present(pairs: list[tuple[str, object]]) -> dict:
    """The pairs whose value is not None, in their order (fields a record leaves out when absent)."""
    return {key: value for key, value in pairs if value is not None}


NUMBER = (int, float)


@dataclass(frozen=True)
class HostOutcome:
    survived: bool
    exit: str  # "exit 0", "SIGKILL", ...
    killed_by: str | None = None  # "host-memory-safety", "pair-deadline", "interrupt"
    death_ms: float | None = None  # from the hostile call's start to the probe's end, when it died
    peak_tree_rss_bytes: int | None = None
    call_growth_bytes: int | None = None  # the probe tree's RSS growth during the hostile call
    memory_limit_bytes: int | None = None  # the host's safety limit
    stderr_tail: tuple[str, ...] | None = None  # when it died: the lines that say why

    @classmethod
    def from_json(cls, raw: object) -> "HostOutcome":
        raw = _mapping(raw, "host")
        tail = _optional(raw, "stderr_tail", list, "host")
        return cls(survived=_required(raw, "survived", bool, "host"), exit=str(raw.get("exit", "unknown")),
                   killed_by=_optional(raw, "killed_by", str, "host"),
                   death_ms=_optional(raw, "death_ms", NUMBER, "host"),
                   peak_tree_rss_bytes=_optional(raw, "peak_tree_rss_bytes", int, "host"),
                   call_growth_bytes=_optional(raw, "call_growth_bytes", int, "host"),
                   memory_limit_bytes=_optional(raw, "memory_limit_bytes", int, "host"),
                   stderr_tail=tuple(str(line) for line in tail) if tail is not None else None)

    def to_json(self) -> dict:
        out = {"survived": self.survived, "exit": self.exit, "killed_by": self.killed_by, "death_ms": self.death_ms,
               "peak_tree_rss_bytes": self.peak_tree_rss_bytes, "call_growth_bytes": self.call_growth_bytes,
               "memory_limit_bytes": self.memory_limit_bytes}
        if self.stderr_tail is not None:
            out["stderr_tail"] = list(self.stderr_tail)
        return out


@dataclass(frozen=True)
class CallOutcome:
    """The probe's `outcome` event. An answer has `answer` (or, for neighbour,
    the token and the two instances' replies); an error its type and message."""

    kind: str  # "answer" or "error"
    answer: str | None = None
    error_type: str | None = None
    message: str | None = None
    typed: bool | None = None  # the error is one of the harness's typed limit errors
    token: str | None = None  # neighbour: the victim's token, and the replies of plant, probe and check
    plant: Mapping[str, Any] | None = None
    probe: Mapping[str, Any] | None = None
    check: Mapping[str, Any] | None = None
    detect_ms: float | None = None  # from the call's start to the answer or the error
    stop_ms: float | None = None  # from the call's start until the instance was gone

    @property
    def answered(self) -> bool:
        return self.kind == "answer"

    @classmethod
    def from_json(cls, raw: object) -> "CallOutcome":
        raw = _mapping(raw, "outcome")
        kind = _required(raw, "kind", str, "outcome")
        return cls(kind=kind, answer=_optional(raw, "answer", str, "outcome"),
                   error_type=_optional(raw, "error_type", str, "outcome"),
                   message=_optional(raw, "message", str, "outcome"), typed=_optional(raw, "typed", bool, "outcome"),
                   token=_optional(raw, "token", str, "outcome"), plant=_optional(raw, "plant", Mapping, "outcome"),
                   probe=_optional(raw, "probe", Mapping, "outcome"), check=_optional(raw, "check", Mapping, "outcome"),
                   detect_ms=_optional(raw, "detect_ms", NUMBER, "outcome"),
                   stop_ms=_optional(raw, "stop_ms", NUMBER, "outcome"))

    def to_json(self) -> dict:
        return _present([(f.name, getattr(self, f.name)) for f in fields(self)])


@dataclass(frozen=True)
class NextInstance:
    ok: bool
    answer: str | None = None
    error_type: str | None = None
    message: str | None = None
    typed: bool | None = None
    ms: float | None = None

    @classmethod
    def from_json(cls, raw: object) -> "NextInstance":
        raw = _mapping(raw, "next")
        return cls(ok=_required(raw, "ok", bool, "next"), answer=_optional(raw, "answer", str, "next"),
                   error_type=_optional(raw, "error_type", str, "next"), message=_optional(raw, "message", str, "next"),
                   typed=_optional(raw, "typed", bool, "next"), ms=_optional(raw, "ms", NUMBER, "next"))

    def to_json(self) -> dict:
        return _present([(f.name, getattr(self, f.name)) for f in fields(self)])


@dataclass(frozen=True)
class EscapeObtained:
    """What `escape` really got, checked against the real values (not its claims)."""

    host_secret_file: bool
    host_hostname_file: bool
    host_loopback: bool
    host_environment: bool

    LABELS = (("host_secret_file", "host file"), ("host_hostname_file", "/etc/hostname"),
              ("host_loopback", "127.0.0.1"), ("host_environment", "host env"))

    def got(self) -> list[str]:
        """The names of what it obtained."""
        return [name for name, _ in self.LABELS if getattr(self, name)]

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class NeighbourObtained:
    saw_other_instance: bool
    seen_via: tuple[str, ...]
    modified_other_instance: bool
    modified: tuple[str, ...]  # "its global", "its file"

    def to_json(self) -> dict:
        return {"saw_other_instance": self.saw_other_instance, "seen_via": list(self.seen_via),
                "modified_other_instance": self.modified_other_instance, "modified": list(self.modified)}


Obtained = EscapeObtained | NeighbourObtained


def _obtained_from_json(raw: object) -> Obtained | None:
    if raw is None:
        return None
    raw = _mapping(raw, "obtained")
    try:
        if "saw_other_instance" in raw:
            return NeighbourObtained(bool(raw["saw_other_instance"]), tuple(raw["seen_via"]),
                                     bool(raw["modified_other_instance"]), tuple(raw["modified"]))
        return EscapeObtained(**{key: bool(raw[key]) for key, _ in EscapeObtained.LABELS})
    except (KeyError, TypeError):
        raise RecordError("obtained has neither escape's nor neighbour's fields") from None


@dataclass(frozen=True)
class Verdict:
    contained: bool | None  # None: the pair could not be tried
    why: str
    obtained: Obtained | None = None


@dataclass(frozen=True)
class PairRun:
    """What happened to one pair, before it is judged."""

    host: HostOutcome
    instance_memory_limit_bytes: int | None = None
    outcome: CallOutcome | None = None
    next: NextInstance | None = None
    unavailable: str | None = None  # the backend said it cannot run here
    setup_error: str | None = None  # the harness's own steps failed

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "PairRun":
        """From a pair's JSON (its host, instance_memory_limit_bytes, outcome, next, unavailable, setup_error)."""
        return cls(host=HostOutcome.from_json(raw.get("host")),
                   instance_memory_limit_bytes=_optional(raw, "instance_memory_limit_bytes", int, "pair"),
                   outcome=CallOutcome.from_json(raw["outcome"]) if raw.get("outcome") is not None else None,
                   next=NextInstance.from_json(raw["next"]) if raw.get("next") is not None else None,
                   unavailable=_optional(raw, "unavailable", str, "pair"),
                   setup_error=_optional(raw, "setup_error", str, "pair"))


@dataclass(frozen=True)
class PairResult:
    backend: str
    workload: str
    verdict: Verdict
    run: PairRun
    facts: Mapping[str, Any] = field(default_factory=dict)  # the backend's facts (informative)

    @property
    def contained(self) -> bool | None:
        return self.verdict.contained

    @property
    def tried(self) -> bool:
        return self.verdict.contained is not None

    @property
    def why(self) -> str:
        return self.verdict.why

    @property
    def obtained(self) -> Obtained | None:
        return self.verdict.obtained

    @property
    def host(self) -> HostOutcome:
        return self.run.host

    @property
    def outcome(self) -> CallOutcome | None:
        return self.run.outcome

    @classmethod
    def from_json(cls, raw: object) -> "PairResult":
        raw = _mapping(raw, "pair")
        contained = raw.get("contained")
        if "contained" not in raw or contained not in (True, False, None):
            raise RecordError("pair lacks backend, workload or contained")
        run = PairRun.from_json(raw)
        verdict = Verdict(contained, str(raw.get("why", "")), _obtained_from_json(raw.get("obtained")))
        return cls(backend=_required(raw, "backend", str, "pair"), workload=_required(raw, "workload", str, "pair"),
                   verdict=verdict, run=run, facts=dict(_optional(raw, "facts", Mapping, "pair") or {}))

    def to_json(self) -> dict:
        run = self.run
        return {"backend": self.backend, "workload": self.workload, "contained": self.contained, "why": self.why,
                "obtained": self.obtained.to_json() if self.obtained else None, "host": run.host.to_json(),
                "instance_memory_limit_bytes": run.instance_memory_limit_bytes,
                "outcome": run.outcome.to_json() if run.outcome else None,
                "next": run.next.to_json() if run.next else None, "unavailable": run.unavailable,
                "setup_error": run.setup_error, "facts": dict(self.facts)}


@dataclass(frozen=True)
class BackendStatus:
    available: bool
    reason: str = ""
    summary: str = ""
    instance_class: str | None = None  # in-process, process, container (when available)
    family: str | None = None

    @classmethod
    def from_json(cls, raw: object) -> "BackendStatus":
        raw = _mapping(raw, "backend status")
        return cls(available=_required(raw, "available", bool, "backend status"), reason=str(raw.get("reason", "")),
                   summary=str(raw.get("summary", "")),
                   instance_class=_optional(raw, "instance_class", str, "backend status"),
                   family=_optional(raw, "family", str, "backend status"))

    def to_json(self) -> dict:
        return {"available": self.available, "reason": self.reason, "summary": self.summary,
                **_present([("instance_class", self.instance_class), ("family", self.family)])}


@dataclass
class ContainmentRecord:
    """One `harness contain` run. Pairs are added as they are measured."""

    run_id: str
    started: str
    limits: Limits
    host_safety_bytes: int
    workloads: list[str]
    machine: Mapping[str, Any] = field(default_factory=dict)
    backends: dict[str, BackendStatus] = field(default_factory=dict)
    pairs: list[PairResult] = field(default_factory=list)
    status: str = "running"  # running, complete, interrupted, error
    finished: str | None = None

    HOST_SAFETY = "RSS of the probe's process tree; past it the probe is killed"

    def pair(self, backend: str, workload: str) -> PairResult | None:
        return next((p for p in self.pairs if p.backend == backend and p.workload == workload), None)

    def by_backend(self) -> dict[str, list[PairResult]]:
        out: dict[str, list[PairResult]] = {}
        for pair in self.pairs:
            out.setdefault(pair.backend, []).append(pair)
        return out

    @classmethod
    def from_json(cls, raw: object) -> "ContainmentRecord":
        raw = _mapping(raw, "containment record")
        if not isinstance(raw.get("pairs"), list) or not isinstance(raw.get("backends"), Mapping):
            raise RecordError("containment results without 'pairs' and 'backends'")
        pairs = []
        for index, pair in enumerate(raw["pairs"]):
            try:
                pairs.append(PairResult.from_json(pair))
            except RecordError as error:
                raise RecordError(f"pair #{index}: {error}") from None
        limits = _mapping(raw.get("limits") or {}, "limits")
        known = {f.name for f in fields(Limits)}
        if set(limits) - known:
            raise RecordError(f"limits has unknown fields {sorted(set(limits) - known)}")
        safety = _mapping(raw.get("host_safety") or {}, "host_safety")
        return cls(run_id=str(raw.get("run_id", "?")), started=str(raw.get("started") or ""), limits=Limits(**limits),
                   host_safety_bytes=int(safety.get("memory_bytes") or 0), workloads=list(raw.get("workloads") or []),
                   machine=dict(raw.get("machine") or {}),
                   backends={name: BackendStatus.from_json(status) for name, status in raw["backends"].items()},
                   pairs=pairs, status=str(raw.get("status", "?")), finished=raw.get("finished"))

    def to_json(self) -> dict:
        return {"schema": SCHEMA, "status": self.status, "run_id": self.run_id, "started": self.started,
                "finished": self.finished, "machine": dict(self.machine), "limits": asdict(self.limits),
                "host_safety": {"memory_bytes": self.host_safety_bytes, "what": self.HOST_SAFETY},
                "workloads": list(self.workloads),
                "backends": {name: status.to_json() for name, status in self.backends.items()},
                "pairs": [pair.to_json() for pair in self.pairs]}


def save(record: ContainmentRecord, out_dir: Path, stamp: str) -> Path:
    text = json.dumps(record.to_json(), indent=2) + "\n"
    path = write_atomic(out_dir / f"containment-{stamp}.json", text)
    write_atomic(out_dir / "containment-latest.json", text)
    return path


def load(path: str | Path) -> ContainmentRecord:
    file = Path(path)
    raw = read_json(file, "containment results file")
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        found = raw.get("schema") if isinstance(raw, dict) else None
        raise ResultsError(f"{file}: not a containment results file (schema {found!r}, expected {SCHEMA!r})")
    try:
        return ContainmentRecord.from_json(raw)
    except RecordError as error:
        raise ResultsError(f"{file}: {error}") from None
