"""Compare a new run with a baseline: did anything get significantly worse?

Pure: `compare(baselines, new, settings)` reads runs only and returns a
`Comparison` of typed `CompareRow`s; `Comparison.to_json()` is the JSON that
`compare --format json` prints, and harness/commands/compare.py renders the
text. The baseline is one run, or a set of runs (a folder).

Rules, per figure:

- **Within runs.** The change is new median / baseline median, with the
  hierarchical bootstrap interval of harness/analysis/bootstrap.py (trials,
  then samples; the two runs independent) and its p-value. A regression needs
  BOTH the effect beyond the threshold AND p < alpha (asv's rule). Runs
  without trials (isobench 1 files) fall back to the old test: Mann-Whitney U
  on the raw samples (block medians for long series).
- **Between runs** (a baseline set of k >= 3 runs). Each baseline run gives
  its own value of the figure; the new run must also fall outside the
  prediction bound of those values, mean + t_{boundary, k-1} * sd *
  sqrt(1 + 1/k) on the log scale: Bencher's t-test threshold on past runs,
  with its 0.99 boundary. So a figure that moves between runs by as much as
  the new run moved is not a regression, however narrow one run's interval.
  The within-run test then pools the baseline runs' trials.
- **Machine-independent ratios**: each backend over the reference backend,
  paired by trial inside each run; the change of that ratio between runs.
  `--ratios-only` compares only these, for runs on different machines. When
  every ratio to the reference falls significantly, the reference itself got
  slower: an extra `REF (vs all others)` row says so.
- **Which clock gates.** Cold start is recorded as wall time and as CPU time.
  `clock=both` (the default) gates both, each at alpha / 2, so the cold start
  regresses when either clock does: a start that got slower by waiting (a
  sleep, a slower handshake, lock contention) costs wall time and no CPU time,
  and CPU time never excuses it. `wall` or `cpu` gates one clock only.
- **Whose machine.** A baseline set belongs to the machine it was recorded on
  (Machine.identity: CPU model, cores, memory, kernel build). With
  `machine_bound`, a new run from another machine gets the verdicts as advice:
  the comparison's verdict is "advisory" and nothing fails. The A/B check,
  which measures both sides on one machine, is the gate there.
- Memory per instance is one sweep per trial: a figure per trial, compared as
  timings are.
- **At-scale rates** (the sustained start rate, one warm instance's
  saturation throughput) are rungs of a ladder, one per trial, in two trials:
  too few and too coarse for an interval. Their medians and new/old are
  printed, with which direction is better, and they are not gated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as scipy_stats

from harness.analysis.bootstrap import TRIMMED, batch_medians
from harness.analysis.estimate import estimate, paired_ratio, paired_ratio_change, ratio_change, run_ratio, trial_ratio
from harness.results.model import Run, Series
from harness.results.vocabulary import MEMORY_KINDS, MIB
from harness.suites import FIGURES, RATIO_TIMINGS, SUITES, TIMINGS

COMPARE_SCHEMA = "isobench-compare/2"
REGRESSION, IMPROVEMENT, UNCHANGED, NOT_GATED = "regression", "improvement", "no significant change", "not gated"
ADVISORY = "advisory"  # the verdicts of a baseline set on another machine: printed, never failing
BUSY_LOAD_PER_CPU = 0.5


class IncompatibleResults(ValueError):
    """The runs cannot be compared (one line)."""


@dataclass(frozen=True)
class CompareSettings:
    threshold: float = 0.10  # smallest change that counts
    alpha: float = 0.01  # per row
    ratios_only: bool = False
    metrics: tuple[str, ...] | None = None  # a name, or a prefix such as "memory"
    clock: str = "both"  # both, wall or cpu: which cold-start clocks gate
    boundary: float = 0.99  # between-run prediction bound (baseline sets)
    paired: bool = False  # A/B runs: the two runs' trials ran in pairs (same trial ids)
    statistic: str = "median"  # or "trimmed": the geometric mean of the middle 80% of each sample set
    machine_bound: bool = False  # baseline sets: verdicts are advice when the new run's machine is another one

    def __post_init__(self):
        if self.threshold <= 0 or not 0 < self.alpha < 1 or not 0.5 < self.boundary < 1:
            raise ValueError("threshold must be > 0, alpha in (0, 1) and boundary in (0.5, 1)")
        if self.clock not in ("both", "wall", "cpu"):
            raise ValueError("clock must be both, wall or cpu")
        if self.statistic not in ("median", "trimmed"):
            raise ValueError("statistic must be median or trimmed")


# ---------------------------------------------------------------- the records

@dataclass(frozen=True)
class BetweenRuns:
    """The prediction bound of k baseline runs' values (log scale), and where the new value lies."""

    runs: int
    values: tuple[float, ...]
    low: float
    high: float
    run_to_run_cv: float
    above: bool
    below: bool

    def to_json(self) -> dict:
        return {"runs": self.runs, "values": list(self.values), "low": self.low, "high": self.high,
                "run_to_run_cv": self.run_to_run_cv, "above": self.above, "below": self.below}


