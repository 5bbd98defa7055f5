"""The run's journal: an append-only file of JSON lines, each fsync'd the
moment it is written. The first line says what the run is (its options,
provenance and machine); each later line is one finished trial, or one lost
trial with its cause. A crash costs at most the trial under way, and
`run --resume JOURNAL` finishes the run from what the journal holds."""

from __future__ import annotations

import json
import os
from pathlib import Path

VERSION = 1


class JournalError(Exception):
    """The journal cannot be used (one line)."""


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

    def append(self, entry: dict) -> None:
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def read(self) -> tuple[dict, list[dict]]:
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
        return entries[0], entries[1:]
