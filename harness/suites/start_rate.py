"""The sustained start rate (scale from zero): for each backend in turn (a
new random order each trial), a few lone cold starts set the bound, then
requests arrive as a Poisson process at rising rates, each served by a new
instance that is stopped after its answer (harness/procedures/start_rate.py).
The sweep stops at the first rate whose p99 is past the bound (plus the
harness's own p99 there, from null starts: the floor), or that has a failed or
unserved request. Figures: harness/analysis/start_rate.py. A
capacity sweep: it runs in `start_rate_trials` trials, spread over the first
ones."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from typing import Any

from harness.analysis.start_rate import summarize_start_rate, sustained_rates
from harness.procedures.start_rate import Floor, StartRateSettings as SweepSettings, start_rate_sweep
from harness.results.at_scale import StartRateSweep
from harness.results.model import BackendResult
from harness.suites.base import CapacitySweep, KeySeries, Records, parts


@dataclass(frozen=True)
class StartRateSettings:
    start_rate_trials: int = 1  # trials that run it, spread over the first ones
    start_rate_in_process: tuple[float, ...] = (25.0, 100.0)  # arrivals per second
    start_rate_process: tuple[float, ...] = (5.0, 20.0)
    start_rate_container: tuple[float, ...] = (1.0, 4.0)
    start_rate_arrivals: int = 10  # requests per rate
    start_rate_lone_starts: int = 3  # their median sets the bound
    start_rate_bound_factor: float = 2.0
    start_rate_in_flight: int = 16
    start_rate_budget_s: float = 60.0  # per backend's sweep

    def rates_for(self, instance_class: str) -> tuple[float, ...]:
        return {"in-process": self.start_rate_in_process,
                "container": self.start_rate_container}.get(instance_class, self.start_rate_process)


class StartRateSuite(CapacitySweep):
    name = "start_rate"
    label = "sustained start rate"
    records = {"start_rate": StartRateSweep}
    trials_setting = "start_rate_trials"
    report = "at_scale"  # harness/report/at_scale.py
    Settings = StartRateSettings

    def measure(self, trial) -> None:
        profile = self.settings(trial.profile)
        rng = random.Random(trial.rng.random())
        shared = SweepSettings(rates=(), arrivals=profile.start_rate_arrivals,
                               lone_starts=profile.start_rate_lone_starts,
                               bound_factor=profile.start_rate_bound_factor,
                               in_flight=profile.start_rate_in_flight, budget_s=profile.start_rate_budget_s)
        floor = Floor(shared, rng)  # the harness's own p99, one per rate and mode in this trial
        for name in trial.order(trial.members(self.name)):
            backend = trial.backends[name]
            rates = profile.rates_for(backend.instance_class)
            settings = replace(shared, rates=rates)
            label = f"start rate {name} ({', '.join(f'{r:g}' for r in rates)}/s)"
            with trial.progress.steps(label, len(rates)) as advance:
                try:
                    sweep = start_rate_sweep(backend, trial.worker, settings, rng, trial.spec.index,
                                             os.cpu_count() or 1, advance, floor=floor)
                except Exception as error:
                    trial.fail(self.name, name, error)
                    continue
            trial.record(name).put("start_rate", sweep)

    def summary(self, result: BackendResult) -> dict[str, Any]:
        """Each rate's p50 and p99 over the trials, the sustained rate per trial (harness/analysis/start_rate.py)."""
        found = summarize_start_rate(result.sweeps.get("start_rate", ()))
        return {"start_rate": found} if found else {}

    def key_series(self, result: BackendResult) -> tuple[KeySeries, ...]:
        """The sustained start rate, one value per trial."""
        found = sustained_rates(result.sweeps.get("start_rate", ()))
        return (KeySeries("start_rate_sustained", "starts/s", found, higher_is_better=True),) if found else ()

    def merge(self, records: Records) -> dict[str, Any]:
        return {"sweeps": {"start_rate": tuple(sweep for _, sweep in parts(records, "start_rate"))}}


SUITE = StartRateSuite()
