"""Density, as pure functions on a density sweep: which memory counts for a
kind of instance, the marginal memory per instance, and "instances per GiB"
with its curve. harness/procedures/density.py does the measuring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from harness.analysis.stats import marginal_slope
from harness.results.model import DensitySweep
from harness.results.vocabulary import GIB, MIB, memory_meaning

# Memory counted per instance class: the kinds summed, and the fallbacks if a
# backend does not report them.
HEADLINE_KINDS = {
    "in-process": (("uss",), ("pss",)),  # growth of the harness process: all of it is the instances'
    "process": (("pss",), ("uss",)),  # shared pages split among the processes that map them
    # the cgroup, plus what keeps the container outside it: containerd-shim,
    # or the foreground `runc/crun run` process without dockerd (oci-*)
    "container": (("cgroup", "shim_pss"), ("cgroup", "runtime_pss"), ("cgroup",), ("pss",)),
}


def headline_kinds(klass: str, available: Sequence[str]) -> tuple[str, ...]:
    """The memory kinds whose sum is the density figure, among those reported."""
    for kinds in HEADLINE_KINDS.get(klass, HEADLINE_KINDS["process"]):
        if all(kind in available for kind in kinds):
            return kinds
    return ()


def instances_per_gib(bytes_per_instance: float | None) -> float | None:
    """How many more instances one GiB holds; None when the growth is not positive."""
    if bytes_per_instance is None or bytes_per_instance <= 0:
        return None
    return GIB / bytes_per_instance


@dataclass(frozen=True)
class CurveStep:
    """From one rung to the next: the memory the added instances cost each."""

    n: int
    from_n: int
    total_bytes: float
    marginal_bytes: float
    instances_per_gib: float | None


def density_curve(counts: Sequence[int], totals: Sequence[float]) -> list[CurveStep]:
    """For each rung after the first: the marginal memory per added instance
    since the previous rung, and what it means in instances per GiB."""
    curve = []
    pairs = list(zip(counts, totals))
    for (n0, t0), (n1, t1) in zip(pairs, pairs[1:]):
        if n1 <= n0:
            continue
        marginal = (t1 - t0) / (n1 - n0)
        curve.append(CurveStep(n1, n0, t1, marginal, instances_per_gib(marginal)))
    return curve


@dataclass(frozen=True)
class DensityFit:
    """Instances per GiB from a sweep, and how it was found (or why it was not)."""

    instances_per_gib: float | None
    memory_kind: str  # the kinds summed, "cgroup+shim_pss"; "" when none fits
    memory_meaning: str  # what that memory is, or why there is no figure
    bytes_per_instance: float | None = None
    method: str = ""
    counts: tuple[int, ...] = ()
    total_bytes: tuple[float, ...] = ()
    curve: tuple[CurveStep, ...] = ()


def analyse(sweep: DensitySweep) -> DensityFit:
    """Instances per GiB from a sweep.

    The headline is the marginal memory per instance: the least-squares growth
    per instance over the rungs with N >= 2 (a lone process owns pages a
    second one would share); with one such rung, the growth from the rung
    before it; with a single rung, the growth / N.
    """
    steps = sweep.steps
    if not steps:
        return DensityFit(None, "", "no memory reading")
    kinds = headline_kinds(sweep.instance_class, list(steps[-1].total_bytes))
    if not kinds:
        return DensityFit(None, "", f"no memory figure fits a {sweep.instance_class} instance")
    counts = [step.n for step in steps]
    totals = [sum(float(step.total_bytes[kind]) for kind in kinds) for step in steps]
    shared = [(n, t) for n, t in zip(counts, totals) if n >= 2]
    fit = marginal_slope([n for n, _ in shared], [t for _, t in shared])
    curve = density_curve(counts, totals)
    if fit is not None:
        per_instance = fit.per_unit
        method = f"least-squares growth per instance over N = {', '.join(str(n) for n, _ in shared)}"
    elif curve:
        per_instance = curve[-1].marginal_bytes
        method = f"growth from N = {curve[-1].from_n} to N = {curve[-1].n}, per added instance"
    else:
        per_instance, method = totals[-1] / counts[-1], f"growth / N at N = {counts[-1]} (one rung only)"
    label = "+".join(kinds)
    return DensityFit(instances_per_gib(per_instance), label, memory_meaning(label), per_instance, method,
                      tuple(counts), tuple(totals), tuple(curve))


@dataclass(frozen=True)
class DensityPoint:
    """One rung of the summary's curve, MiB (2^20 bytes): the total the N
    instances add, and the marginal cost from the rung before (None at the first)."""

    n: int
    total_mb: float
    marginal_mb: float | None
    instances_per_gib: float | None

    def to_json(self) -> dict:
        return {"n": self.n, "total_mb": self.total_mb, "marginal_mb": self.marginal_mb,
                "instances_per_gib": self.instances_per_gib}


@dataclass(frozen=True)
class DensitySummary:
    """The summary's `density` entry: the last sweep's instances per GiB and its ladder."""

    instances_per_gib: float | None
    marginal_mb: float | None
    memory_kind: str
    memory_meaning: str
    method: str
    instance_class: str
    max_n_reached: int
    ladder: tuple[int, ...]
    stopped_because: str
    stopped_early: bool
    budget_s: float
    growth_s: float | None
    teardown_s: float | None
    trial: int | None
    curve: tuple[DensityPoint, ...]

    def to_json(self) -> dict:
        return {"instances_per_gib": self.instances_per_gib, "marginal_mb": self.marginal_mb,
                "memory_kind": self.memory_kind, "memory_meaning": self.memory_meaning, "method": self.method,
                "instance_class": self.instance_class, "max_n_reached": self.max_n_reached,
                "ladder": list(self.ladder), "stopped_because": self.stopped_because,
                "stopped_early": self.stopped_early, "budget_s": self.budget_s, "growth_s": self.growth_s,
                "teardown_s": self.teardown_s, "trial": self.trial, "curve": [p.to_json() for p in self.curve]}


def summarize_density(sweep: DensitySweep) -> DensitySummary:
    """The summary's `density` entry (MiB = 2^20 bytes)."""
    fit = analyse(sweep)
    marginals = {step.n: step for step in fit.curve}
    curve = tuple(DensityPoint(n, total / MIB, marginals[n].marginal_bytes / MIB if n in marginals else None,
                               marginals[n].instances_per_gib if n in marginals else None)
                  for n, total in zip(fit.counts, fit.total_bytes))
    per_instance = fit.bytes_per_instance
    return DensitySummary(
        instances_per_gib=fit.instances_per_gib, marginal_mb=per_instance / MIB if per_instance is not None else None,
        memory_kind=fit.memory_kind, memory_meaning=fit.memory_meaning, method=fit.method,
        instance_class=sweep.instance_class, max_n_reached=sweep.max_n_reached, ladder=tuple(sweep.ladder),
        stopped_because=sweep.stopped_because, stopped_early=sweep.stopped_early, budget_s=sweep.budget_s,
        growth_s=sweep.growth_s, teardown_s=sweep.teardown_s, trial=sweep.trial, curve=curve)
