"""The summary of a run: a stable JSON shape other tools and CI read, and the
same as markdown. Every median, percentile and ratio carries the interval of
the bootstrap over trials (harness/analysis/bootstrap.py), the variance between and
within trials, and how many trials a +-5% interval would take here."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from harness.analysis.concurrency import queueing_note
from harness.analysis.estimate import Estimate, estimate, paired_ratio
from harness.analysis.summary_figures import RatioSummary, TimingSummary, as_json
from harness.results.histogram import tail as histogram_tail
from harness.results.model import LATENCY_SUITES, BackendResult, Run, thaw
from harness.results.vocabulary import BELOW_RESOLUTION, MEMORY_KINDS
from harness.suites import FIGURES, RATIO_TIMINGS, SUITES, TAILED, TIMINGS

SUMMARY_SCHEMA = "isobench-summary/2"
UNITS = {
    **{FIGURES[key].summary_key: FIGURES[key].unit_words for key in TIMINGS},
    "hdr": "per-call percentiles from the run's HdrHistogram (µs, 0.1% precision), each with the count of calls "
           "at or above it",
    "wake_cost_us": "microseconds: warm call with idle CPUs minus warm call with CPUs held awake",
    "steady_state.calls_until_steady": "calls from the first call after the cold start (median over trials that settled)",
    "steady_state.steady_median_us": "microseconds: median of the steady segment (median over trials that settled)",
    "engine_ns": "nanoseconds per handler call, in the engine",
    "memory_per_instance_mb": "MiB (2^20 bytes)",
    "density.instances_per_gib": "instances per GiB (2^30 bytes) of density.memory_kind",
    "density.marginal_mb": "MiB (2^20 bytes) per added instance",
    "concurrency.throughput_rps": "completed calls per second, all callers together",
    "concurrency.p99_us": "microseconds",
    "storm.bursts.start_p50_ms": "milliseconds from the burst's release to an instance's first answer (median)",
    "storm.bursts.start_p99_ms": "milliseconds from the burst's release to an instance's first answer (99th percentile)",
    "storm.bursts.last_answer_ms": "milliseconds from the burst's release to the last instance's first answer",
    "storm.bursts.instances_per_s": "instances started per second: N over the median time to the last answer",
    "load.pools.points.p50.us": "microseconds from a request's intended arrival to its answer (open loop)",
    "load.pools.saturation_rps": "the highest achieved requests per second of the pool",
}
KEYS = {key: FIGURES[key].summary_key for key in TIMINGS}


def timing(found: Estimate | None, scale: float, tails: Mapping[str, Estimate | None] | None = None,
           samples: np.ndarray | None = None) -> TimingSummary | None:
    """A timing figure in its display unit: median with its interval, p90/p99 with theirs."""
    return TimingSummary.of(found, scale, tails, samples) if found is not None else None


def timing_figure(result: BackendResult, key: str, tails: bool = True) -> TimingSummary | None:
    series = result.timing(key)
    if not series:
        return None
    edges = {"p90": estimate(series, 0.9), "p99": estimate(series, 0.99)} if tails and len(series) >= 20 else None
    found = estimate(series)
    hdr = histogram_tail(series.values) if key in LATENCY_SUITES else None
    return TimingSummary.of(found, FIGURES[key].scale, edges, series.array(), hdr) if found else None


@dataclass(frozen=True)
class BackendSummary:
    """One backend's entry: whether it was measured (or why not), its timing
    figures (by summary key: "cold_start_ms"), and each suite's own lines (Suite.summary)."""

    available: bool
    reason: str
    family: str
    instance_class: str
    described_as: str
    timings: Mapping[str, TimingSummary] = field(default_factory=dict)
    lines: Mapping[str, Any] = field(default_factory=dict)  # summary key -> a record with to_json, or JSON
    backend_facts: Mapping[str, Any] | None = None
    failures: tuple[str, ...] = ()

    def timing(self, summary_key: str) -> TimingSummary | None:
        return self.timings.get(summary_key)

    def line(self, key: str) -> Any:
        """A suite's line ("density", "engine_ns", ...), or None."""
        return self.lines.get(key)

    def to_json(self) -> dict:
        out: dict = {"available": self.available, "reason": self.reason, "family": self.family,
                     "instance_class": self.instance_class, "described_as": self.described_as}
        out.update({key: figure.to_json() for key, figure in self.timings.items()})
        out.update({key: as_json(value) for key, value in self.lines.items()})
        if self.backend_facts:
            out["backend_facts"] = self.backend_facts
        if self.failures:
            out["failures"] = list(self.failures)
        return out


