"""Checked reading of one JSON object: every loader of a file or a record
that crosses a process boundary (results, trial records, journal entries,
containment records, run options) reads its fields through `Fields`, so a
missing field or one of the wrong type is one error line naming its path.
A field that is absent or null has its default."""

from __future__ import annotations

from typing import Any

from harness.results.schema import ResultsError


class Fields:
    """Typed access to one JSON object; `error` is the exception a bad field raises."""

    def __init__(self, raw: object, where: str, error: type[Exception] = ResultsError):
        if not isinstance(raw, dict):
            raise error(f"{where}: expected an object, found {type(raw).__name__}")
        self.raw, self.where, self.error = raw, where, error

    def has(self, key: str) -> bool:
        """Whether the field is there and not null."""
        return self.raw.get(key) is not None

    def _get(self, key: str, kinds: tuple, default: Any, required: bool) -> Any:
        if key not in self.raw or self.raw[key] is None:
            if required:
                raise self.error(f"{self.where}: missing '{key}'")
            return default
        value = self.raw[key]
        if kinds and (not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds):
            raise self.error(f"{self.where}.{key}: expected {'/'.join(k.__name__ for k in kinds)}, "
                             f"found {type(value).__name__}")
        return value

    def value(self, key: str, default: Any = None, required: bool = False) -> Any:
        """The field as it is (for a loader of its own to check), or `default`."""
        return self._get(key, (), default, required)

    def str(self, key: str, default: str | None = "", required: bool = False) -> str | None:
        return self._get(key, (str,), default, required)

    def int(self, key: str, default: int | None = 0, required: bool = False) -> int | None:
        return self._get(key, (int,), default, required)

    def float(self, key: str, default: float | None = None, required: bool = False) -> float | None:
        value = self._get(key, (int, float), default, required)
        return float(value) if value is not None else None

    def number(self, key: str, default: float | None = None, required: bool = False) -> float | int | None:
        """An int or a float, as written."""
        return self._get(key, (int, float), default, required)

    def bool(self, key: str, default: bool | None = False, required: bool = False) -> bool | None:
        return self._get(key, (bool,), default, required)

    def list(self, key: str, required: bool = False) -> list:
        return self._get(key, (list,), [], required)

    def dict(self, key: str, required: bool = False) -> dict:
        return self._get(key, (dict,), {}, required)

    def sub(self, key: str, required: bool = False) -> "Fields | None":
        value = self._get(key, (dict,), None, required)
        return Fields(value, f"{self.where}.{key}", self.error) if value is not None else None

    def numbers(self, key: str, required: bool = False) -> tuple[float, ...]:
        values = self.list(key, required)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise self.error(f"{self.where}.{key}: expected a list of numbers")
        return tuple(float(v) for v in values)

    def ints(self, key: str, required: bool = False) -> tuple[int, ...]:
        values = self.list(key, required)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise self.error(f"{self.where}.{key}: expected a list of integers")
        return tuple(values)

    def strs(self, key: str, required: bool = False) -> tuple[str, ...]:
        values = self.list(key, required)
        if not all(isinstance(v, str) for v in values):
            raise self.error(f"{self.where}.{key}: expected a list of strings")
        return tuple(values)

    def floats_by_name(self, key: str) -> dict[str, float]:
        """An object of numbers ({"a": 1.5, ...})."""
        found = self.dict(key)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in found.values()):
            raise self.error(f"{self.where}.{key}: expected an object of numbers")
        return {str(k): float(v) for k, v in found.items()}
