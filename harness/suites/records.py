"""Reading a suite's part of a trial record: each record type's `from_json`
checks its input with these, and a record of the wrong shape is one
TrialRecordError line."""

from __future__ import annotations

from typing import Any, Mapping

from harness.results.fields import Fields


class TrialRecordError(ValueError):
    """A trial record that does not have the shape it must (one line)."""


def floats(raw: object, what: str) -> list[float]:
    if not isinstance(raw, list):
        raise TrialRecordError(f"{what} is not a list")
    return [float(v) for v in raw]


def record_fields(raw: object, what: str) -> Fields:
    """Checked access to a record's fields; a bad one is a TrialRecordError naming it."""
    return Fields(raw, what, TrialRecordError)


def phases(found: Fields, key: str) -> dict[str, list[float]]:
    """An object of phase -> samples ({"compile": [0.1, ...]}); {} when absent."""
    part = found.sub(key)
    return {str(phase): list(part.numbers(phase)) for phase in part.raw} if part else {}


def mapping(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise TrialRecordError(f"{what} is not an object")
    return raw
