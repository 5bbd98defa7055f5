"""What the report reads from a results file, in the report's units: raw
samples per backend (ms, µs, MiB) beside the flat summary. Read only."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.report.colours import colour_map
from harness.results.store import Results
from harness.analysis.summary import MIB, REFERENCE_BACKEND, summarize_results

# Memory kinds the report shows, in order, with the label a reader sees.
MEMORY_KINDS = {
    "uss": "USS",
    "pss": "PSS",
    "cgroup": "cgroup",
    "shim_pss": "shim PSS",
    "v8_heap_physical": "V8 heap",
}
# Every kind a sweep may record, for the methodology table.
MEMORY_LABELS = {**MEMORY_KINDS, "rss": "RSS", "v8_heap_used": "V8 heap used", "docker_stats": "docker stats",
                 "runtime_pss": "runtime PSS", "linear_memory": "Wasm linear memory",
                 "in_process_anon": "workerd in-process anon", "in_process_rss": "workerd in-process RSS"}


@dataclass
class ReportData:
    results: Results
    summary: dict
    colours: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Every backend of the run, the reference (isolate) first."""
        names = list(self.summary["backends"])
        return sorted(names, key=lambda name: name != REFERENCE_BACKEND)

    @property
    def measured(self) -> list[str]:
        return [name for name in self.names if self.summary["backends"][name]["available"]]

    @property
    def unavailable(self) -> dict[str, str]:
        return {name: entry.get("reason") or "no reason recorded"
                for name, entry in self.summary["backends"].items() if not entry["available"]}

    def entry(self, name: str) -> dict:
        return self.summary["backends"].get(name, {})

    def _samples(self, name: str, metric: str, scale: float) -> np.ndarray:
        bench = self.results.find(name, metric)
        return np.asarray(bench.samples if bench else [], dtype=float) * scale

    def cold_ms(self, name: str) -> np.ndarray:
        return self._samples(name, "cold_start", 1e3)

    def first_isolate_ms(self, name: str) -> np.ndarray:
        bench = self.results.find(name, "cold_start")
        first = (bench.extra.get("first_isolate") or {}) if bench else {}
        return np.asarray(first.get("total_ms") or [], dtype=float)

    def phases_ms(self, name: str, first_isolate: bool = False) -> dict[str, np.ndarray]:
        bench = self.results.find(name, "cold_start")
        if not bench:
            return {}
        source = (bench.extra.get("first_isolate") or {}) if first_isolate else bench.extra
        return {phase: np.asarray(values, dtype=float) for phase, values in (source.get("phases_ms") or {}).items()
                if values}

    def warm_us(self, name: str) -> np.ndarray:
        return self._samples(name, "warm_call", 1e6)

    def transport_us(self, name: str) -> np.ndarray:
        return self._samples(name, "transport", 1e6)

    def engine_us(self, name: str) -> np.ndarray:
        bench = self.results.find(name, "warm_call")
        return np.asarray((bench.extra.get("engine_ns_per_call") or []) if bench else [], dtype=float) / 1e3

    def memory_sweep(self, name: str) -> dict:
        bench = self.results.find(name, "memory")
        return (bench.extra.get("memory") or {}) if bench else {}

    def memory_per_instance_mib(self, name: str) -> dict[str, float]:
        """Kind -> MiB per instance at the largest N, for the kinds the report shows."""
        values = self.entry(name).get("memory_per_instance_mb") or {}
        return {kind: values[kind] for kind in MEMORY_KINDS if values.get(kind)}

    def memory_steps_mib(self, name: str, kind: str) -> tuple[list[int], list[float]]:
        """(N, total growth in MiB) for one kind over the sweep."""
        counts, totals = [], []
        for step in self.memory_sweep(name).get("steps", []):
            value = step.get("total_bytes", {}).get(kind)
            if value is not None:
                counts.append(int(step["n"]))
                totals.append(value / MIB)
        return counts, totals


def report_data(results: Results) -> ReportData:
    summary = summarize_results(results)
    data = ReportData(results=results, summary=summary)
    data.colours = colour_map(data.names)
    return data
