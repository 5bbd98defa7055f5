"""The headline figures of a results file, as raw samples in display units:
what compare, history and the exporters read. Reads results only."""

from __future__ import annotations

from dataclasses import dataclass

from harness.results.store import Results

MIB = float(1 << 20)
REFERENCE = "isolate"  # ratios are each backend over this one, measured in the same run


@dataclass(frozen=True)
class Timing:
    metric: str
    unit: str
    scale: float  # stored value * scale = display unit
    label: str


TIMINGS = {
    "cold_start": Timing("cold_start", "ms", 1e3, "cold start"),
    "first_isolate": Timing("first_isolate", "ms", 1.0, "first isolate in a fresh process"),
    "warm_call": Timing("warm_call", "µs", 1e6, "warm call"),
    "transport": Timing("transport", "µs", 1e6, "transport round trip"),
}
# Memory per instance, by kind (MiB); the headline kinds only (see README).
MEMORY_KINDS = ("uss", "pss", "cgroup", "shim_pss")
# Backend-to-backend ratios measured within one run (machine-independent).
RATIO_TIMINGS = ("cold_start", "warm_call", "transport")
RATIO_MEMORY_KINDS = ("uss", "pss")


def timing_samples(results: Results, backend: str, metric: str) -> list[float] | None:
    """Raw samples of one timing in its display unit, or None if not measured."""
    spec = TIMINGS[metric]
    if metric == "first_isolate":
        cold = results.find(backend, "cold_start")
        first = cold.extra.get("first_isolate") if cold else None
        values = (first or {}).get("total_ms") or []
    else:
        bench = results.find(backend, metric)
        values = bench.samples if bench else []
    return [float(v) * spec.scale for v in values] or None


def memory_mib(results: Results, backend: str) -> dict[str, float]:
    """Memory per instance by kind (MiB), at the largest N of the sweep."""
    bench = results.find(backend, "memory")
    sweep = bench.extra.get("memory") if bench else None
    if not sweep:
        return {}
    per = sweep.get("per_instance_bytes", {})
    return {kind: per[kind] / MIB for kind in MEMORY_KINDS if isinstance(per.get(kind), (int, float))}


def measured_backends(results: Results) -> list[str]:
    """Backends that recorded at least one figure."""
    return [name for name in results.backend_names()
            if any(timing_samples(results, name, m) for m in TIMINGS) or memory_mib(results, name)]


def ratio_backends(results: Results) -> list[str]:
    """Backends that have a ratio over the reference in this run."""
    if REFERENCE not in measured_backends(results):
        return []
    return [name for name in measured_backends(results) if name != REFERENCE]


def injected(results: Results) -> dict:
    """Faults injected on purpose into the run (test-only); {} for a real run."""
    return dict(results.record.get("injected") or {})


def commit_of(results: Results) -> str | None:
    """The git commit the run measured, or None (pytest-benchmark says "unversioned")."""
    git = results.machine.get("git") or {}
    commit = git.get("commit") or (results.raw.get("commit_info") or {}).get("id")
    return None if commit in (None, "", "unversioned") else commit


def started_at(results: Results) -> str | None:
    return results.record.get("started") or results.raw.get("datetime")
