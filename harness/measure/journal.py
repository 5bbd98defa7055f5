"""The run's journal: an append-only file of JSON lines, each fsync'd the
moment it is written. The first line says what the run is (its options,
provenance and machine); each later line is one finished trial, or one lost
trial with its cause. A crash costs at most the trial under way, and
`run --resume JOURNAL` finishes the run from what the journal holds."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from harness.measure.trial_record import TrialRecord, TrialRecordError
from harness.results.fields import Fields

VERSION = 1


class JournalError(Exception):
    """The journal cannot be used (one line)."""


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

    injected: dict

    def to_json(self) -> dict:
        return {"kind": "calibration", "injected": self.injected}


@dataclass(frozen=True)
class ResumedEntry:
    at: str  # when `run --resume` took the run up again

    def to_json(self) -> dict:
        return {"kind": "resumed", "at": self.at}


Entry = TrialEntry | LostEntry | CalibrationEntry | ResumedEntry


def entry_from_json(raw: object, where: str) -> Entry:
    """One journal line after the header, checked: JournalError says why not, in one line."""
    if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
        raise JournalError(f"{where}: not a journal entry")
    kind = raw["kind"]
    try:
        if kind == "trial":
            return TrialEntry(TrialRecord.from_json(raw["record"]))
        if kind == "lost":
            f = Fields(raw, where, JournalError)
            return LostEntry(index=f.int("index", required=True), cause=f.str("cause"), started=f.str("started"),
                             finished=f.str("finished"), seed=f.int("seed"), side=f.str("side"),
                             pair=f.int("pair", None))
        if kind == "calibration":
            return CalibrationEntry(dict(raw["injected"]))
        if kind == "resumed":
            return ResumedEntry(str(raw["at"]))
    except (KeyError, TypeError, ValueError, TrialRecordError) as error:
        raise JournalError(f"{where}: a {kind} entry that cannot be read ({error})") from None
    raise JournalError(f"{where}: unknown journal entry kind {kind!r}")


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def create(path: Path, header: dict) -> "Journal":
        if path.exists():
            raise JournalError(f"journal {path} exists already")
        journal = Journal(path)
        journal.append({"kind": "run", "version": VERSION, **header})
        return journal

    def append(self, entry: Entry | dict) -> None:
        """Add an entry (the header is a dict) and make it durable before returning."""
        line = json.dumps(entry if isinstance(entry, dict) else entry.to_json(), separators=(",", ":")) + "\n"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def read(self) -> tuple[dict, list[Entry]]:
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
        if not entries or entries[0].get("kind") != "run":
            raise JournalError(f"{self.path}: not an isobench journal (no run header)")
        if entries[0].get("version") != VERSION:
            raise JournalError(f"{self.path}: journal version {entries[0].get('version')!r} is not {VERSION}")
        return entries[0], [entry_from_json(raw, f"{self.path}: line {number}")
                            for number, raw in enumerate(entries[1:], 2)]
