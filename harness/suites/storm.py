"""Cold-start storms: for each backend in turn (a new random order each
trial), bursts of N new instances requested at the same moment, N along the
profile's ladder, each instance timed from the burst's release to its first
answer (harness/procedures/storm.py). A sweep stops at the first bound it
meets: the ladder's end, the cap for the backend's instance class, the memory
budget (a share of MemAvailable, over the memory per instance from this
trial's density sweep, or else from the last burst), failures, or its time
budget. The figures per burst come from harness/analysis/storm.py; the burst
of HEADLINE_N gives the two timing figures every backend is compared by. A
capacity sweep: it runs in `storm_trials` trials, spread over the first ones
(the same trials as density, when the counts are equal)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from harness.analysis.density import analyse
from harness.analysis.storm import last_answers, start_latencies, summarize_storm
from harness.procedures.storm import Hooks, StormSettings as SweepSettings, storm_sweep
from harness.results.at_scale import StormSweep
from harness.results.model import BackendResult
from harness.results.vocabulary import Figure
from harness.suites.base import CapacitySweep, Records, parts

HEADLINE_N = 64  # the burst every backend is compared at (profiles' ladders reach it)


@dataclass(frozen=True)
class StormSettings:
    storm_trials: int = 1  # trials that run it, spread over the first ones
    storm_counts: tuple[int, ...] = (1, 4)  # the burst sizes N
    storm_in_process_cap: int = 1024
    storm_process_cap: int = 256
    storm_container_cap: int = 64
    storm_memory_share: float = 0.5  # of MemAvailable when the sweep starts
    storm_timeout_s: float = 60.0  # per burst: from its release to the last answer
    storm_budget_s: float = 120.0  # per backend's sweep

    def cap_for(self, instance_class: str) -> int:
        return {"in-process": self.storm_in_process_cap,
                "container": self.storm_container_cap}.get(instance_class, self.storm_process_cap)


class StormSuite(CapacitySweep):
    name = "storm"
    label = "cold-start storms"
    figures = (
        Figure("storm_last_answer", f"burst of {HEADLINE_N}: last answer", "ms", 1e3,
               f"{HEADLINE_N} new instances requested at the same moment: from the burst's release to the last "
               "instance's first answer, one value per trial (trials in which every instance answered). The "
               "burst keeps the CPUs busy: they are not held awake, and do not sleep.", ratio=True),
        Figure("storm_start", f"start in a burst of {HEADLINE_N}", "ms", 1e3,
               f"Each instance of a burst of {HEADLINE_N}: from the burst's release to its own first answer "
               "(queueing behind the others included).", tailed=True),
    )
    records = {"storm": StormSweep}
    trials_setting = "storm_trials"
    report = "at_scale"  # harness/report/at_scale.py
    Settings = StormSettings

    def measure(self, trial) -> None:
        profile = self.settings(trial.profile)
        for name in trial.order(trial.members(self.name)):
            backend = trial.backends[name]
            hooks = Hooks()
            density = trial.record(name).part("density")
            fit = analyse(density) if density else None
            per_instance = fit.bytes_per_instance if fit and fit.bytes_per_instance else None
            settings = SweepSettings(ladder=profile.storm_counts, cap=profile.cap_for(backend.instance_class),
                                     memory_budget_bytes=profile.storm_memory_share * hooks.available(),
                                     timeout_s=profile.storm_timeout_s, budget_s=profile.storm_budget_s,
                                     bytes_per_instance=per_instance,
                                     bytes_source=f"this trial's density sweep ({fit.memory_kind})"
                                     if per_instance else "")
            bursts = [n for n in profile.storm_counts if n <= settings.cap]
            label = f"storm {name} (bursts of {', '.join(map(str, bursts))})"
            with trial.progress.steps(label, len(bursts)) as advance:
                try:
                    sweep = storm_sweep(backend, trial.worker, settings, trial.spec.index,
                                        replace(hooks, advance=advance))
                except Exception as error:
                    trial.fail(self.name, name, error)
                    continue
            trial.record(name).put("storm", sweep)

    def summary(self, result: BackendResult) -> dict[str, Any]:
        """Every burst size over the trials that ran it (harness/analysis/storm.py)."""
        found = summarize_storm(result.sweeps.get("storm", ()))
        return {"storm": found} if found else {}

    def merge(self, records: Records) -> dict[str, Any]:
        sweeps = tuple(sweep for _, sweep in parts(records, "storm"))
        return {"sweeps": {"storm": sweeps},
                "timings": {"storm_last_answer": last_answers(sweeps, HEADLINE_N),
                            "storm_start": start_latencies(sweeps, HEADLINE_N)}}


SUITE = StormSuite()
