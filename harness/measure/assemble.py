"""Trial records -> one Run (harness.results.model): every backend's samples
from every complete trial, each tagged with its trial, and one TrialInfo per
trial, lost ones with their cause. The journal's header says what the run is."""

from __future__ import annotations

from dataclasses import dataclass

from harness.results.model import (
    BackendInfo,
    BackendResult,
    ColdStart,
    Conditions,
    EngineTime,
    FirstInstance,
    FrozenMap,
    InjectedDelay,
    Machine,
    Memory,
    Profile,
    Provenance,
    Run,
    Series,
    TrialInfo,
    WorkerInfo,
    _freeze,
)
from harness.measure.journal import Entry, LostEntry, TrialEntry
from harness.measure.trial_record import BackendDescription, BackendTrialRecord

MS, NS = 1e-3, 1e-9


def _series(parts: list[tuple[list[float], int]], scale: float = 1.0) -> Series | None:
    values, trials = [], []
    for samples, trial in parts:
        values += [float(v) * scale for v in samples]
        trials += [trial] * len(samples)
    return Series(tuple(round(v, 9) for v in values), tuple(trials)) if values else None


Records = list[tuple[int, BackendTrialRecord]]  # one backend's record in each trial, by trial index


def _info(name: str, records: Records, header: dict) -> BackendInfo:
    described = next((r.info for _, r in records if r.info), None) or BackendDescription()
    available = any(r.info and not r.unavailable for _, r in records)
    reasons = [r.unavailable for _, r in records if r.unavailable]
    failures = tuple(f"trial {index}: {failure}" for index, r in records for failure in r.failures)
    return described.info(name=name, available=available,
                          reason="" if available else (reasons[0] if reasons else "not measured"),
                          family_index=int((header.get("family_index") or {}).get(name, 0)), failures=failures)


def _cold_start(records: Records, cpu_scope: str, key: str = "cold_start") -> ColdStart | None:
    found = [(t, getattr(r, key)) for t, r in records if getattr(r, key)]
    wall = _series([(c.wall_s, t) for t, c in found])
    if wall is None:
        return None
    cpu = _series([(c.cpu_s, t) for t, c in found if c.cpu_s])
    phases: dict[str, Series] = {}
    for phase in dict.fromkeys(p for _, c in found for p in c.phases_ms):
        series = _series([(c.phases_ms[phase], t) for t, c in found if phase in c.phases_ms], MS)
        if series:
            phases[phase] = series
    answers = tuple(dict.fromkeys(a for _, c in found for a in c.answers))
    return ColdStart(wall=wall, cpu=cpu, cpu_scope=cpu_scope if cpu else "", phases=FrozenMap(phases),
                     answers=answers, timer="time.perf_counter_ns: backend.start() called -> first answer received; "
                                            "stopping the instance excluded")


def _first_instance(records: Records) -> FirstInstance | None:
    found = [(t, r.first_instance) for t, r in records if r.first_instance]
    total = _series([(f.total_ms, t) for t, f in found], MS)
    if total is None:
        return None
    phases = {}
    for phase in dict.fromkeys(p for _, f in found for p in f.phases_ms):
        phases[phase] = _series([(f.phases_ms[phase], t) for t, f in found if phase in f.phases_ms], MS)
    uss = _series([(f.uss_growth_bytes, t) for t, f in found if f.uss_growth_bytes])
    return FirstInstance(total=total, phases=FrozenMap(phases), uss_growth_bytes=uss,
                         timer=next((f.timer for _, f in found), ""))


def _engine(records: Records) -> EngineTime | None:
    found = [(t, r.engine) for t, r in records if r.engine]
    handler = _series([(e.handler_ns, t) for t, e in found])
    if handler is None:
        return None
    steps = [e.clock_resolution_ns for _, e in found if e.clock_resolution_ns is not None]
    return EngineTime(handler_ns=handler, loop_ns=_series([(e.loop_ns, t) for t, e in found]),
                      clock=next((e.clock for _, e in found), ""),
                      clock_resolution_ns=max(steps) if steps else None,
                      calls=tuple(c for _, e in found for c in e.calls))


def backend_result(name: str, records: Records, header: dict) -> BackendResult:
    info = _info(name, records, header)
    cpu_scope = next((r.info.cpu_scope for _, r in records if r.info), "")
    warm = [(t, r.warm_call) for t, r in records if r.warm_call]
    awake = [(t, r.warm_call_awake) for t, r in records if r.warm_call_awake]
    return BackendResult(
        info=info,
        cold_start=_cold_start(records, cpu_scope),
        first_instance=_first_instance(records),
        warm_call=_series([(w.call_ns, t) for t, w in warm], NS),
        transport=_series([(w.ping_ns, t) for t, w in warm], NS),
        engine=_engine(records),
        cold_start_awake=_cold_start(records, cpu_scope, "cold_start_awake"),
        warm_call_awake=_series([(w.call_ns, t) for t, w in awake], NS),
        transport_awake=_series([(w.ping_ns, t) for t, w in awake], NS),
        warmup=_series([(r.warmup.call_ns, t) for t, r in records if r.warmup], NS),
        steady_state=tuple(state for _, r in records for state in r.steady_state),
        memory=Memory(tuple(r.memory for _, r in records if r.memory))
        if any(r.memory for _, r in records) else None,
        density=tuple(r.density for _, r in records if r.density),
        concurrency=tuple(r.concurrency for _, r in records if r.concurrency),
    )


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


def assemble(header: dict, entries: list[Entry], ending: Ending, side: str | None = None) -> Run:
    """A Run from the journal's header and entries (of one side, for A/B runs): it merges, it does not parse."""
    entries = [e for e in entries if isinstance(e, (TrialEntry, LostEntry)) and (side is None or e.side == side)]
    names: list[str] = list(header["options"]["backends"])
    per_backend: dict[str, Records] = {name: [] for name in names}
    for record in (e.record for e in entries if isinstance(e, TrialEntry)):
        for name, data in record.backends.items():
            per_backend.setdefault(name, []).append((record.index, data))
    backends = {name: backend_result(name, records, header) for name, records in per_backend.items() if records}
    for name in names:
        if name not in backends:
            backends[name] = BackendResult(info=BackendInfo(name=name, available=False, reason="not reached"))
    injected = {name: InjectedDelay(**value) for name, value in (header.get("injected") or {}).items()}
    where = "journal header"
    return Run(
        status=ending.status,
        provenance=Provenance.from_json(header["provenance"], f"{where}.provenance"),
        machine=Machine.from_json(header["machine"], f"{where}.machine"),
        profile=Profile.from_json(header["profile"], f"{where}.profile"),
        worker=WorkerInfo.from_json(header["worker"], f"{where}.worker"),
        conditions=Conditions.from_json(header["conditions"], f"{where}.conditions"),
        trials=tuple(trial_info(e) for e in entries),
        backends=FrozenMap({name: backends[name] for name in names}),
        requested_backends=tuple(names),
        finished=ending.finished,
        load_average_at_end=tuple(ending.load_average),
        injected=FrozenMap(injected),
        run_id=header.get("run_id", ""),
        resumed=tuple(header.get("resumed") or ()),
    )


def suite_errors(entries: list[Entry]) -> list[str]:
    return [f"trial {entry.index}: {error}" for entry in entries if isinstance(entry, TrialEntry)
            for error in entry.record.suite_errors]
