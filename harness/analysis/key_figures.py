"""The headline figures of one run, each with its 95% interval: what history
plots and the exporters write. Reads results only."""

from __future__ import annotations

import numpy as np

from harness.analysis import figures
from harness.results.store import Results
from harness.analysis.stats import median_ci, median_ratio


def _figure(name: str, backend: str, metric: str, unit: str, value: float, ci95, n: int) -> dict:
    return {"name": name, "backend": backend, "metric": metric, "unit": unit, "value": float(value),
            "ci95": [float(ci95[0]), float(ci95[1])] if ci95 else None, "n": n}


def headline_figures(results: Results) -> list[dict]:
    """[{name, backend, metric, unit, value, ci95, n}]: timings (median and its
    order-statistics CI), memory per instance (no CI: one sweep), and each
    backend over the isolate (bootstrap CI)."""
    out = []
    for backend in figures.measured_backends(results):
        for metric, spec in figures.TIMINGS.items():
            samples = figures.timing_samples(results, backend, metric)
            if samples:
                out.append(_figure(f"{metric}/{backend}", backend, metric, spec.unit, np.median(samples),
                                   median_ci(samples), len(samples)))
        for kind, mib in figures.memory_mib(results, backend).items():
            out.append(_figure(f"memory_{kind}/{backend}", backend, f"memory_{kind}", "MiB", mib, None, 1))
    ref = figures.REFERENCE
    for backend in figures.ratio_backends(results):
        for metric in figures.RATIO_TIMINGS:
            mine, theirs = figures.timing_samples(results, backend, metric), figures.timing_samples(results, ref, metric)
            if mine and theirs:
                ratio = median_ratio(mine, theirs)
                out.append(_figure(f"{metric}_ratio/{backend}/{ref}", f"{backend}/{ref}", f"{metric}_ratio", "x",
                                   ratio.value, ratio.ci95, min(len(mine), len(theirs))))
        mine, theirs = figures.memory_mib(results, backend), figures.memory_mib(results, ref)
        for kind in figures.RATIO_MEMORY_KINDS:
            if mine.get(kind) and theirs.get(kind):
                out.append(_figure(f"memory_{kind}_ratio/{backend}/{ref}", f"{backend}/{ref}",
                                   f"memory_{kind}_ratio", "x", mine[kind] / theirs[kind], None, 1))
    return out
