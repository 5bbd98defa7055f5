"""Memory per instance: for each backend in turn (a new random order each
trial), N instances held alive at once for growing N, and the backend's
memory figures (USS, PSS, RSS, cgroup, shim, V8 heap ...) read at each N as
growth over its baseline. One backend at a time, because a figure such as the
harness's own USS would count every other backend's instances too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.analysis.estimate import estimate
from harness.analysis.summary_figures import MemoryFigure

from harness.procedures.instances import MemorySettings as SweepSettings, memory_sweep
from harness.results.model import BackendResult, Memory, MemorySweep, Profile, Series
from harness.results.vocabulary import MIB
from harness.suites.base import Records, Suite, parts

STOPPING_KINDS = ("pss", "cgroup", "uss")  # the first a backend has is the one its stopping rule watches


@dataclass(frozen=True)
class MemorySettings:
    memory_counts: tuple[int, ...] = (1, 10)  # N instances alive at once (processes, containers)
    in_process_memory_counts: tuple[int, ...] = (1, 10, 50)
    memory_settle_s: float = 0.2
    memory_trials: int | None = None  # measure memory in the first N trials only (None: in every trial)

    def counts_for(self, instance_class: str) -> tuple[int, ...]:
        return self.in_process_memory_counts if instance_class == "in-process" else self.memory_counts


def memory_figures(result: BackendResult) -> dict:
    memory = result.memory
    if not memory:
        return {}
    per, slopes = {}, {}
    for kind in memory.kinds:
        found = estimate(memory.per_instance(kind))
        if found:
            per[kind] = MemoryFigure.of(found, 1 / MIB)
        slope = memory.slope(kind)
        if slope:
            slopes[kind] = float(np.median(slope.array())) / MIB
    return {"memory_per_instance_mb": per, "memory_at_n": memory.largest_n, "memory_slope_mb": slopes,
            "memory_kinds": memory.scopes,
            "memory_method": f"growth over the baseline / N with N = {memory.largest_n} alive at once; median over "
                             f"{len(memory.sweeps)} trial(s)"}


class MemorySuite(Suite):
    name = "memory"
    label = "memory"
    records = {"memory": MemorySweep}
    Settings = MemorySettings
    report = "memory"  # harness/report/markdown.py and plots.py

    def scheduled(self, profile: Profile, index: int) -> bool:
        """In the first `memory_trials` trials, when the profile sets it; else in every one."""
        trials = self.settings(profile).memory_trials
        return trials is None or index < trials

    def measure(self, trial) -> None:
        profile = self.settings(trial.profile)
        for name in trial.order(trial.members(self.name)):
            backend = trial.backends[name]
            counts = profile.counts_for(backend.instance_class)
            with trial.progress.steps(f"memory {name} (N = {', '.join(map(str, counts))})", max(counts)) as advance:
                try:
                    settings = SweepSettings(counts, profile.memory_settle_s, trial.spec.index)
                    sweep = memory_sweep(backend, trial.worker, settings, advance)
                except Exception as error:
                    trial.fail(self.name, name, error)
                    continue
            trial.record(name).put("memory", MemorySweep.from_json(sweep, f"trial {trial.spec.index}, {name}, memory"))

    def merge(self, records: Records) -> dict[str, Any]:
        sweeps = tuple(sweep for _, sweep in parts(records, "memory"))
        return {"memory": Memory(sweeps) if sweeps else None}

    def summary(self, result: BackendResult) -> dict[str, Any]:
        return memory_figures(result)

    def known_by(self, result: BackendResult) -> dict[str, Series | None]:
        kinds = result.memory.kinds if result.memory else ()
        kind = next((k for k in STOPPING_KINDS if k in kinds), None)
        return {f"memory_{kind}": result.memory.per_instance(kind)} if kind else {}


SUITE = MemorySuite()
