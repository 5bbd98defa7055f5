"""Density: for each backend in turn (a new random order each trial), memory
against N live instances along the profile's ladder for its instance class,
within a time budget; stopped early, with the reason recorded, at the budget,
the machine's memory floor, task or mapping ceiling, or an error. Instances
per GiB come from harness/analysis/density.py. One backend at a time: the
harness's own memory counts for the in-process backends. A capacity sweep:
it runs in `density_trials` trials, spread over the first ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.procedures.density import DensitySettings as SweepSettings, Hooks, density_sweep
from harness.analysis.density import summarize_density
from harness.results.model import BackendResult, DensitySweep
from harness.suites.base import CapacitySweep, Records, parts


@dataclass(frozen=True)
class DensitySettings:
    density_trials: int = 1  # trials that run it, spread over the first ones
    density_in_process_counts: tuple[int, ...] = (1, 5, 20)
    density_process_counts: tuple[int, ...] = (1, 3)
    density_container_counts: tuple[int, ...] = (1, 2)
    density_budget_s: float = 20.0  # growing + reading memory, per backend; teardown is extra
    density_settle_s: float = 0.0
    density_memory_floor: float = 0.25  # stop when MemAvailable < this share of MemTotal
    density_task_ceiling: float = 0.5  # stop when the machine's tasks pass this share of pid_max

    def counts_for(self, instance_class: str) -> tuple[int, ...]:
        return {"in-process": self.density_in_process_counts,
                "container": self.density_container_counts}.get(instance_class, self.density_process_counts)


class DensitySuite(CapacitySweep):
    name = "density"
    label = "density"
    records = {"density": DensitySweep}
    trials_setting = "density_trials"
    Settings = DensitySettings

    def measure(self, trial) -> None:
        profile = self.settings(trial.profile)
        for name in trial.order(trial.members(self.name)):
            backend = trial.backends[name]
            settings = SweepSettings(counts=profile.counts_for(backend.instance_class),
                                       budget_s=profile.density_budget_s, settle_s=profile.density_settle_s,
                                       memory_floor=profile.density_memory_floor,
                                       task_ceiling=profile.density_task_ceiling)
            label = f"density {name} (N up to {max(settings.counts)}, budget {settings.budget_s:g} s)"
            with trial.progress.steps(label, max(settings.counts)) as advance:
                try:
                    sweep = density_sweep(backend, trial.worker, settings, trial.spec.index, Hooks(advance=advance))
                except Exception as error:
                    trial.fail(self.name, name, error)
                    continue
            trial.record(name).put("density", DensitySweep.from_json(sweep, f"trial {trial.spec.index}, {name}, density"))

    def summary(self, result: BackendResult) -> dict[str, Any]:
        """Instances per GiB and the ladder of the last sweep (harness/analysis/density.py)."""
        return {"density": summarize_density(result.density[-1])} if result.density else {}

    def merge(self, records: Records) -> dict[str, Any]:
        return {"density": tuple(sweep for _, sweep in parts(records, "density"))}


SUITE = DensitySuite()
