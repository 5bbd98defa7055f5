"""Concurrency, as pure functions: throughput and latency percentiles of K
callers from their raw call records, and what the numbers can mean on a
machine with few cores. harness/measure_concurrency.py does the measuring."""

from __future__ import annotations

from typing import Sequence

from harness.backends.base import PER_CALLER, SHARED
from harness.analysis.stats import summarize

QUESTIONS = {
    PER_CALLER: "K callers at once, each with its own warm instance (one request at a time per "
                "instance, as a function host that scales out by instances)",
    SHARED: "K callers at once, all routed to one warm instance (as a host that sends every "
            "request to a warm isolate)",
}


def primary_mode(modes: Sequence[str]) -> str | None:
    """The mode whose figures head the summary: per-caller if measured (every
    backend that serves concurrently can be compared on it), else shared."""
    for mode in (PER_CALLER, SHARED):
        if mode in modes:
            return mode
    return None


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
        "median_ci95_us": list(summary.ci95) if summary.ci95 else None,
        "p90_us": summary.p90,
        "p99_us": summary.p99,
        "max_us": summary.max,
    }


def queueing_note(levels: Sequence[int], cores: int) -> str:
    """Says which levels can run truly in parallel here, and which mostly queue."""
    over = [k for k in levels if k > cores]
    if not over:
        return f"{cores} cores: every level has at most one caller per core"
    return (f"{cores} cores here: with {', '.join(map(str, over))} callers there are more callers than cores, "
            f"so these levels mostly measure queueing (throughput levels off, p99 grows with the queue), "
            f"not more parallel work")


def summarize_mode(result: dict) -> dict:
    """Figures per level ("1", "2", ...) of one mode's raw record."""
    out = {str(level["callers"]): level_figures(level["latencies_ns"], level["window_s"])
           for level in result.get("levels", [])}
    out["question"] = result.get("question", "")
    if result.get("error"):
        out["error"] = result["error"]
    return out


def summarize_concurrency(extra: dict) -> dict:
    """The summary's `concurrency` entry: the primary mode's levels at the top
    ("1": {throughput_rps, p99_us, ...}), any other mode under its own name."""
    modes = extra.get("concurrency", {})
    primary = extra.get("primary_mode") or primary_mode(list(modes))
    if primary not in modes:
        return {}
    first = modes[primary]
    entry = {"mode": primary, **summarize_mode(first), "cores": first.get("cores"),
             "callers_are": first.get("callers_are", ""), "note": first.get("note", "")}
    for mode, result in modes.items():
        if mode != primary:
            entry[mode] = summarize_mode(result)
    return entry
