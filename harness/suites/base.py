"""What a suite is: one measurement, declared once. A suite module defines a
Suite and harness/suites/__init__.py lists it, as backends/__init__.py lists
the backends. Everything that handles a measurement reads it from there:

- the trial process runs `measure(trial)` for each suite of its plan;
- the trial record keeps what it measured under its `records` keys, each
  record type with `to_json` and `from_json(raw, where)`;
- the assembler calls `merge` to turn every trial's records into the
  BackendResult fields the suite owns;
- the run manager's stopping rule asks `scheduled` whether a trial measures
  it, and `known_by` which series must have narrow intervals;
- a profile (harness/measure/profiles.py) sets what differs from its
  `Settings` defaults, and the suite reads them back with `settings(profile)`;
- summary, key figures, compare and the report read its `figures`; key
  figures also take what `key_series(result)` gives (rates); the
  summary adds what `summary(result)` gives, and the report draws it in the
  section `report` names.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Iterable, Mapping

from harness.results.model import BackendResult, Profile, Series
from harness.results.vocabulary import Figure

Records = list[tuple[int, Any]]  # one backend's BackendTrialRecord in each trial, by trial index


@dataclass(frozen=True)
class KeySeries:
    """A key figure that is not a timing (e.g. a rate): its samples, one or more per trial."""

    metric: str
    unit: str
    series: Series
    higher_is_better: bool = False


@dataclass(frozen=True)
class NoSettings:
    """A suite with no settings of its own."""


class Suite:
    """A measurement: its procedure, records, figures, stopping rule and report section."""

    name: str = ""  # its key: in profiles, plans and trial records
    label: str = ""  # as progress lines and the report say it
    figures: tuple[Figure, ...] = ()  # the timing figures it measures (summary, compare, report)
    records: Mapping[str, type] = {}  # trial-record key -> record type
    adaptive: bool = True  # sampled trial after trial until `known_by` is narrow enough
    paired: bool = False  # the reference backend stays measured while any other is, so ratios stay paired
    report: str = ""  # the report section that draws it (report/markdown.py SECTIONS; "": a table of its figures)
    Settings: type = NoSettings  # its part of the profile: a frozen dataclass, its defaults declared once

    def settings(self, profile: Profile):
        """This suite's settings in `profile` (the Settings defaults for what the profile does not say)."""
        names = {item.name for item in fields(self.Settings)}
        return self.Settings(**{key: value for key, value in profile.settings.items() if key in names})

    def scheduled(self, profile: Profile, index: int) -> bool:
        """Whether trial `index` measures this suite at all."""
        return True

    def measure(self, trial) -> None:
        """The procedure: every backend of `trial.members(self.name)`, in the
        trial's random orders, each result put in `trial.record(name)`."""
        raise NotImplementedError

    def merge(self, records: Records) -> dict[str, Any]:
        """The BackendResult fields this suite owns, from one backend's records in every trial."""
        raise NotImplementedError

    def summary(self, result: BackendResult) -> dict[str, Any]:
        """Its lines in one backend's summary beyond its timing figures (the summary gives those from
        `figures`): keys of the summary's backend entry, JSON values."""
        return {}

    def known_by(self, result: BackendResult) -> dict[str, Series | None]:
        """The series whose intervals say when this backend's figures are known (stopping rule): by
        default its wall-clock figures on idle CPUs that the backend has."""
        found = {figure.key: result.timing(figure.key) for figure in self.figures if figure.series
                 and figure.clock == "wall" and figure.regime == "idle"}
        return {key: value for key, value in found.items() if value}

    def key_series(self, result: BackendResult) -> tuple[KeySeries, ...]:
        """Its key figures beyond its timing figures (history and the exporters read them)."""
        return ()

    def close(self, trial) -> None:
        """Called once when the trial's measuring is done (before its record is written)."""


def series(parts: Iterable[tuple[Iterable[float], int]], scale: float = 1.0) -> Series | None:
    """One Series from (samples, trial) pairs: every sample tagged with its trial, in seconds after `scale`."""
    values, trials = [], []
    for samples, trial in parts:
        samples = [float(v) * scale for v in samples]
        values += samples
        trials += [trial] * len(samples)
    return Series(tuple(round(v, 9) for v in values), tuple(trials)) if values else None


def parts(records: Records, key: str) -> list[tuple[int, Any]]:
    """(trial, record) for every trial whose record has `key`."""
    return [(trial, record.part(key)) for trial, record in records if record.part(key) is not None]


def spread(profile: Profile, count: int) -> set[int]:
    """The trials a capacity sweep runs in: `count` of them, from the last of the first `min_trials` back."""
    first = profile.stopping.min_trials
    return {(first - 1 - i) % first for i in range(min(count, first))}


class CapacitySweep(Suite):
    """A suite that sweeps a backend to scale (density, concurrency): not
    sampled until known, but run in the number of trials its profile setting
    `trials_setting` names, spread over the first ones."""

    adaptive = False
    report = "scale"  # harness/report/scale.py
    trials_setting = ""

    def scheduled(self, profile: Profile, index: int) -> bool:
        return index in spread(profile, getattr(self.settings(profile), self.trials_setting))
