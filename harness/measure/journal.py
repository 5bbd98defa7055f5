"""The run's journal: an append-only file of JSON lines, each fsync'd the
moment it is written. The first line says what the run is (its options,
provenance and machine); each later line is one finished trial, or one lost
trial with its cause. A crash costs at most the trial under way, and
`run --resume JOURNAL` finishes the run from what the journal holds."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from harness.measure.options import RunOptions
from harness.measure.trial_record import TrialRecord, TrialRecordError
from harness.results.fields import Fields
from harness.results.model import InjectedDelay

VERSION = 1


class JournalError(Exception):
    """The journal cannot be used (one line)."""


@dataclass(frozen=True)
class RunHeader:
    """What the run is, recorded before its first trial: the journal's first
    line. The recorded facts (provenance, machine, profile, worker,
    conditions) stay as written; assemble reads them with the results model's
    loaders."""

    run_id: str
    options: RunOptions
    provenance: Mapping[str, Any]
    machine: Mapping[str, Any]
    profile: Mapping[str, Any]
    worker: Mapping[str, Any]
    conditions: Mapping[str, Any]
    family_index: Mapping[str, int] = field(default_factory=dict)  # backend -> its place in its family
    sides: tuple[str, ...] = ("",)
    injected: Mapping[str, InjectedDelay] = field(default_factory=dict)  # test-only faults, by backend
    resumed: tuple[str, ...] = ()  # when `run --resume` took it up again

    def place_in_family(self, name: str) -> int:
        return self.family_index[name] if name in self.family_index else 0

    def to_json(self) -> dict:
        return {"run_id": self.run_id, "options": self.options.to_json(), "provenance": dict(self.provenance),
                "machine": dict(self.machine), "profile": dict(self.profile), "worker": dict(self.worker),
                "conditions": dict(self.conditions), "family_index": dict(self.family_index),
                "sides": list(self.sides), "injected": {name: d.to_json() for name, d in self.injected.items()},
                "resumed": list(self.resumed)}

    @staticmethod
    def from_json(raw: object, where: str) -> "RunHeader":
        f = Fields(raw, where, JournalError)
        injected = f.sub("injected") or Fields({}, where, JournalError)
        return RunHeader(
            run_id=f.str("run_id"), options=RunOptions.from_json(f.value("options"), f"{where}.options", JournalError),
            provenance=f.dict("provenance", required=True), machine=f.dict("machine", required=True),
            profile=f.dict("profile", required=True), worker=f.dict("worker", required=True),
            conditions=f.dict("conditions", required=True),
            family_index={name: int(index) for name, index in f.dict("family_index").items()},
            sides=f.strs("sides") or ("",),
            injected={name: InjectedDelay.from_json(injected.value(name), f"{where}.injected.{name}", JournalError)
                      for name in injected.raw},
            resumed=f.strs("resumed"))


@dataclass(frozen=True)
class TrialEntry:
    """A finished trial: the record its process left."""

    record: TrialRecord

    @property
    def index(self) -> int:
        return self.record.index

    @property
    def side(self) -> str:
        return self.record.side

    def to_json(self) -> dict:
        return {"kind": "trial", "record": self.record.to_json()}


@dataclass(frozen=True)
class LostEntry:
    """A trial that left no record, and why."""

    index: int
    cause: str
    started: str = ""
    finished: str = ""
    seed: int = 0
    side: str = ""
    pair: int | None = None

    def to_json(self) -> dict:
        return {"kind": "lost", "index": self.index, "cause": self.cause, "started": self.started,
                "finished": self.finished, "seed": self.seed, "side": self.side, "pair": self.pair}


@dataclass(frozen=True)
class CalibrationEntry:
    """The test-only injected delays, calibrated at the start of the run."""

    injected: Mapping[str, InjectedDelay]

    def to_json(self) -> dict:
        return {"kind": "calibration", "injected": {name: d.to_json() for name, d in self.injected.items()}}


@dataclass(frozen=True)
class ResumedEntry:
    at: str  # when `run --resume` took the run up again

    def to_json(self) -> dict:
        return {"kind": "resumed", "at": self.at}


Entry = TrialEntry | LostEntry | CalibrationEntry | ResumedEntry


def entry_from_json(raw: object, where: str) -> Entry:
    """One journal line after the header, checked: JournalError says why not, in one line."""
    kind = Fields(raw, where, JournalError).value("kind") if isinstance(raw, dict) else None
    if not isinstance(kind, str):
        raise JournalError(f"{where}: not a journal entry")
    try:
        if kind == "trial":
            return TrialEntry(TrialRecord.from_json(raw["record"]))
        if kind == "lost":
            f = Fields(raw, where, JournalError)
            return LostEntry(index=f.int("index", required=True), cause=f.str("cause"), started=f.str("started"),
                             finished=f.str("finished"), seed=f.int("seed"), side=f.str("side"),
                             pair=f.int("pair", None))
        if kind == "calibration":
            injected = Fields(raw, where, JournalError).dict("injected", required=True)
            return CalibrationEntry({name: InjectedDelay.from_json(value, f"{where}.injected.{name}", JournalError)
                                     for name, value in injected.items()})
        if kind == "resumed":
            return ResumedEntry(str(raw["at"]))
    except (KeyError, TypeError, ValueError, TrialRecordError) as error:
        raise JournalError(f"{where}: a {kind} entry that cannot be read ({error})") from None
    raise JournalError(f"{where}: unknown journal entry kind {kind!r}")


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def create(path: Path, header: RunHeader) -> "Journal":
        if path.exists():
            raise JournalError(f"journal {path} exists already")
        journal = Journal(path)
        journal._write({"kind": "run", "version": VERSION, **header.to_json()})
        return journal

    def append(self, entry: Entry) -> None:
        """Add an entry and make it durable before returning."""
        self._write(entry.to_json())

    def _write(self, raw: dict) -> None:
        line = json.dumps(raw, separators=(",", ":")) + "\n"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def read(self) -> tuple[RunHeader, list[Entry]]:
        """(header, entries). A last line cut short by a crash is left out."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise JournalError(f"journal not found: {self.path}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise JournalError(f"cannot read journal {self.path}: {error}") from None
        entries = []
        for number, line in enumerate(lines, 1):
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                if number == len(lines):
                    break  # written when the crash came
                raise JournalError(f"{self.path}: line {number} is not JSON") from None
        first = Fields(entries[0], f"{self.path}: line 1", JournalError) if entries else None
        if first is None or first.value("kind") != "run":
            raise JournalError(f"{self.path}: not an isobench journal (no run header)")
        if first.value("version") != VERSION:
            raise JournalError(f"{self.path}: journal version {first.value('version')!r} is not {VERSION}")
        return (RunHeader.from_json(entries[0], f"{self.path}: header"),
                [entry_from_json(raw, f"{self.path}: line {number}") for number, raw in enumerate(entries[1:], 2)])
