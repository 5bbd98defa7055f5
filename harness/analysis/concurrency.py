"""Concurrency, as pure functions: throughput and latency percentiles of K
callers from their raw call records. harness/procedures/concurrency.py does the
measuring."""

from __future__ import annotations

from typing import Sequence

from harness.analysis.stats import summarize
from harness.results.model import Concurrency, ConcurrencyMode


def throughput_rps(calls: int, window_s: float) -> float | None:
    """Completed calls per second over the window in which they ran."""
    if calls <= 0 or window_s <= 0:
        return None
    return calls / window_s


def level_figures(latencies_ns: Sequence[float], window_s: float) -> dict:
    """Throughput and latency percentiles (µs) of one level from its raw records."""
    if not latencies_ns:
        return {"calls": 0, "throughput_rps": None, "p99_us": None, "median_us": None}
    summary = summarize(latencies_ns).scaled(1e-3)
    return {
        "calls": summary.n,
        "window_s": window_s,
        "throughput_rps": throughput_rps(summary.n, window_s),
        "median_us": summary.median,
        "p90_us": summary.p90,
        "p99_us": summary.p99,
        "max_us": summary.max,
    }


def queueing_note(levels, cores: int) -> str:
    """Says which levels can run truly in parallel here, and which mostly queue."""
    over = [k for k in levels if k > cores]
    if not over:
        return f"{cores} cores: every level has at most one caller per core"
    return (f"{cores} cores here: with {', '.join(map(str, over))} callers there are more callers than cores, "
            f"so these levels mostly measure queueing (throughput levels off, p99 grows with the queue), "
            f"not more parallel work")


def summarize_mode(result: ConcurrencyMode) -> dict:
    """Figures per level ("1", "2", ...) of one mode."""
    out: dict = {str(level.callers): level_figures(level.latencies_ns, level.window_s) for level in result.levels}
    out["question"] = result.question
    if result.error:
        out["error"] = result.error
    return out


def summarize_concurrency(record: Concurrency) -> dict:
    """The summary's `concurrency` entry: the primary mode's levels at the top
    ("1": {throughput_rps, p99_us, ...}), any other mode under its own name."""
    primary = record.primary_mode
    if primary not in record.modes:
        return {}
    first = record.modes[primary]
    entry = {"mode": primary, **summarize_mode(first), "cores": first.cores, "callers_are": first.callers_are,
             "note": first.note, "trial": record.trial}
    for mode, result in record.modes.items():
        if mode != primary:
            entry[mode] = summarize_mode(result)
    return entry
