"""Concurrency, as pure functions: throughput and latency percentiles of K
callers from their raw call records. harness/procedures/concurrency.py does the
measuring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from harness.analysis.stats import summarize
from harness.results.model import Concurrency, ConcurrencyMode


def throughput_rps(calls: int, window_s: float) -> float | None:
    """Completed calls per second over the window in which they ran."""
    if calls <= 0 or window_s <= 0:
        return None
    return calls / window_s


@dataclass(frozen=True)
class LevelFigures:
    """Throughput and latency percentiles (µs) of one level of callers."""

    calls: int
    throughput_rps: float | None
    median_us: float | None
    p99_us: float | None
    window_s: float | None = None
    p90_us: float | None = None
    max_us: float | None = None

    def to_json(self) -> dict:
        if not self.calls:
            return {"calls": 0, "throughput_rps": None, "p99_us": None, "median_us": None}
        return {"calls": self.calls, "window_s": self.window_s, "throughput_rps": self.throughput_rps,
                "median_us": self.median_us, "p90_us": self.p90_us, "p99_us": self.p99_us, "max_us": self.max_us}


def level_figures(latencies_ns: Sequence[float], window_s: float) -> LevelFigures:
    """Throughput and latency percentiles (µs) of one level from its raw records."""
    if not latencies_ns:
        return LevelFigures(0, None, None, None)
    summary = summarize(latencies_ns).scaled(1e-3)
    return LevelFigures(calls=summary.n, throughput_rps=throughput_rps(summary.n, window_s),
                        median_us=summary.median, p99_us=summary.p99, window_s=window_s, p90_us=summary.p90,
                        max_us=summary.max)


def queueing_note(levels, cores: int) -> str:
    """Says which levels can run truly in parallel here, and which mostly queue."""
    over = [k for k in levels if k > cores]
    if not over:
        return f"{cores} cores: every level has at most one caller per core"
    return (f"{cores} cores here: with {', '.join(map(str, over))} callers there are more callers than cores, "
            f"so these levels mostly measure queueing (throughput levels off, p99 grows with the queue), "
            f"not more parallel work")


@dataclass(frozen=True)
class ModeFigures:
    """One mode's figures, level by level (callers -> LevelFigures), with the question it answers."""

    levels: Mapping[int, LevelFigures]
    question: str
    error: str | None = None

    def measured(self) -> list[int]:
        """The levels with calls, in order."""
        return sorted(k for k, level in self.levels.items() if level.calls)

    def to_json(self) -> dict:
        out: dict = {str(k): level.to_json() for k, level in self.levels.items()}
        out["question"] = self.question
        if self.error:
            out["error"] = self.error
        return out


def summarize_mode(result: ConcurrencyMode) -> ModeFigures:
    """Figures per level of one mode."""
    return ModeFigures({level.callers: level_figures(level.latencies_ns, level.window_s) for level in result.levels},
                       result.question, result.error or None)


@dataclass(frozen=True)
class ConcurrencySummary:
    """The summary's `concurrency` entry: the primary mode's levels at the top
    ("1": {throughput_rps, p99_us, ...}), any other mode under its own name."""

    mode: str
    primary: ModeFigures
    cores: int
    callers_are: str
    note: str
    trial: int
    others: Mapping[str, ModeFigures]

    def modes(self) -> list[tuple[str, ModeFigures]]:
        """(mode, figures), the primary one first."""
        return [(self.mode, self.primary), *self.others.items()]

    def to_json(self) -> dict:
        return {"mode": self.mode, **self.primary.to_json(), "cores": self.cores, "callers_are": self.callers_are,
                "note": self.note, "trial": self.trial, **{mode: f.to_json() for mode, f in self.others.items()}}


def summarize_concurrency(record: Concurrency) -> ConcurrencySummary | None:
    """The last sweep's figures, or None when its primary mode was not measured."""
    primary = record.primary_mode
    if primary not in record.modes:
        return None
    first = record.modes[primary]
    return ConcurrencySummary(primary, summarize_mode(first), first.cores, first.callers_are, first.note,
                              record.trial, {mode: summarize_mode(result) for mode, result in record.modes.items()
                                             if mode != primary})
