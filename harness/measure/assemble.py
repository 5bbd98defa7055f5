"""Trial records -> one Run (harness.results.model): every backend's samples
from every complete trial, each tagged with its trial, and one TrialInfo per
trial, lost ones with their cause. The journal's header says what the run is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.results.model import (
    BackendInfo,
    BackendResult,
    ColdStart,
    Concurrency,
    Conditions,
    DensitySweep,
    EngineTime,
    FirstInstance,
    FrozenMap,
    InjectedDelay,
    Machine,
    Memory,
    MemorySweep,
    Profile,
    Provenance,
    Run,
    Series,
    SteadyState,
    TrialInfo,
    WorkerInfo,
    _freeze,
)

MS, NS = 1e-3, 1e-9


def _series(parts: list[tuple[list[float], int]], scale: float = 1.0) -> Series | None:
    values, trials = [], []
    for samples, trial in parts:
        values += [float(v) * scale for v in samples]
        trials += [trial] * len(samples)
    return Series(tuple(round(v, 9) for v in values), tuple(trials)) if values else None


def _info(name: str, records: list[tuple[int, dict]], header: dict) -> BackendInfo:
    described = next((r["info"] for _, r in records if r.get("info")), {})
    available = any(r.get("info") and not r.get("unavailable") for _, r in records)
    reasons = [r["unavailable"] for _, r in records if r.get("unavailable")]
    failures = tuple(f"trial {index}: {failure}" for index, r in records for failure in r.get("failures", []))
    return BackendInfo(
        name=name, available=available, reason="" if available else (reasons[0] if reasons else "not measured"),
        summary=described.get("summary", ""), transport=described.get("transport", ""),
        family=described.get("family", ""), family_index=int((header.get("family_index") or {}).get(name, 0)),
        instance_class=described.get("instance_class", ""), described_as=described.get("described_as", ""),
        reference=bool(described.get("reference")), roles=tuple(described.get("roles") or ()),
        versions=_freeze(described.get("versions") or {}),
        facts=_freeze(described.get("facts") or {}), failures=failures,
        concurrency_modes=None if described.get("concurrency_modes") is None
        else tuple(described["concurrency_modes"]), variant_of=described.get("variant_of") or "")


def _cold_start(records: list[tuple[int, dict]], cpu_scope: str, key: str = "cold_start") -> ColdStart | None:
    found = [(t, r[key]) for t, r in records if r.get(key)]
    wall = _series([(c["wall_s"], t) for t, c in found])
    if wall is None:
        return None
    cpu = _series([(c["cpu_s"], t) for t, c in found if c.get("cpu_s")])
    phases: dict[str, Series] = {}
    for phase in dict.fromkeys(p for _, c in found for p in c.get("phases_ms", {})):
        series = _series([(c["phases_ms"][phase], t) for t, c in found if phase in c.get("phases_ms", {})], MS)
        if series:
            phases[phase] = series
    answers = tuple(dict.fromkeys(a for _, c in found for a in c.get("answers", [])))
    return ColdStart(wall=wall, cpu=cpu, cpu_scope=cpu_scope if cpu else "", phases=FrozenMap(phases),
                     answers=answers, timer="time.perf_counter_ns: backend.start() called -> first answer received; "
                                            "stopping the instance excluded")


def _first_instance(records: list[tuple[int, dict]]) -> FirstInstance | None:
    found = [(t, r["first_instance"]) for t, r in records if r.get("first_instance")]
    total = _series([(f["total_ms"], t) for t, f in found], MS)
    if total is None:
        return None
    phases = {}
    for phase in dict.fromkeys(p for _, f in found for p in f.get("phases_ms", {})):
        phases[phase] = _series([(f["phases_ms"][phase], t) for t, f in found if phase in f["phases_ms"]], MS)
    uss = _series([(f["uss_growth_bytes"], t) for t, f in found if f.get("uss_growth_bytes")])
    return FirstInstance(total=total, phases=FrozenMap(phases), uss_growth_bytes=uss,
                         timer=next((f.get("timer", "") for _, f in found), ""))


def _engine(records: list[tuple[int, dict]]) -> EngineTime | None:
    found = [(t, r["engine"]) for t, r in records if r.get("engine")]
    handler = _series([(e["handler_ns"], t) for t, e in found])
    if handler is None:
        return None
    steps = [e["clock_resolution_ns"] for _, e in found if e.get("clock_resolution_ns") is not None]
    return EngineTime(handler_ns=handler, loop_ns=_series([(e["loop_ns"], t) for t, e in found]),
                      clock=next((e.get("clock", "") for _, e in found), ""),
                      clock_resolution_ns=max(steps) if steps else None,
                      calls=tuple(c for _, e in found for c in e.get("calls", [])))


def _steady_states(records: list[tuple[int, dict]], where: str) -> tuple[SteadyState, ...]:
    return tuple(SteadyState.from_json(state, where) for _, r in records for state in r.get("steady_state", []))


def backend_result(name: str, records: list[tuple[int, dict]], header: dict) -> BackendResult:
    info = _info(name, records, header)
    cpu_scope = next((r["info"].get("cpu_scope", "") for _, r in records if r.get("info")), "")
    warm = [(t, r["warm_call"]) for t, r in records if r.get("warm_call")]
    awake = [(t, r["warm_call_awake"]) for t, r in records if r.get("warm_call_awake")]
    where = f"trial record of {name}"
    return BackendResult(
        info=info,
        cold_start=_cold_start(records, cpu_scope),
        first_instance=_first_instance(records),
        warm_call=_series([(w["call_ns"], t) for t, w in warm], NS),
        transport=_series([(w["ping_ns"], t) for t, w in warm], NS),
        engine=_engine(records),
        cold_start_awake=_cold_start(records, cpu_scope, "cold_start_awake"),
        warm_call_awake=_series([(w["call_ns"], t) for t, w in awake], NS),
        transport_awake=_series([(w["ping_ns"], t) for t, w in awake], NS),
        warmup=_series([(r["warmup"]["call_ns"], t) for t, r in records if r.get("warmup")], NS),
        steady_state=_steady_states(records, where),
        memory=Memory(tuple(MemorySweep.from_json(r["memory"], where) for _, r in records if r.get("memory")))
        if any(r.get("memory") for _, r in records) else None,
        density=tuple(DensitySweep.from_json(r["density"], where) for _, r in records if r.get("density")),
        concurrency=tuple(Concurrency.from_json(r["concurrency"], where) for _, r in records if r.get("concurrency")),
    )


def trial_info(entry: dict) -> TrialInfo:
    if entry["kind"] == "lost":
        return TrialInfo(index=entry["index"], status="lost", cause=entry.get("cause", ""),
                         started=entry.get("started", ""), finished=entry.get("finished", ""),
                         seed=entry.get("seed", 0), side=entry.get("side", ""), pair=entry.get("pair"))
    record = entry["record"]
    return TrialInfo(index=record["index"], status="complete", started=record["started"],
                     finished=record["finished"], pid=record.get("pid"), seed=record.get("seed", 0),
                     load_average_at_start=tuple(record.get("load_average_at_start") or ()),
                     suites=_freeze(record.get("suites") or {}), side=record.get("side", ""),
                     pair=record.get("pair"), startup_s=record.get("startup_seconds"),
                     suite_seconds=FrozenMap(record.get("suite_seconds") or {}),
                     cpu_regimes=_freeze(record.get("cpu_regimes") or {}))


@dataclass(frozen=True)
class Ending:
    """How the run ended: its status, when, and the load average then."""

    status: str
    finished: str = ""
    load_average: tuple[float, ...] = ()


def assemble(header: dict, entries: list[dict], ending: Ending, side: str | None = None) -> Run:
    """A Run from the journal's header and entries (of one side, for A/B runs)."""
    entries = [e for e in entries if e.get("kind") in ("trial", "lost")
               and (side is None or (e.get("record") or e).get("side") == side)]
    names: list[str] = list(header["options"]["backends"])
    per_backend: dict[str, list[tuple[int, dict]]] = {name: [] for name in names}
    for entry in entries:
        if entry["kind"] != "trial":
            continue
        record = entry["record"]
        for name, data in record["backends"].items():
            per_backend.setdefault(name, []).append((record["index"], data))
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


def suite_errors(entries: list[dict]) -> list[str]:
    out: list[Any] = []
    for entry in entries:
        if entry.get("kind") == "trial":
            out += [f"trial {entry['record']['index']}: {e}" for e in entry["record"].get("suite_errors", [])]
    return out
