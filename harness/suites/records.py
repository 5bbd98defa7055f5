"""Reading a suite's part of a trial record: each record type's `from_json`
checks its input with these, and a record of the wrong shape is one
TrialRecordError line."""

from __future__ import annotations

from typing import Any, Mapping


class TrialRecordError(ValueError):
    """A trial record that does not have the shape it must (one line)."""


def floats(raw: object, what: str) -> list[float]:
    if not isinstance(raw, list):
        raise TrialRecordError(f"{what} is not a list")
    return [float(v) for v in raw]


def phases(raw: object, what: str) -> dict[str, list[float]]:
    if not isinstance(raw, Mapping):
        raise TrialRecordError(f"{what} is not an object")
    return {str(phase): floats(values, f"{what}.{phase}") for phase, values in raw.items()}


def mapping(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise TrialRecordError(f"{what} is not an object")
    return raw
