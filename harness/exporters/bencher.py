"""Bencher Metric Format (BMF) JSON: {benchmark: {measure: {value, lower_value,
upper_value}}}. Timings go to Bencher's built-in `latency` measure, in
nanoseconds (its unit); memory per instance to `memory-per-instance-mib`;
backend-over-reference ratios to `ratio`; rates (starts/s, req/s) to
`throughput` (higher is better). lower/upper are the 95% CI."""

from __future__ import annotations

from harness.findings.key_figures import key_figures
from harness.results.model import Run

TO_NS = {"ms": 1e6, "µs": 1e3}


def _measure(unit: str) -> tuple[str, float]:
    if unit in TO_NS:
        return "latency", TO_NS[unit]
    if unit == "MiB":
        return "memory-per-instance-mib", 1.0
    if unit.endswith("/s"):
        return "throughput", 1.0
    return "ratio", 1.0


def export(run: Run) -> dict:
    out: dict = {}
    for figure in key_figures(run):
        measure, scale = _measure(figure.unit)
        metric = {"value": figure.value * scale}
        if figure.ci95:
            metric["lower_value"] = figure.ci95[0] * scale
            metric["upper_value"] = figure.ci95[1] * scale
        out.setdefault(f"isobench/{figure.name}", {})[measure] = metric
    return out
