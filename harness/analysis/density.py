"""Density, as pure functions on a density sweep: which memory counts for a
kind of instance, the marginal memory per instance, and "instances per GiB"
with its curve. harness/procedures/density.py does the measuring."""

from __future__ import annotations

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


def density_curve(counts: Sequence[int], totals: Sequence[float]) -> list[dict]:
    """For each rung after the first: the marginal memory per added instance
    since the previous rung, and what it means in instances per GiB."""
    curve = []
    pairs = list(zip(counts, totals))
    for (n0, t0), (n1, t1) in zip(pairs, pairs[1:]):
        if n1 <= n0:
            continue
        marginal = (t1 - t0) / (n1 - n0)
        curve.append({"n": n1, "from_n": n0, "total_bytes": t1, "marginal_bytes": marginal,
                      "instances_per_gib": instances_per_gib(marginal)})
    return curve


def analyse(sweep: DensitySweep) -> dict:
    """Instances per GiB from a sweep.

    The headline is the marginal memory per instance: the least-squares growth
    per instance over the rungs with N >= 2 (a lone process owns pages a
    second one would share); with one such rung, the growth from the rung
    before it; with a single rung, the growth / N.
    """
    steps = sweep.steps
    if not steps:
        return {"instances_per_gib": None, "memory_kind": "", "reason": "no memory reading"}
    kinds = headline_kinds(sweep.instance_class, list(steps[-1].total_bytes))
    if not kinds:
        return {"instances_per_gib": None, "memory_kind": "",
                "reason": f"no memory figure fits a {sweep.instance_class} instance"}
    counts = [step.n for step in steps]
    totals = [sum(float(step.total_bytes[kind]) for kind in kinds) for step in steps]
    shared = [(n, t) for n, t in zip(counts, totals) if n >= 2]
    fit = marginal_slope([n for n, _ in shared], [t for _, t in shared])
    curve = density_curve(counts, totals)
    if fit is not None:
        per_instance = fit.per_unit
        method = f"least-squares growth per instance over N = {', '.join(str(n) for n, _ in shared)}"
    elif curve:
        per_instance = curve[-1]["marginal_bytes"]
        method = f"growth from N = {curve[-1]['from_n']} to N = {curve[-1]['n']}, per added instance"
    else:
        per_instance, method = totals[-1] / counts[-1], f"growth / N at N = {counts[-1]} (one rung only)"
    label = "+".join(kinds)
    return {
        "instances_per_gib": instances_per_gib(per_instance),
        "bytes_per_instance": per_instance,
        "memory_kind": label,
        "memory_meaning": memory_meaning(label),
        "method": method,
        "counts": counts,
        "total_bytes": totals,
        "curve": curve,
    }


def summarize_density(sweep: DensitySweep) -> dict:
    """The summary's `density` entry (MiB = 2^20 bytes)."""
    figures = analyse(sweep)
    per_instance = figures.get("bytes_per_instance")
    marginals = {point["n"]: point for point in figures.get("curve", [])}
    curve = []
    for n, total in zip(figures.get("counts", []), figures.get("total_bytes", [])):
        point = marginals.get(n)
        curve.append({"n": n, "total_mb": total / MIB,
                      "marginal_mb": point["marginal_bytes"] / MIB if point else None,
                      "instances_per_gib": point["instances_per_gib"] if point else None})
    return {
        "instances_per_gib": figures["instances_per_gib"],
        "marginal_mb": per_instance / MIB if per_instance is not None else None,
        "memory_kind": figures["memory_kind"],
        "memory_meaning": figures.get("memory_meaning", figures.get("reason", "")),
        "method": figures.get("method", ""),
        "instance_class": sweep.instance_class,
        "max_n_reached": sweep.max_n_reached,
        "ladder": list(sweep.ladder),
        "stopped_because": sweep.stopped_because,
        "stopped_early": sweep.stopped_early,
        "budget_s": sweep.budget_s,
        "growth_s": sweep.growth_s,
        "teardown_s": sweep.teardown_s,
        "trial": sweep.trial,
        "curve": curve,
    }