def backend_summary(result: BackendResult) -> BackendSummary:
    info = result.info
    reason = (info.reason or "no measurement was recorded") if info.available and not result.measured else info.reason
    timings = {name: figure for key, name in KEYS.items()
               if (figure := timing_figure(result, key, tails=key in TAILED))}
    lines: dict[str, Any] = {}
    for suite in SUITES.values():  # each suite's own lines (Suite.summary)
        lines.update(suite.summary(result))
    return BackendSummary(info.available and result.measured, reason, info.family, info.instance_class,
                          info.described_as, timings, lines, thaw(info.facts) if info.facts else None,
                          tuple(info.failures))


def ratios(run: Run) -> dict[str, dict[str, RatioSummary]]:
    """Each backend over the reference, paired by trial: timings and memory (figure -> "a/ref" -> ratio)."""
    reference = run.reference
    out: dict = {}
    if reference is None:
        return out
    ref = run.backends[reference]
    for name, result in run.backends.items():
        if name == reference or not result.measured:
            continue
        pair = f"{name}/{reference}"
        for key in RATIO_TIMINGS:
            mine, theirs = result.timing(key), ref.timing(key)
            found = paired_ratio(mine, theirs) if mine and theirs else None
            if found:
                out.setdefault(key, {})[pair] = RatioSummary.of(found)
        if result.memory and ref.memory:
            for kind, spec in MEMORY_KINDS.items():
                if spec.ratio and kind in result.memory.kinds and kind in ref.memory.kinds:
                    found = paired_ratio(result.memory.per_instance(kind), ref.memory.per_instance(kind))
                    if found:
                        out.setdefault(f"memory_{kind}", {})[pair] = RatioSummary.of(found)
    return out


@dataclass(frozen=True)
class RunSummary:
    """The summary of a run; `to_json` is the stable JSON (SUMMARY_SCHEMA)."""

    run: Run
    backends: Mapping[str, BackendSummary]
    ratios: Mapping[str, Mapping[str, RatioSummary]]

    def ratio(self, key: str, pair: str) -> RatioSummary | None:
        """A figure's ratio for "backend/reference", or None."""
        return self.ratios.get(key, {}).get(pair)

    def to_json(self) -> dict:
        run = self.run
        machine, provenance = run.machine, run.provenance
        return {
            "schema": SUMMARY_SCHEMA,
            "status": run.status,
            "profile": run.profile.name,
            "worker": run.worker.to_json(),
            "reference": run.reference,
            "trials": {"complete": len(run.complete_trials),
                       "lost": [{"index": t.index, "cause": t.cause} for t in run.lost_trials]},
            "backends": {name: entry.to_json() for name, entry in self.backends.items()},
            "ratios": as_json(self.ratios),
            "stopping": [{"figure": s.figure, "trials": s.trials, "half_width": s.half_width,
                          "stopped_because": s.stopped_because} for s in run.stopping],
            "injected": {name: d.describe() for name, d in run.injected.items()},
            "units": UNITS,
            "metadata": {
                "timer": thaw(machine.timer),
                "cpu_model": machine.cpu_model,
                "cpu_count": machine.cpu_count,
                "kernel": machine.kernel,
                "virtualization": thaw(machine.virtualization),
                "python": machine.python,
                "git_commit": provenance.commit,
                "git_dirty": provenance.dirty,
                "started": provenance.started,
                "load_average_at_start": list(provenance.load_average),
                "provenance_recorded_at_start": provenance.recorded_at_start,
                "load_average_at_end": list(run.load_average_at_end),
                "pinned_cpus": list(run.conditions.pinned_cpus) if run.conditions.pinned_cpus else None,
                "versions": {name: thaw(result.info.versions) for name, result in run.backends.items()},
            },
        }


