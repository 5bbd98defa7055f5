"""What the report reads from a run, in its units: each backend's figures with
their hierarchical intervals, grouped by family and sorted within it, its
colour, and (given a containment record) how many hostile workers it
contained. Read only; every number the report prints comes through here."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from harness.analysis.density import HEADLINE_KINDS, headline_kinds
from harness.analysis.estimate import Estimate, estimate
from harness.analysis.concurrency import ConcurrencySummary
from harness.analysis.density import DensitySummary
from harness.analysis.load import LoadSummary
from harness.analysis.start_rate import StartRateSummary
from harness.analysis.storm import StormSummary
from harness.analysis.summary_figures import Difference, RatioSummary, TimingSummary
from harness.findings.summary import BackendSummary, RunSummary, summarize_run
from harness.containment.record import ContainmentRecord
from harness.results.model import BackendResult, Run, Series
from harness.results.vocabulary import FAMILIES, MIB, colour, family_rank, memory_label
from harness.suites import FIGURES


@dataclass(frozen=True)
class Value:
    """A figure in display units, with its interval and the coverage its trials allow (Estimate.coverage)."""

    value: float
    ci: tuple[float, float] | None
    n: int = 0
    trials: int = 0
    coverage: float | None = None

    @staticmethod
    def of(found: Estimate | None, scale: float = 1.0) -> "Value | None":
        if found is None:
            return None
        scaled = found.scaled(scale)
        return Value(scaled.value, scaled.ci, found.n, found.trials, found.coverage)


@dataclass
class ReportData:
    run: Run
    containment: ContainmentRecord | None = None
    summary: RunSummary = field(init=False)

    def __post_init__(self):
        self.summary = summarize_run(self.run)

    # ------------------------------------------------------------ who, in which order

    @cached_property
    def names(self) -> list[str]:
        """Every backend, grouped by family (vocabulary order) and sorted by cold start within it."""
        def key(name: str):
            result = self.run.backends[name]
            cold = self.cold_start(name)
            return (family_rank(result.info.family), cold.value if cold else float("inf"), name)
        return sorted(self.run.backends, key=key)

    @property
    def measured(self) -> list[str]:
        return [name for name in self.names if self.entry(name).available]

    @property
    def unavailable(self) -> dict[str, str]:
        return {name: self.entry(name).reason or "no reason recorded"
                for name in self.names if not self.entry(name).available}

    @property
    def reference(self) -> str | None:
        return self.run.reference

    def result(self, name: str) -> BackendResult:
        return self.run.backends[name]

    def entry(self, name: str) -> BackendSummary:
        return self.summary.backends[name]

    def family(self, name: str) -> str:
        return self.result(name).info.family

    def family_label(self, name: str) -> str:
        family = self.family(name)
        return FAMILIES[family].label if family in FAMILIES else "other"

    def colour(self, name: str) -> str:
        info = self.result(name).info
        return colour(info.family, info.family_index)

    def by_role(self, role: str) -> str | None:
        """The measured backend that plays this role in published figures (vocabulary.ROLES)."""
        return next((name for name in self.measured if role in self.result(name).info.roles), None)

    def described(self, name: str) -> str:
        return self.result(name).info.described_as or f"the {name} backend"

    # ------------------------------------------------------------ figures

    def timing(self, name: str, key: str, q: float = 0.5) -> Value | None:
        """A timing figure's estimate (quantile q), in its display unit."""
        series = self.result(name).timing(key)
        return Value.of(estimate(series, q), FIGURES[key].scale) if series else None

    @cached_property
    def _cache(self) -> dict:
        return {}

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def cold_start(self, name: str) -> Value | None:
        """Median cold start, ms."""
        return self._cached(("cold", name), lambda: self.timing(name, "cold_start"))

    def cold_start_cpu(self, name: str) -> Value | None:
        return self._cached(("cpu", name), lambda: self.timing(name, "cold_start_cpu"))

    def first_instance(self, name: str) -> Value | None:
        return self._cached(("first", name), lambda: self.timing(name, "first_instance"))

    def warm_call(self, name: str) -> Value | None:
        """Median warm call, µs."""
        return self._cached(("warm", name), lambda: self.timing(name, "warm_call"))

    def warm_call_awake(self, name: str) -> Value | None:
        """Median warm call with the CPUs held awake, µs (None for runs before the regimes)."""
        return self._cached(("warm awake", name), lambda: self.timing(name, "warm_call_awake"))

    def transport(self, name: str) -> Value | None:
        return self._cached(("transport", name), lambda: self.timing(name, "transport"))

    def samples(self, name: str, key: str) -> np.ndarray:
        series = self.result(name).timing(key)
        return series.array(FIGURES[key].scale) if series else np.array([])

    def trial_medians(self, name: str, key: str) -> list[float]:
        series = self.result(name).timing(key)
        return [float(np.median(v)) * FIGURES[key].scale for v in series.groups().values()] if series else []

    def phases_ms(self, name: str) -> dict[str, float]:
        return dict(self.entry(name).line("cold_start_phases_ms") or {})

    def phase_ms(self, name: str, phase: str) -> float | None:
        """One cold-start phase's median, ms (None when the backend has no such phase)."""
        phases = self.phases_ms(name)
        return phases[phase] if phase in phases else None

    def engine(self, name: str):
        """The handler's own time in the engine (suites/warm_call.py EngineFigure), or None."""
        return self.entry(name).line("engine_ns")

    def wake_cost(self, name: str) -> Difference | None:
        return self.entry(name).line("wake_cost_us")

    def steady_state(self, name: str) -> dict:
        """CPU regime -> how the warm-call series settles (suites/warm_call.py SteadySummary)."""
        return dict(self.entry(name).line("steady_state") or {})

    def spread(self, name: str, summary_key: str = "cold_start_ms") -> TimingSummary | None:
        """A timing figure as the summary gives it, with its spread between and within trials."""
        return self.entry(name).timing(summary_key)

    def density(self, name: str) -> DensitySummary | None:
        return self.entry(name).line("density")

    def concurrency(self, name: str) -> ConcurrencySummary | None:
        return self.entry(name).line("concurrency")

    def storm(self, name: str) -> StormSummary | None:
        return self.entry(name).line("storm")

    def start_rate(self, name: str) -> StartRateSummary | None:
        return self.entry(name).line("start_rate")

    def load(self, name: str) -> LoadSummary | None:
        return self.entry(name).line("load")

    # ------------------------------------------------------------ memory

    def memory_kind(self, name: str) -> str:
        """What one instance's memory is counted as, for its instance class
        (the harness's USS growth in-process, PSS for a process, cgroup +
        what keeps it outside for a container)."""
        result = self.result(name)
        kinds = result.memory.kinds if result.memory else ()
        klass = result.info.instance_class if result.info.instance_class in HEADLINE_KINDS else "process"
        return "+".join(headline_kinds(klass, kinds))

    def memory_series(self, name: str, kind: str) -> Series | None:
        """Per-instance memory by trial (bytes); a kind like "cgroup+shim_pss" is the sum."""
        memory = self.result(name).memory
        if not memory or not kind:
            return None
        parts = [memory.per_instance(k) for k in kind.split("+")]
        if any(not part for part in parts):
            return None
        trials = sorted(set.intersection(*(set(p.trials) for p in parts)))
        values = [sum(float(np.median(p.groups()[t])) for p in parts) for t in trials]
        return Series(tuple(values), tuple(trials))

    def memory(self, name: str, kind: str | None = None) -> Value | None:
        """Per-instance memory, MiB, of the instance class's kind (or the kind given)."""
        kind = kind or self.memory_kind(name)
        return self._cached(("memory", name, kind),
                            lambda: Value.of(estimate(self.memory_series(name, kind) or Series((), ())), 1 / MIB))

    def memory_kinds(self, name: str) -> list[str]:
        memory = self.result(name).memory
        return list(memory.kinds) if memory else []

    def memory_label(self, kind: str) -> str:
        return " + ".join(memory_label(k) for k in kind.split("+"))

    # ------------------------------------------------------------ ratios

    def ratio(self, key: str, name: str) -> RatioSummary | None:
        """name over the reference, paired by trial (summary.ratios)."""
        if not self.reference:
            return None
        return self.summary.ratio(key, f"{name}/{self.reference}")

    def memory_ratio(self, name: str) -> Value | None:
        """Per-instance memory (each in its own class's kind) over the reference's, paired by trial."""
        from harness.analysis.estimate import paired_ratio

        ref = self.reference
        if not ref or name == ref:
            return None
        mine, theirs = self.memory_series(name, self.memory_kind(name)), self.memory_series(ref, self.memory_kind(ref))
        return Value.of(paired_ratio(mine, theirs)) if mine and theirs else None

    # ------------------------------------------------------------ containment

    def containment_score(self, name: str) -> tuple[int, int] | None:
        """(contained, tried) hostile workers, from the containment record."""
        if not self.containment:
            return None
        tried = [p for p in self.containment.by_backend().get(name, []) if p.tried]
        if not tried:
            return None
        return sum(1 for p in tried if p.contained), len(tried)


def report_data(run: Run, containment: ContainmentRecord | None = None) -> ReportData:
    return ReportData(run, containment)