@dataclass(frozen=True)
class CompareRow:
    """One figure's comparison: old and new values, the change with its interval, and the verdict."""

    kind: str  # timing, memory, ratio, memory ratio or at scale
    backend: str  # a backend, "X/REF" for a ratio, or "REF (vs all others)"
    metric: str
    unit: str
    old_median: float
    new_median: float
    ratio: float  # new / old
    ratio_ci95: tuple[float, float] | None
    p_value: float | None
    test: str
    trials_old: int
    trials_new: int
    between_runs: BetweenRuns | None
    gated: bool
    verdict: str
    inside_baseline_ci: bool | None = None  # the new value inside the baseline's own interval
    clock: str | None = None  # a cold start's clock: wall or cpu
    clock_choice: str | None = None
    note: str | None = None

    def to_json(self) -> dict:
        out = {"kind": self.kind, "backend": self.backend, "metric": self.metric, "unit": self.unit,
               "old_median": self.old_median, "new_median": self.new_median, "ratio": self.ratio,
               "ratio_ci95": list(self.ratio_ci95) if self.ratio_ci95 else None, "p_value": self.p_value,
               "test": self.test, "trials_old": self.trials_old, "trials_new": self.trials_new,
               "between_runs": self.between_runs.to_json() if self.between_runs else None,
               "gated": self.gated, "verdict": self.verdict}
        for name in ("inside_baseline_ci", "clock", "clock_choice", "note"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class RunDescription:
    """Which run a side of a comparison is."""

    path: str | None
    commit: str | None
    dirty: bool | None
    started: str | None
    profile: str
    status: str
    trials: int
    injected: dict[str, float]
    load_average_at_start: tuple[float, ...]

    def to_json(self) -> dict:
        return {"path": self.path, "commit": self.commit, "dirty": self.dirty, "started": self.started,
                "profile": self.profile, "status": self.status, "trials": self.trials,
                "injected": dict(self.injected), "load_average_at_start": list(self.load_average_at_start)}


@dataclass(frozen=True)
class ABPairs:
    """An A/B comparison's base side: the ref asked for, the commit it was, the pairs run."""

    ref: str
    commit: str | None
    pairs: int

    def to_json(self) -> dict:
        return {"base": {"ref": self.ref, "commit": self.commit}, "pairs": self.pairs}


@dataclass(frozen=True)
class Comparison:
    """Every comparable figure of two runs (or a baseline set and a run) with its verdict."""

    settings: CompareSettings
    baseline: tuple[RunDescription, ...]
    new: RunDescription
    rows: tuple[CompareRow, ...]
    verdict: str  # regression, no significant change or advisory
    advisory: str | None  # why the verdicts are advice: another machine
    machine: dict  # Machine.identity of each side
    machine_differences: dict[str, dict]
    injected: dict[str, bool]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    ab: ABPairs | None = None

    @property
    def regressions(self) -> int:
        return sum(1 for row in self.rows if row.verdict == REGRESSION)

    @property
    def improvements(self) -> int:
        return sum(1 for row in self.rows if row.verdict == IMPROVEMENT)

    def regression_rows(self) -> list[CompareRow]:
        return [row for row in self.rows if row.verdict == REGRESSION]

    def to_json(self) -> dict:
        settings = self.settings
        out = {
            "schema": COMPARE_SCHEMA,
            "threshold": settings.threshold, "alpha": settings.alpha, "boundary": settings.boundary,
            "clock": settings.clock, "ratios_only": settings.ratios_only,
            "metrics": list(settings.metrics) if settings.metrics else None,
            "baseline": [run.to_json() for run in self.baseline],
            "new": self.new.to_json(),
            "rows": [row.to_json() for row in self.rows],
            "regressions": self.regressions,
            "improvements": self.improvements,
            "verdict": self.verdict,
            "advisory": self.advisory,
            "machine": self.machine,
            "machine_differences": self.machine_differences,
            "injected": self.injected,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }
        if self.ab is not None:
            out["ab"] = self.ab.to_json()
        return out


# ---------------------------------------------------------------- what is compared

@dataclass(frozen=True)
class Figure:
    """One comparable figure of a run: its samples (tagged by trial), or a ratio's two series."""

    key: str  # e.g. "cold_start", "memory_pss"
    unit: str
    scale: float  # series value * scale = display unit
    series: Series | None = None
    pair: tuple[Series, Series] | None = None  # (x, reference) for ratios


def _timing(run: Run, backend: str, key: str) -> Figure | None:
    result = run.backend(backend)
    series = result.timing(key) if result else None
    return Figure(key, FIGURES[key].unit, FIGURES[key].scale, series) if series else None


def _memory(run: Run, backend: str, kind: str) -> Figure | None:
    result = run.backend(backend)
    if not result or not result.memory or kind not in result.memory.kinds:
        return None
    return Figure(f"memory_{kind}", "MiB", 1 / MIB, result.memory.per_instance(kind))


def _ratio(run: Run, backend: str, key: str) -> Figure | None:
    ref = run.reference
    if ref is None or backend == ref:
        return None
    if key.startswith("memory_"):
        mine, theirs = _memory(run, backend, key[7:]), _memory(run, ref, key[7:])
    else:
        mine, theirs = _timing(run, backend, key), _timing(run, ref, key)
    if not mine or not theirs:
        return None
    return Figure(key, "x", 1.0, pair=(mine.series, theirs.series))


def _pooled(runs: list[Run], get) -> Figure | None:
    """A baseline set's figure: every run's trials together (trial ids made unique per run)."""
    found = [(i, get(run)) for i, run in enumerate(runs)]
    found = [(i, f) for i, f in found if f is not None]
    if not found:
        return None
    first = found[0][1]
    relabel = lambda s, i: Series(s.values, tuple(i * 10_000 + t for t in s.trials))  # noqa: E731
    if first.pair is not None:
        xs = Series.join(relabel(f.pair[0], i) for i, f in found)
        refs = Series.join(relabel(f.pair[1], i) for i, f in found)
        return replace(first, pair=(xs, refs))
    return replace(first, series=Series.join(relabel(f.series, i) for i, f in found))


def _value(figure: Figure) -> float:
    if figure.pair is not None:
        return float(trial_ratio(*figure.pair))
    return float(np.median(figure.series.array())) * figure.scale


def _single_trial(figure: Figure) -> bool:
    series = figure.pair[0] if figure.pair is not None else figure.series
    return len(series.trial_ids) < 2


# ---------------------------------------------------------------- verdicts

def outside_bound(bound: BetweenRuns | None, change: float) -> bool:
    """Whether the new value lies beyond the baseline runs' bound on the side it moved (no bound: True)."""
    return True if bound is None else (bound.above if change > 1 else bound.below)


def verdict(change: float, p_value: float | None, threshold: float, alpha: float, outside: bool = True) -> str:
    """Effect beyond the threshold AND (when there is a test) p < alpha AND (baseline sets) outside the bound."""
    significant = (p_value is None or p_value < alpha) and outside
    if change > 1 + threshold and significant:
        return REGRESSION
    if change < 1 / (1 + threshold) and significant:
        return IMPROVEMENT
    return UNCHANGED


def between_runs(values: list[float], new: float, boundary: float) -> BetweenRuns | None:
    """The prediction bound of k baseline runs' values (log scale), and where the new value lies."""
    if len(values) < 3 or new <= 0 or min(values) <= 0:
        return None
    logs = np.log(values)
    k = len(values)
    mean, sd = float(np.mean(logs)), float(np.std(logs, ddof=1))
    reach = scipy_stats.t.ppf(boundary, k - 1) * sd * math.sqrt(1 + 1 / k)
    low, high = math.exp(mean - reach), math.exp(mean + reach)
    return BetweenRuns(runs=k, values=tuple(float(v) for v in values), low=low, high=high,
                       run_to_run_cv=math.sqrt(math.expm1(sd ** 2)), above=new > high, below=new < low)


def _mann_whitney(new: Series, old: Series) -> float:
    return float(scipy_stats.mannwhitneyu(batch_medians(new.values), batch_medians(old.values),
                                          alternative="two-sided").pvalue)


def _q(settings: CompareSettings) -> float | str:
    """The statistic the rows compare: the median, or the trimmed geometric mean."""
    return TRIMMED if settings.statistic == "trimmed" else 0.5


def _row(label: tuple[str, str], new: Figure, old: Figure, settings: CompareSettings,
         baseline_values: list[float]) -> CompareRow:
    kind, backend = label
    old_value, new_value = _value(old), _value(new)
    if new.pair is not None and settings.paired:
        found = paired_ratio_change(new.pair, old.pair, q=_q(settings))
        test = "bootstrap over the trial pairs of the ratio of ratios, the A/B pairs resampled together"
    elif new.pair is not None:
        found = ratio_change(new.pair, old.pair, q=_q(settings))
        test = "bootstrap of the ratio of ratios over trials (paired inside each run)"
    elif settings.paired:
        found = paired_ratio(new.series, old.series, q=_q(settings))
        found = (found, None) if found else None
        test = "bootstrap over the trial pairs of new/old, the A/B pairs resampled together"
    else:
        found = run_ratio(new.series, old.series, q=_q(settings))
        test = "bootstrap of new/old over trials"
    if found is None:
        raise IncompatibleResults(f"{backend} {new.key}: nothing to compare")
    estimate_, _ = found
    p_value = estimate_.p_value
    if new.pair is None and _single_trial(new) and _single_trial(old):
        if len(new.series) < 2 or len(old.series) < 2:
            p_value, test = None, "threshold only (one value per run: runs without trials)"
        else:
            p_value = _mann_whitney(new.series, old.series)
            test = "Mann-Whitney U (two-sided) on the raw samples (runs without trials)"
    bound = between_runs(baseline_values, new_value, settings.boundary)
    change = estimate_.value
    outside = outside_bound(bound, change)
    old_estimate = estimate(old.series) if old.series is not None else None
    inside = None
    if old_estimate and old_estimate.ci:
        low, high = (v * old.scale for v in old_estimate.ci)
        inside = low <= new_value <= high
    return CompareRow(
        kind=kind, backend=backend, metric=new.key, unit=new.unit,
        old_median=old_value, new_median=new_value, ratio=change,
        ratio_ci95=tuple(estimate_.ci) if estimate_.ci else None, p_value=p_value, test=test,
        trials_old=estimate_.trials if new.pair is not None else len(old.series.trial_ids),
        trials_new=len((new.pair[0] if new.pair else new.series).trial_ids),
        between_runs=bound, gated=True,
        verdict=verdict(change, p_value, settings.threshold, settings.alpha, outside),
        inside_baseline_ci=inside)


# ---------------------------------------------------------------- rows

def _figures_of(run: Run) -> list[tuple[str, str, callable]]:
    """(kind, backend, getter) for every figure of a run."""
    out = []
    for name in run.measured:
        for key in TIMINGS:
            out.append(("timing", name, lambda r, n=name, k=key: _timing(r, n, k), key))
        for kind, spec in MEMORY_KINDS.items():
            if spec.headline:
                out.append(("memory", name, lambda r, n=name, k=kind: _memory(r, n, k), f"memory_{kind}"))
    return out


def _ratio_figures(run: Run) -> list:
    out = []
    for name in run.measured:
        if name == run.reference:
            continue
        for key in RATIO_TIMINGS:
            out.append(("ratio", f"{name}/{run.reference}", lambda r, n=name, k=key: _ratio(r, n, k), key))
        for kind, spec in MEMORY_KINDS.items():
            if spec.ratio:
                out.append(("memory ratio", f"{name}/{run.reference}",
                            lambda r, n=name, k=kind: _ratio(r, n, f"memory_{k}"), f"memory_{kind}"))
    return out


def _selected(metric: str, metrics: tuple[str, ...] | None) -> bool:
    return metrics is None or any(metric == m or metric.startswith(m + "_") for m in metrics)


def _rows(baselines: list[Run], new: Run, settings: CompareSettings) -> list[CompareRow]:
    candidates = [] if settings.ratios_only else _figures_of(new)
    candidates += _ratio_figures(new)
    rows = []
    for kind, backend, get, metric in candidates:
        if not _selected(metric, settings.metrics):
            continue
        mine = get(new)
        olds = [f for f in (get(run) for run in baselines) if f is not None]
        if mine is None or not olds:
            continue
        old = olds[0] if len(olds) == 1 else _pooled(baselines, get)
        rows.append(_row((kind, backend), mine, old, settings, [_value(f) for f in olds] if len(olds) >= 3 else []))
    rows = _choose_clocks(rows, settings)
    if settings.ratios_only:
        rows += _reference_rows(rows, new.reference, settings)
    else:
        rows += _at_scale_rows(baselines, new, settings)
    return rows


def _median(series: Series) -> float:
    return float(np.median(series.array()))


def _at_scale_rows(baselines: list[Run], new: Run, settings: CompareSettings) -> list[CompareRow]:
    """Each suite's key rates (KeySeries) in both runs: medians and new/old, not gated (module docstring)."""
    rows = []
    for name in new.measured:
        olds = [run.backends[name] for run in baselines if name in run.measured]
        for suite in SUITES.values():
            for key in suite.key_series(new.backends[name]):
                old = [found.series for result in olds for found in suite.key_series(result)
                       if found.metric == key.metric]
                if not old or not _selected(key.metric, settings.metrics):
                    continue
                old_series = Series.join(old)
                old_value, new_value = _median(old_series), _median(key.series)
                if old_value <= 0:
                    continue  # no rung passed in the baseline: no new/old
                better = "higher" if key.higher_is_better else "lower"
                rows.append(CompareRow(
                    kind="at scale", backend=name, metric=key.metric, unit=key.unit, old_median=old_value,
                    new_median=new_value, ratio=new_value / old_value, ratio_ci95=None, p_value=None,
                    test="medians of a ladder's rungs, one per trial (no interval)",
                    trials_old=sum(len(found.trial_ids) for found in old), trials_new=len(key.series.trial_ids),
                    between_runs=None, gated=False, verdict=NOT_GATED,
                    note=f"{NOT_GATED}: a ladder's rung per trial, {better} is better"))
    return rows


def _choose_clocks(rows: list[CompareRow], settings: CompareSettings) -> list[CompareRow]:
    """Cold start has two clocks. With `both` (the default) each gates at
    alpha / 2 (Bonferroni over the two), so a figure regresses when either
    clock does: wall time is what users wait for, and CPU time can add evidence
    but never excuse a wall-clock slowdown. `wall` or `cpu` gates one clock
    only; the other row is shown, marked not gated."""
    by_key: dict[tuple, dict[str, int]] = {}
    for index, row in enumerate(rows):
        figure = FIGURES.get(row.metric)
        if figure and figure.key.startswith("cold_start"):  # a cold start's wall and CPU rows, per regime
            by_key.setdefault((row.kind, row.backend, figure.regime), {})[figure.clock] = index
    rows = list(rows)
    for pair in by_key.values():
        if len(pair) < 2:
            continue
        for clock, index in pair.items():
            row = rows[index]
            if settings.clock == "both":
                row = replace(row, clock=clock, clock_choice="both clocks gate, each at alpha/2",
                              verdict=_reverdict(row, settings, settings.alpha / 2))
            elif clock != settings.clock:
                would = f"; would be {row.verdict}" if row.verdict != UNCHANGED else ""
                row = replace(row, clock=clock, clock_choice=f"--clock {settings.clock}", gated=False,
                              note=f"{NOT_GATED}: --clock {settings.clock}{would}", verdict=NOT_GATED)
            else:
                row = replace(row, clock=clock, clock_choice=f"--clock {settings.clock}")
            rows[index] = row
    return rows


def _reverdict(row: CompareRow, settings: CompareSettings, alpha: float) -> str:
    return verdict(row.ratio, row.p_value, settings.threshold, alpha, outside_bound(row.between_runs, row.ratio))


def _reference_rows(rows: list[CompareRow], reference: str | None, settings: CompareSettings) -> list[CompareRow]:
    """When every gated ratio over the reference moved significantly the same way, the reference itself moved."""
    out = []
    for metric in dict.fromkeys(r.metric for r in rows if r.kind == "ratio"):
        group = [r for r in rows if r.kind == "ratio" and r.metric == metric and r.gated]
        if len(group) < 1 or not all(r.p_value is not None and r.p_value < settings.alpha for r in group):
            continue
        falling = all(r.ratio < 1 for r in group)
        if not falling and not all(r.ratio > 1 for r in group):
            continue
        change = float(math.exp(np.mean([-math.log(r.ratio) for r in group])))
        p_value = max(r.p_value for r in group)
        out.append(CompareRow(
            kind="ratio", backend=f"{reference} (vs all others)", metric=metric, unit="x",
            old_median=1.0, new_median=change, ratio=change, ratio_ci95=None, p_value=p_value,
            test="geometric mean of the inverse ratio changes; p: the largest of theirs",
            trials_old=min(r.trials_old for r in group), trials_new=min(r.trials_new for r in group),
            between_runs=None, gated=True, clock=group[0].clock,
            verdict=verdict(change, p_value, settings.threshold, settings.alpha),
            note=f"every backend's {metric} ratio to {reference} moved the same way: {reference} "
                 f"{'slower' if falling else 'faster'} (or all others {'faster' if falling else 'slower'})",
        ))
    return out


# ---------------------------------------------------------------- runs

def machine_fields(run: Run) -> dict:
    """What must match for absolute figures to be comparable."""
    machine = run.machine
    fields = {"cpu model": machine.cpu_model, "cores": machine.cpu_count, "memory total": machine.memory_total_bytes,
              "kernel": machine.kernel, "python": machine.python, "hostname": machine.hostname,
              "harness version": run.provenance.harness_version, "profile": run.profile.name,
              "pinning": run.conditions.pinned_cpus, "container base image": run.conditions.base_image,
              "inherited env": tuple((run.conditions.child_environment or {}).get("inherited") or ())}
    for name, result in run.backends.items():
        for key, value in result.info.versions.items():
            fields[f"{name} {key}"] = value
    return fields


def machine_differences(baseline: Run, new: Run) -> dict:
    old, cur = machine_fields(baseline), machine_fields(new)
    return {name: {"baseline": old[name], "new": cur[name]} for name in old
            if name in cur and old[name] not in (None, "") and cur[name] not in (None, "") and old[name] != cur[name]}


def other_machine(baselines: list[Run], new: Run) -> str | None:
    """Why the new run is not on the baseline set's machine (Machine.identity), or None when it is."""
    identities = [run.machine.identity for run in baselines]
    if any(identity != identities[0] for identity in identities[1:]):
        return "the baseline set's runs come from more than one machine"
    theirs, mine = identities[0], new.machine.identity
    differ = [key for key in theirs if key in mine and theirs[key] != mine[key]]
    if differ:
        return "the baseline set was recorded on another machine (" + "; ".join(
            f"{key}: {theirs[key]} there, {mine[key]} here" for key in differ) + ")"
    return None


def busy_machine(run: Run) -> str | None:
    """The 1-minute load average when the run started, if above BUSY_LOAD_PER_CPU per CPU."""
    cpus = run.machine.cpu_count or 1
    load = run.provenance.load_average
    if load and load[0] > BUSY_LOAD_PER_CPU * cpus:
        when = "when the run started" if run.provenance.recorded_at_start else "at the end of the run"
        return f"1-minute load average {load[0]:.2f} on {cpus} CPU(s) {when}"
    return None


def describe_run(run: Run) -> RunDescription:
    return RunDescription(path=run.path, commit=run.provenance.commit, dirty=run.provenance.dirty,
                          started=run.provenance.started, profile=run.profile.name, status=run.status,
                          trials=len(run.complete_trials), injected={n: d.ms for n, d in run.injected.items()},
                          load_average_at_start=tuple(run.provenance.load_average))


def _warnings(baselines: list[Run], new: Run, differences: dict) -> list[str]:
    out = []
    for label, run in [*((f"baseline {i + 1}" if len(baselines) > 1 else "baseline", r)
                         for i, r in enumerate(baselines)), ("new", new)]:
        if run.injected:
            out.append(f"INJECTED FAULTS in the {label} run (test-only, not a real measurement): "
                       + "; ".join(f"{n}: {d.describe()}" for n, d in run.injected.items()))
        if run.status != "complete":
            out.append(f"the {label} run is {run.status}: some figures may be missing")
        busy = busy_machine(run)
        if busy:
            out.append(f"the {label} run was measured on a busy machine ({busy}): its timings are unreliable")
        if run.migrated_from:
            out.append(f"the {label} run was written by isobench 1 (one process, no trials): its intervals "
                       "leave out run-to-run spread")
    if differences:
        listed = "; ".join(f"{name}: {d['baseline']} -> {d['new']}" for name, d in differences.items())
        out.append(f"the runs differ in machine or versions ({listed}); absolute figures may not be comparable, "
                   "use --ratios-only across machines")
    return out


def compare(baselines: list[Run] | Run, new: Run, settings: CompareSettings = CompareSettings()) -> Comparison:
    """Every comparable figure of the runs with its verdict (see the module's docstring)."""
    baselines = [baselines] if isinstance(baselines, Run) else list(baselines)
    if not baselines:
        raise IncompatibleResults("no baseline run")
    for run in baselines:
        if run.worker.sha256 and new.worker.sha256 and run.worker.sha256 != new.worker.sha256:
            raise IncompatibleResults(f"different workers: baseline {run.path or ''} ran sha256 "
                                      f"{run.worker.sha256[:12]}…, new ran {new.worker.sha256[:12]}…")
    rows = _rows(baselines, new, settings)
    if not rows:
        raise IncompatibleResults("the runs have no figure in common to compare"
                                  + (f" among metrics {', '.join(settings.metrics)}" if settings.metrics else ""))
    differences = machine_differences(baselines[-1], new)
    elsewhere = other_machine(baselines, new) if settings.machine_bound else None
    regressed = any(row.verdict == REGRESSION for row in rows)
    overall = (ADVISORY if elsewhere else REGRESSION) if regressed else UNCHANGED
    rule = (f"A regression needs the effect beyond {settings.threshold:.0%} AND p < {settings.alpha}"
            + (f" AND the new value outside the {settings.boundary:g} prediction bound of the "
               f"{len(baselines)} baseline runs" if len(baselines) >= 3 else "") + ".")
    return Comparison(
        settings=settings,
        baseline=tuple(describe_run(run) for run in baselines),
        new=describe_run(new),
        rows=tuple(rows),
        verdict=overall,
        advisory=elsewhere,
        machine={"baseline": baselines[0].machine.identity, "new": new.machine.identity},
        machine_differences=differences,
        injected={"baseline": any(run.injected for run in baselines), "new": bool(new.injected)},
        warnings=tuple(_warnings(baselines, new, differences)),
        notes=(rule,
               "Intervals and p-values come from a bootstrap over trials (fresh worker processes), so they "
               "include the spread between trials, not only within them.",
               "Ratios (X/reference) are measured within each run, paired by trial, so they carry across "
               "machines; absolute figures do not."),
    )
