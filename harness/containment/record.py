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
from harness.results.fields import Fields
from harness.results.store import ResultsError, read_json, write_atomic

SCHEMA = "isobench-containment/1"


class RecordError(ValueError):
    """A record that does not have the shape it must: said in one line."""


def _fields(raw: object, what: str) -> Fields:
    """Checked access to a record's fields; a bad one is a RecordError naming it."""
    return Fields(raw, what, RecordError)


def _present(pairs: list[tuple[str, object]]) -> dict:
    """The pairs whose value is not None, in their order (fields a record leaves out when absent)."""
    return {key: value for key, value in pairs if value is not None}



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
        f = _fields(raw, "host")
        return cls(survived=f.bool("survived", required=True), exit=f.str("exit", "unknown"),
                   killed_by=f.str("killed_by", None), death_ms=f.number("death_ms"),
                   peak_tree_rss_bytes=f.int("peak_tree_rss_bytes", None),
                   call_growth_bytes=f.int("call_growth_bytes", None),
                   memory_limit_bytes=f.int("memory_limit_bytes", None),
                   stderr_tail=f.strs("stderr_tail") if f.has("stderr_tail") else None)

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
        f = _fields(raw, "outcome")
        return cls(kind=f.str("kind", required=True), answer=f.str("answer", None),
                   error_type=f.str("error_type", None), message=f.str("message", None),
                   typed=f.bool("typed", None), token=f.str("token", None),
                   plant=f.dict("plant") if f.has("plant") else None,
                   probe=f.dict("probe") if f.has("probe") else None,
                   check=f.dict("check") if f.has("check") else None,
                   detect_ms=f.number("detect_ms"), stop_ms=f.number("stop_ms"))

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
        f = _fields(raw, "next")
        return cls(ok=f.bool("ok", required=True), answer=f.str("answer", None), error_type=f.str("error_type", None),
                   message=f.str("message", None), typed=f.bool("typed", None), ms=f.number("ms"))

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
    raw = _fields(raw, "obtained").raw
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
    def from_json(cls, raw: object) -> "PairRun":
        """From a pair's JSON (its host, instance_memory_limit_bytes, outcome, next, unavailable, setup_error)."""
        f = _fields(raw, "pair")
        return cls(host=HostOutcome.from_json(f.value("host")),
                   instance_memory_limit_bytes=f.int("instance_memory_limit_bytes", None),
                   outcome=CallOutcome.from_json(f.value("outcome")) if f.has("outcome") else None,
                   next=NextInstance.from_json(f.value("next")) if f.has("next") else None,
                   unavailable=f.str("unavailable", None), setup_error=f.str("setup_error", None))


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
        f = _fields(raw, "pair")
        if "contained" not in f.raw:
            raise RecordError("pair lacks backend, workload or contained")
        verdict = Verdict(f.bool("contained", None), f.str("why"), _obtained_from_json(f.value("obtained")))
        return cls(backend=f.str("backend", required=True), workload=f.str("workload", required=True),
                   verdict=verdict, run=PairRun.from_json(f.raw), facts=f.dict("facts"))

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
        f = _fields(raw, "backend status")
        return cls(available=f.bool("available", required=True), reason=f.str("reason"), summary=f.str("summary"),
                   instance_class=f.str("instance_class", None), family=f.str("family", None))

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
        f = _fields(raw, "containment record")
        if not isinstance(f.value("pairs"), list) or not isinstance(f.value("backends"), dict):
            raise RecordError("containment results without 'pairs' and 'backends'")
        pairs = []
        for index, pair in enumerate(f.list("pairs")):
            try:
                pairs.append(PairResult.from_json(pair))
            except RecordError as error:
                raise RecordError(f"pair #{index}: {error}") from None
        limits = f.dict("limits")
        known = {item.name for item in fields(Limits)}
        if set(limits) - known:
            raise RecordError(f"limits has unknown fields {sorted(set(limits) - known)}")
        safety = f.sub("host_safety") or _fields({}, "host_safety")
        return cls(run_id=f.str("run_id", "?"), started=f.str("started"), limits=Limits(**limits),
                   host_safety_bytes=safety.int("memory_bytes"), workloads=list(f.strs("workloads")),
                   machine=f.dict("machine"),
                   backends={name: BackendStatus.from_json(status) for name, status in f.dict("backends").items()},
                   pairs=pairs, status=f.str("status", "?"), finished=f.str("finished", None))

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
