"""Open-loop load on warm instances: for each backend that can serve calls
on several instances at once (per-caller), a pool of warm instances (one,
and one per core) gets Poisson arrivals at each offered rate of the
profile, rising until one level past saturation; every request is timed
from its intended arrival (harness/procedures/load.py). The floor, the same
generator and queue with a null call, is measured in the same trial at the
same rates and pools, in a random place among the backends, and kept in
every backend's sweep. Figures: harness/analysis/load.py. A capacity sweep:
it runs in `load_trials` trials, spread over the first ones. This suite
replaces nothing: the closed-loop concurrency suite stays, and measures
service time with K callers that wait for each other."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from typing import Any

from harness.analysis.load import saturation_rates, summarize_load
from harness.procedures.instances import ARG, cold_start
from harness.procedures.load import LoadSettings as SweepSettings, sweep_rates
from harness.results.at_scale import LoadSweep
from harness.results.model import BackendResult
from harness.results.vocabulary import PER_CALLER
from harness.suites.base import CapacitySweep, KeySeries, Records, parts

FLOOR = "(floor)"  # the null call's place in a trial's random order


@dataclass(frozen=True)
class LoadSettings:
    load_trials: int = 1  # trials that run it, spread over the first ones
    load_in_process_rates: tuple[float, ...] = (250.0, 1000.0)  # offered requests per second
    load_rates: tuple[float, ...] = (250.0, 1000.0)  # processes and containers
    load_window_s: float = 0.2  # Poisson arrivals per level
    load_drain_s: float = 1.0  # after the window, how long queued requests may still be served
    load_warmup_calls: int = 20  # per instance, before the levels

    def rates_for(self, instance_class: str) -> tuple[float, ...]:
        return self.load_in_process_rates if instance_class == "in-process" else self.load_rates


def pools() -> tuple[int, ...]:
    """One instance, and one per core."""
    return tuple(sorted({1, os.cpu_count() or 1}))


class LoadSuite(CapacitySweep):
    name = "load"
    label = "open-loop load"
    records = {"load": LoadSweep}
    trials_setting = "load_trials"
    report = "at_scale"  # harness/report/at_scale.py
    Settings = LoadSettings

    def measure(self, trial) -> None:
        names = [n for n in trial.members(self.name) if PER_CALLER in trial.backends[n].concurrency_modes]
        if not names:
            return
        profile = self.settings(trial.profile)
        rng = random.Random(trial.rng.random())
        sizes = pools()
        rates = {name: profile.rates_for(trial.backends[name].instance_class) for name in names}
        every_rate = tuple(sorted({rate for found in rates.values() for rate in found}))
        floor = []
        sweeps = {}
        for name in trial.order([*names, FLOOR]):
            chosen = every_rate if name == FLOOR else rates[name]
            settings = SweepSettings(rates=chosen, pools=sizes, window_s=profile.load_window_s,
                                     drain_s=profile.load_drain_s, warmup_calls=profile.load_warmup_calls)
            label = f"load {name} ({', '.join(f'{r:g}' for r in chosen)} req/s; pools {', '.join(map(str, sizes))})"
            with trial.progress.steps(label, len(chosen) * len(sizes)) as advance:
                if name == FLOOR:
                    floor, _ = sweep_rates(lambda pool: [lambda: None] * pool, settings, rng, advance)
                    continue
                try:
                    sweeps[name] = self._sweep(trial, name, settings, rng, advance)
                except Exception as error:
                    trial.fail(self.name, name, error)
        for name, (levels, because, took) in sweeps.items():
            own = [lv for lv in floor if lv.offered_rps in rates[name]]
            trial.record(name).put("load", LoadSweep(
                trial=trial.spec.index, instance_class=trial.backends[name].instance_class, rates=rates[name],
                pools=sizes, levels=tuple(levels), floor=tuple(own), cores=os.cpu_count() or 1,
                stopped_because=because, duration_s=took))

    @staticmethod
    def _sweep(trial, name, settings, rng, advance):
        backend = trial.backends[name]
        began = time.monotonic()
        instances = []
        try:
            for _ in range(max(settings.pools)):
                instance, _, _ = cold_start(backend, trial.worker, ARG)
                instances.append(instance)
                for _ in range(settings.warmup_calls):
                    instance.call(ARG)
            calls = [lambda instance=instance: instance.call(ARG) for instance in instances]
            levels, because = sweep_rates(lambda pool: calls[:pool], settings, rng, advance)
        finally:
            for instance in instances:
                instance.stop()
        return levels, because, time.monotonic() - began

    def summary(self, result: BackendResult) -> dict[str, Any]:
        """Latency against offered load per pool, the floor beside it (harness/analysis/load.py)."""
        found = summarize_load(result.sweeps.get("load", ()))
        return {"load": found} if found else {}

    def key_series(self, result: BackendResult) -> tuple[KeySeries, ...]:
        """One warm instance's saturation throughput per trial, where it is above the harness's own limit."""
        found = saturation_rates(result.sweeps.get("load", ()), pool=1)
        return (KeySeries("load_saturation_pool1", "req/s", found, higher_is_better=True),) if found else ()

    def merge(self, records: Records) -> dict[str, Any]:
        return {"sweeps": {"load": tuple(sweep for _, sweep in parts(records, "load"))}}


SUITE = LoadSuite()
