"""Trial records -> one Run (harness.results.model): every backend's samples
from every complete trial, each tagged with its trial (each suite merges its
own records: Suite.merge), and one TrialInfo per trial, lost ones with their
cause. The journal's header says what the run is."""

from __future__ import annotations

from dataclasses import dataclass

from harness.results.model import (
    BackendInfo,
    BackendResult,
    Conditions,
    FrozenMap,
    Machine,
    Profile,
    Provenance,
    Run,
    TrialInfo,
    WorkerInfo,
    _freeze,
)
from harness.measure.journal import Entry, LostEntry, RunHeader, TrialEntry
from harness.measure.trial_record import BackendDescription, BackendTrialRecord
from harness.suites import SUITES

Records = list[tuple[int, BackendTrialRecord]]  # one backend's record in each trial, by trial index


def _info(name: str, records: Records, header: RunHeader) -> BackendInfo:
    described = next((r.info for _, r in records if r.info), None) or BackendDescription()
    available = any(r.info and not r.unavailable for _, r in records)
    reasons = [r.unavailable for _, r in records if r.unavailable]
    failures = tuple(f"trial {index}: {failure}" for index, r in records for failure in r.failures)
    return described.info(name=name, available=available,
                          reason="" if available else (reasons[0] if reasons else "not measured"),
                          family_index=header.place_in_family(name), failures=failures)


def backend_result(name: str, records: Records, header: RunHeader) -> BackendResult:
    """One backend's result: its info, and the fields each suite merges from its records."""
    fields: dict = {}
    shared: dict[str, dict] = {"timings": {}, "sweeps": {}}  # several suites add to these
    for suite in SUITES.values():
        for key, value in suite.merge(records).items():
            if key in shared:  # timing figures with no field of their own; whole at-scale sweeps
                shared[key].update({part: found for part, found in value.items() if found})
            else:
                fields[key] = value
    return BackendResult(info=_info(name, records, header), timings=FrozenMap(shared["timings"]),
                         sweeps=FrozenMap(shared["sweeps"]), **fields)


def trial_info(entry: TrialEntry | LostEntry) -> TrialInfo:
    """A journal entry's TrialInfo: a lost trial's from the entry, a complete one's from its record."""
    if isinstance(entry, LostEntry):
        return TrialInfo(index=entry.index, status="lost", cause=entry.cause, started=entry.started,
                         finished=entry.finished, seed=entry.seed, side=entry.side, pair=entry.pair)
    record = entry.record
    return TrialInfo(index=record.index, status="complete", started=record.started,
                     finished=record.finished, pid=record.pid, seed=record.seed,
                     load_average_at_start=tuple(record.load_average_at_start),
                     suites=_freeze(record.suites), side=record.side,
                     pair=record.pair, startup_s=record.startup_seconds,
                     suite_seconds=FrozenMap(record.suite_seconds),
                     cpu_regimes=_freeze(record.cpu_regimes))


@dataclass(frozen=True)
class Ending:
    """How the run ended: its status, when, and the load average then."""

    status: str
    finished: str = ""
    load_average: tuple[float, ...] = ()


def assemble(header: RunHeader, entries: list[Entry], ending: Ending, side: str | None = None) -> Run:
    """A Run from the journal's header and entries (of one side, for A/B runs): it merges, it does not parse."""
    entries = [e for e in entries if isinstance(e, (TrialEntry, LostEntry)) and (side is None or e.side == side)]
    names: list[str] = list(header.options.backends)
    per_backend: dict[str, Records] = {name: [] for name in names}
    for record in (e.record for e in entries if isinstance(e, TrialEntry)):
        for name, data in record.backends.items():
            per_backend.setdefault(name, []).append((record.index, data))
    backends = {name: backend_result(name, records, header) for name, records in per_backend.items() if records}
    for name in names:
        if name not in backends:
            backends[name] = BackendResult(info=BackendInfo(name=name, available=False, reason="not reached"))
    where = "journal header"
    return Run(
        status=ending.status,
        provenance=Provenance.from_json(header.provenance, f"{where}.provenance"),
        machine=Machine.from_json(header.machine, f"{where}.machine"),
        profile=Profile.from_json(header.profile, f"{where}.profile"),
        worker=WorkerInfo.from_json(header.worker, f"{where}.worker"),
        conditions=Conditions.from_json(header.conditions, f"{where}.conditions"),
        trials=tuple(trial_info(e) for e in entries),
        backends=FrozenMap({name: backends[name] for name in names}),
        requested_backends=tuple(names),
        finished=ending.finished,
        load_average_at_end=tuple(ending.load_average),
        injected=FrozenMap(header.injected),
        run_id=header.run_id,
        resumed=header.resumed,
    )


def suite_errors(entries: list[Entry]) -> list[str]:
    return [f"trial {entry.index}: {error}" for entry in entries if isinstance(entry, TrialEntry)
            for error in entry.record.suite_errors]