def summarize_run(run: Run) -> RunSummary:
    return RunSummary(run, {name: backend_summary(result) for name, result in run.backends.items()}, ratios(run))


# ---------------------------------------------------------------- markdown

def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.{digits + 1}g}" if abs(value) < 1 else f"{value:.{digits + 1}f}".rstrip("0").rstrip(".")


def coverage_mark(figure: TimingSummary | RatioSummary) -> str:
    """' (75%)' after an interval whose trials cannot give 95% (Estimate.coverage), else nothing."""
    coverage = figure.ci_coverage
    return f" ({100 * coverage:.3g}%)" if coverage is not None and coverage < 0.95 else ""


def with_ci(figure: TimingSummary | None) -> str:
    if not figure:
        return "–"
    ci = figure.ci95
    return f"{fmt(figure.median)}" + (f" [{fmt(ci[0])}–{fmt(ci[1])}]{coverage_mark(figure)}" if ci else "")


def _engine_cell(entry: BackendSummary) -> str:
    engine = entry.line("engine_ns")
    if not engine:
        return "–"
    return with_ci(engine.net) if engine.net else BELOW_RESOLUTION


def to_markdown(summary: RunSummary) -> str:
    run = summary.run
    lines = ["| backend | cold start ms [95% CI] | CPU ms | trials × n | warm call µs [95% CI] | transport µs "
             "| in-engine ns | memory/instance MiB (USS / PSS) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, entry in summary.backends.items():
        if not entry.available:
            lines.append(f"| {name} | unavailable: {entry.reason} | | | | | | |")
            continue
        cold = entry.timing("cold_start_ms")
        memory = entry.line("memory_per_instance_mb") or {}
        mem = " / ".join(fmt(memory[kind].median if kind in memory else None) for kind in ("uss", "pss")) \
            if memory else "–"
        shape = f"{cold.trials} × {cold.n // max(1, cold.trials)}" if cold else "–"
        lines.append(f"| {name} | {with_ci(cold)} | {with_ci(entry.timing('cold_start_cpu_ms'))} | {shape} "
                     f"| {with_ci(entry.timing('warm_call_us'))} | {with_ci(entry.timing('transport_us'))} "
                     f"| {_engine_cell(entry)} | {mem} |")
    notes = []
    if run.status != "complete":
        notes.append(f"**Run status: {run.status}** — some figures may be missing.")
    for lost in run.lost_trials:
        notes.append(f"Trial {lost.index} was lost: {lost.cause}.")
    if run.injected:
        injected = {name: d.describe() for name, d in run.injected.items()}
        notes.append(f"**INJECTED delays (test only, not a real measurement): {injected}**")
    for name, entry in summary.backends.items():
        first = entry.timing("first_instance_ms")
        if first:
            notes.append(f"First instance of {name} in a fresh process (engine start-up included): "
                         f"{with_ci(first)} ms.")
    for name, ratio in summary.ratios.get("cold_start", {}).items():
        ci, pi = ratio.ci95, ratio.pi95
        coverage = ratio.ci_coverage or 0.95
        notes.append(f"Cold start {name}: {ratio.value:.3g}x"
                     + (f" ({100 * coverage:.3g}% CI {ci[0]:.3g}–{ci[1]:.3g}" if ci else "")
                     + (f"; a rerun here: {pi[0]:.3g}–{pi[1]:.3g})" if ci and pi else ")" if ci else ""))
    for name, ratio in summary.ratios.get("memory_pss", {}).items():
        notes.append(f"Memory per instance (PSS) {name}: {ratio.value:.3g}x")
    spread = _spread_note(summary)
    if spread:
        notes.append(spread)
    notes.append("Intervals: [a–b] is a 95% confidence interval for this machine's median now, over trials; "
                 "where the trials are too few for 95% it is marked with the coverage they allow (75% for 3 "
                 "trials). 'A rerun here' is a 95% prediction interval for a rerun's estimate.")
    notes.append("CPU regime: the table above is timed with idle CPUs (as the machine is: an idle CPU sleeps and "
                 "waking it is timed); the table below adds the same figures with the CPUs held awake.")
    timer = run.machine.timer
    if timer:
        notes.append(f"Timer: {timer.get('timer')} read overhead {timer.get('read_overhead_median_ns')} ns.")
    return "\n".join(lines + [""] + [f"- {note}" for note in notes] + _regime_lines(summary)
                     + _density_lines(summary) + _concurrency_lines(summary) + _storm_lines(summary) + _start_rate_lines(summary)
                     + _load_lines(summary)) + "\n"


MIN_TAIL_CALLS = 5  # a tail percentile needs this many calls at or above it to be shown


def _deep_tail(hdr: Mapping, key: str) -> str:
    found = hdr[key]
    if found["calls_at_or_above"] < MIN_TAIL_CALLS:
        return f"too few calls ({hdr['calls']})"
    return f"{fmt(found['us'])} ({found['calls_at_or_above']})"


def _regime_lines(summary: RunSummary) -> list[str]:
    """Warm call and cold start in both CPU regimes, and what waking an idle CPU adds to a call."""
    rows = [(name, entry) for name, entry in summary.backends.items()
            if entry.timing("warm_call_awake_us") or entry.timing("cold_start_awake_ms")]
    if not rows:
        return []
    lines = ["", "| backend | warm call µs, idle CPUs | warm call µs, CPUs awake | waking an idle CPU adds µs "
             "| cold start ms, idle | cold start ms, awake |", "|---|---|---|---|---|---|"]
    for name, entry in rows:
        lines.append(f"| {name} | {with_ci(entry.timing('warm_call_us'))} "
                     f"| {with_ci(entry.timing('warm_call_awake_us'))} | {with_ci(entry.line('wake_cost_us'))} "
                     f"| {with_ci(entry.timing('cold_start_ms'))} | {with_ci(entry.timing('cold_start_awake_ms'))} |")
    steady = [(name, regime, found) for name, entry in summary.backends.items()
              for regime, found in (entry.line("steady_state") or {}).items()]
    if steady:
        lines += ["", "| backend | CPUs | steady state (per trial) | calls until steady | steady-state median µs |",
                  "|---|---|---|---|---|"]
        for name, regime, found in steady:
            per_trial = ", ".join(found.per_trial)
            lines.append(f"| {name} | {regime} | {found.classification} ({per_trial}) "
                         f"| {fmt(found.calls_until_steady)} | {fmt(found.steady_median_us)} |")
    tails = []
    for name, entry in summary.backends.items():
        cells = []
        for key in ("warm_call_us", "warm_call_awake_us"):
            figure = entry.timing(key)
            hdr = figure.hdr if figure else None
            cells += [_deep_tail(hdr, "p99"), _deep_tail(hdr, "p999")] if hdr else ["–", "–"]
        if any(cell != "–" for cell in cells):
            tails.append(f"| {name} | " + " | ".join(cells) + " |")
    if tails:
        lines += ["", "| backend | warm call p99 µs, idle (calls at or above) | p99.9, idle | p99, awake | p99.9, awake |",
                  "|---|---|---|---|---|", *tails,
                  "", "- Tail percentiles from the run's HdrHistogram; one resting on fewer than "
                  f"{MIN_TAIL_CALLS} calls is shown as too few calls."]
    calls = summary.ratios.get("warm_call_awake", {})
    if calls:
        lines += ["", "- Warm call over the reference, CPUs awake (where the conclusions about calls come from): "
                  + "; ".join(f"{pair} {r.value:.3g}x" + (f" ({r.ci95[0]:.3g}–{r.ci95[1]:.3g})" if r.ci95 else "")
                              for pair, r in calls.items())]
    return lines


def _spread_note(summary: RunSummary) -> str | None:
    parts = []
    for name, entry in summary.backends.items():
        cold = entry.timing("cold_start_ms")
        if cold and cold.between_trials_cv is not None and cold.within_trial_cv is not None:
            need = cold.trials_for_5pct
            parts.append(f"{name} {100 * cold.between_trials_cv:.0f}% / {100 * cold.within_trial_cv:.0f}%"
                         + (f" (±5%: ~{need} trials)" if need else ""))
    if not parts:
        return None
    return "Cold-start spread between trials / within a trial (CV): " + "; ".join(parts) + "."


def _density_lines(summary: RunSummary) -> list[str]:
    rows = [(name, entry.line("density")) for name, entry in summary.backends.items() if entry.line("density")]
    if not rows:
        return []
    lines = ["", "| backend | instances per GiB | MiB per added instance | memory counted | largest N | stopped because |",
             "|---|---|---|---|---|---|"]
    for name, density in rows:
        lines.append(f"| {name} | {fmt(density.instances_per_gib)} | {fmt(density.marginal_mb, 2)} "
                     f"| {density.memory_kind or '–'} | {density.max_n_reached} | {density.stopped_because} |")
    return lines


def _concurrency_lines(summary: RunSummary) -> list[str]:
    rows = [(name, entry.line("concurrency")) for name, entry in summary.backends.items()
            if entry.line("concurrency")]
    if not rows:
        return []
    levels = sorted({k for _, entry in rows for k in entry.primary.levels})
    header = " | ".join(f"{k} caller{'' if k == 1 else 's'}: calls/s, p99 µs" for k in levels)
    lines = ["", f"| backend | mode | {header} |", "|---|---|" + "---|" * len(levels)]
    for name, entry in rows:
        shown = [(entry.mode, entry.primary)] + [(mode, entry.others[mode]) for mode in ("shared",)
                                                 if mode in entry.others]
        for mode, figures in shown:
            cells = []
            for k in levels:
                level = figures.levels[k] if k in figures.levels else None
                cells.append(f"{fmt(level.throughput_rps)}, {fmt(level.p99_us)}" if level and level.calls else "–")
            lines.append(f"| {name} | {mode} | {' | '.join(cells)} |")
    cores = next((entry.cores for _, entry in rows if entry.cores), 0)
    return lines + ["", f"- Concurrency: {queueing_note(levels, cores)}."] if cores else lines


def _storm_lines(summary: RunSummary) -> list[str]:
    rows = [(name, entry.line("storm")) for name, entry in summary.backends.items() if entry.line("storm")]
    if not rows:
        return []
    sizes = sorted({b.n for _, entry in rows for b in entry.bursts})
    header = " | ".join(f"burst of {n}: last answer, p99 ms" for n in sizes)
    lines = ["", f"| backend | served | {header} | stopped because |", "|---|---|" + "---|" * len(sizes) + "---|"]
    for name, entry in rows:
        cells = []
        for n in sizes:
            burst = entry.burst(n)
            if burst is None:
                cells.append("–")
                continue
            last = fmt(burst.last_answer_ms.value) if burst.last_answer_ms else "–"
            p99 = fmt(burst.start_p99_ms.value) if burst.start_p99_ms else "–"
            cells.append(f"{last}, {p99}" + (f" ({burst.failed} failed)" if burst.failed else ""))
        lines.append(f"| {name} | {entry.served} | {' | '.join(cells)} | {entry.stopped_because} |")
    return lines + ["", "- Storms: N new instances requested at the same moment, each timed from the release to its "
                    "first answer (docs/methodology.md#cold-start-storms)."]


def _start_rate_lines(summary: RunSummary) -> list[str]:
    rows = [(name, entry.line("start_rate")) for name, entry in summary.backends.items() if entry.line("start_rate")]
    if not rows:
        return []
    lines = ["", "| backend | served | lone start ms | bound ms | arrivals/s: p50, p99 ms | sustained starts/s "
             "(per core) | stopped because |", "|---|---|---|---|---|---|---|"]
    for name, entry in rows:
        cells = "; ".join(f"{r.rate:g}: {fmt(r.p50_ms.value) if r.p50_ms else '–'}, "
                          f"{fmt(r.p99_ms.value) if r.p99_ms else '–'}" + (f" ({r.failed} failed)" if r.failed else "")
                          + (f" (on the floor in {r.on_the_floor})" if r.on_the_floor else "")
                          for r in entry.rates)
        rate = fmt(entry.sustained_median_rps) if entry.sustained_median_rps else "none"
        if entry.trial_range_rps:
            rate += " [trials {}–{}]".format(*map(fmt, entry.trial_range_rps))
        lines.append(f"| {name} | {entry.served} | {fmt(entry.single_start_ms.value) if entry.single_start_ms else '–'} "
                     f"| {fmt(entry.bound_ms)} | {cells} | {'≥ ' if entry.at_least else ''}{rate} "
                     f"({fmt(entry.per_core_rps)}) | {entry.stopped_because} |")
    return lines + ["", "- Sustained start rate: Poisson arrivals, each request served by a new instance, timed from "
                    f"its intended arrival to the first answer; the highest rate whose p99 stays within "
                    f"{rows[0][1].bound_factor:g} times the lone cold start, plus the harness's own p99 at that rate where a "
                    "level was past the bound (null starts through the same path: \"on the floor in N\" trials) (Firecracker publishes 5 micro-VMs a second per core; "
                    "docs/methodology.md#sustained-start-rate)."]


def _load_lines(summary: RunSummary) -> list[str]:
    rows = [(name, entry.line("load")) for name, entry in summary.backends.items() if entry.line("load")]
    if not rows:
        return []
    lines = ["", "| backend | pool | offered req/s: p50, p99, p99.9 µs (achieved req/s) | saturation req/s (per core) |",
             "|---|---|---|---|"]
    for name, entry in rows:
        for pool in entry.pools:
            cells = []
            for point in pool.points:
                shown = ", ".join(fmt(point.own(key).us) if point.own(key) else "at the floor"
                                  for key in ("p50", "p99", "p999"))
                cells.append(f"{point.offered_rps:g}: {shown} ({fmt(point.achieved_rps)})")
            lines.append(f"| {name} | {pool.pool} | {'; '.join(cells)} | {fmt(pool.saturation_rps)} "
                         f"({fmt(pool.per_core_rps)}) |")
    floor = next((pool.points for _, entry in rows for pool in entry.pools if pool.pool == 1), ())
    shown = "; ".join(f"{p.offered_rps:g}: {fmt(p.floor['p50'].us)}, {fmt(p.floor['p99'].us)}"
                      for p in floor if "p50" in p.floor and "p99" in p.floor)
    return lines + ["", "- Open-loop load: Poisson arrivals at the offered rate, each request timed from its intended "
                    "arrival (coordinated omission corrected). A percentile within 10% of the floor's is printed "
                    "\"at the floor\": the harness alone gives as much."] + (
        [f"- Floor (the harness's generator and queue with a null call, one thread), offered req/s: p50, p99 µs: "
         f"{shown}."] if shown else [])
