"""Concurrency: throughput and latency with K callers at once, level by
level; at each level every backend (in each way it declares it can serve
callers: Backend.concurrency_modes) is measured in a new random order. Every
call's latency is recorded raw; p99 and throughput come from
harness/analysis/concurrency.py. Backends that declare no mode are left out.
A capacity sweep: it runs in `concurrency_trials` trials, spread over the
first ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.procedures.concurrency import ConcurrencySettings as SweepSettings, ModeSweep, primary_mode
from harness.analysis.concurrency import summarize_concurrency
from harness.results.model import BackendResult, Concurrency
from harness.suites.base import CapacitySweep, Records, parts


@dataclass(frozen=True)
class ConcurrencySettings:
    concurrency_trials: int = 1  # trials that run it, spread over the first ones
    concurrency_levels: tuple[int, ...] = (1, 2, 4)
    concurrency_container_levels: tuple[int, ...] | None = None  # None: concurrency_levels
    concurrency_duration_s: float = 0.1
    concurrency_warmup_calls: int = 3
    concurrency_max_calls: int = 300

    def levels_for(self, instance_class: str) -> tuple[int, ...]:
        if instance_class == "container" and self.concurrency_container_levels is not None:
            return self.concurrency_container_levels
        return self.concurrency_levels


class ConcurrencySuite(CapacitySweep):
    name = "concurrency"
    label = "concurrency"
    records = {"concurrency": Concurrency}
    trials_setting = "concurrency_trials"
    Settings = ConcurrencySettings

    def measure(self, trial) -> None:
        names = [n for n in trial.members(self.name) if trial.backends[n].concurrency_modes]
        if not names:
            return  # no backend of this trial serves concurrent callers
        profile = self.settings(trial.profile)
        settings = SweepSettings(profile.concurrency_duration_s, profile.concurrency_warmup_calls,
                                       profile.concurrency_max_calls)
        levels = {name: profile.levels_for(trial.backends[name].instance_class) for name in names}
        sweeps = {(name, mode): ModeSweep(trial.backends[name], trial.worker, mode, settings)
                  for name in names for mode in trial.backends[name].concurrency_modes}
        try:
            all_levels = sorted({k for ks in levels.values() for k in ks})
            total = sum(len(levels[name]) for name, _ in sweeps)
            with trial.progress.steps(f"concurrency (callers {', '.join(map(str, all_levels))})", total) as advance:
                for k in all_levels:
                    for name, mode in trial.order(list(sweeps)):
                        if k in levels[name]:
                            sweeps[(name, mode)].level(k)
                            advance()
            for name in names:
                modes = {mode: sweeps[(name, mode)].result() for mode in trial.backends[name].concurrency_modes}
                raw = {"trial": trial.spec.index, "primary_mode": primary_mode(list(modes)), "modes": modes}
                trial.record(name).put("concurrency",
                                       Concurrency.from_json(raw, f"trial {trial.spec.index}, {name}, concurrency"))
                errors = [f"{mode}: {result['error']}" for mode, result in modes.items() if result["error"]]
                if errors:
                    trial.fail(self.name, name, RuntimeError("; ".join(errors)))
        finally:
            for sweep in sweeps.values():
                sweep.close()

    def summary(self, result: BackendResult) -> dict[str, Any]:
        """Throughput and latency per level of the last sweep (harness/analysis/concurrency.py)."""
        found = summarize_concurrency(result.concurrency[-1]) if result.concurrency else None
        return {"concurrency": found} if found else {}

    def merge(self, records: Records) -> dict[str, Any]:
        return {"concurrency": tuple(sweep for _, sweep in parts(records, "concurrency"))}


SUITE = ConcurrencySuite()
