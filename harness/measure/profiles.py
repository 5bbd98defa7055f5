"""How much each profile measures. A run is trials; each trial is a fresh
worker process measuring every backend, interleaved. A profile names its
suites, its stopping settings (harness/measure/stopping.py), its CPU regimes,
and, per suite, only the settings that differ from that suite's defaults
(Suite.Settings, declared once in the suite's module under harness/suites/)."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Mapping

from harness.results.model import FrozenMap, Profile, Stopping
from harness.suites import SUITES


def profile(name: str, description: str, *, suites: tuple[str, ...] | None = None, stopping: Stopping = Stopping(),
            regimes: tuple[str, ...] = ("idle", "awake"), **changed: Mapping[str, object]) -> Profile:
    """A profile: `suites` (default: every suite), and for each suite by name what differs from its defaults."""
    unknown = sorted(set(changed) - set(SUITES)) or sorted(set(suites or ()) - set(SUITES))
    if unknown:
        raise ValueError(f"profile {name}: unknown suite {unknown[0]!r}")
    settings: dict[str, object] = {}
    for suite in SUITES.values():
        try:
            settings.update(asdict(replace(suite.Settings(), **changed.get(suite.name, {}))))
        except TypeError as error:
            raise ValueError(f"profile {name}, suite {suite.name}: {error}") from None
    return Profile(name=name, description=description, suites=tuple(SUITES) if suites is None else suites,
                   stopping=stopping, regimes=regimes, settings=FrozenMap(settings))


PROFILES = {
    # A few samples of everything, in two trials: for the test suite, not for figures.
    "smoke": profile(
        "smoke", "test suite only: a few samples of everything, two trials",
        stopping=Stopping(min_trials=2, max_trials=2, budget_s=300.0),
        cold_start=dict(cold_rounds=3, cold_warmups=1), first_instance=dict(first_instance_rounds=1),
        warm_call=dict(warm_blocks=2, warm_block_calls=10, warm_warmup_calls=5, engine_repeats=1, engine_min_ms=2.0),
        memory=dict(memory_counts=(1, 2), in_process_memory_counts=(1, 3), memory_settle_s=0.0),
    ),
    # What the CI gate checks, and only that: cold start and memory, in trials
    # (sized by the power study, docs/power-study.md: memory moves little
    # between trials, so three of them measure it).
    "ci": profile(
        "ci", "the CI gate: cold start and memory only",
        suites=("cold_start", "memory"), stopping=Stopping(min_trials=6, max_trials=6, budget_s=600.0),
        regimes=("idle",),  # the regime its baseline set and the A/B base were measured in
        cold_start=dict(cold_rounds=20, cold_warmups=1),
        memory=dict(memory_counts=(1, 5), in_process_memory_counts=(1, 10, 50), memory_settle_s=0.2, memory_trials=3),
    ),
    # A first look at everything, in about three minutes. Six trials, so that a
    # timing's interval can reach 95% (docs/methodology.md#statistics); each
    # round and block runs in both CPU regimes.
    "quick": profile(
        "quick", "a first look: every suite, six trials, both CPU regimes, about three minutes",
        stopping=Stopping(min_trials=6, max_trials=6, budget_s=180.0),
        cold_start=dict(cold_rounds=8, cold_warmups=2), first_instance=dict(first_instance_rounds=3),
        warm_call=dict(warm_blocks=6, warm_block_calls=100, warm_warmup_calls=200, engine_repeats=3,
                       engine_min_ms=20.0),
        memory=dict(memory_counts=(1, 10, 20), in_process_memory_counts=(1, 10, 50, 200), memory_settle_s=0.3,
                    memory_trials=3),
        density=dict(density_in_process_counts=(1, 10, 100), density_process_counts=(1, 10),
                     density_container_counts=(1, 4), density_budget_s=10.0, density_settle_s=0.2),
        concurrency=dict(concurrency_levels=(1, 2, 8, 32), concurrency_container_levels=(1, 2, 8),
                         concurrency_duration_s=0.3, concurrency_warmup_calls=20, concurrency_max_calls=5000),
        storm=dict(storm_counts=(1, 4, 16, 64)),
        load=dict(load_in_process_rates=(1000, 4000, 16000, 64000), load_rates=(250, 1000, 4000, 16000),
                  load_window_s=0.5),
        start_rate=dict(start_rate_in_process=(50, 200, 800), start_rate_process=(5, 20, 80),
                        start_rate_container=(2, 4, 8), start_rate_arrivals=12),
    ),
    # Every workload (`run --workload all`): cold start, warm calls and memory
    # per workload, so the bundle-size sweep fits beside the full run in
    # `tox -e bench`. Adaptive: two trials of every backend, then a third only
    # for the backends whose cold start or warm call is not yet known within
    # 5% (with the reference, to keep the ratios paired).
    "workloads": profile(
        "workloads", "per workload: cold start, warm calls and memory, two or three trials (adaptive)",
        suites=("cold_start", "warm_call", "memory"),
        stopping=Stopping(min_trials=2, max_trials=3, budget_s=600.0, target_half_width=0.05),
        regimes=("idle",),  # nine workloads x every backend: the regimes are compared on hello (full, quick)
        cold_start=dict(cold_rounds=5, cold_warmups=1),
        warm_call=dict(warm_blocks=4, warm_block_calls=10, warm_warmup_calls=10, engine_repeats=1, engine_min_ms=10.0),
        memory=dict(memory_counts=(1, 3), in_process_memory_counts=(1, 5), memory_settle_s=0.2, memory_trials=2),
    ),
    # The reference figures: every suite to scale, within twenty minutes for every backend.
    "full": profile(
        "full", "the reference figures: more trials and samples, density to scale",
        stopping=Stopping(min_trials=6, max_trials=6, budget_s=1200.0),  # six trials: intervals that can reach 95%
        cold_start=dict(cold_rounds=8, cold_warmups=2),  # per CPU regime: 16 kept starts per trial
        first_instance=dict(first_instance_rounds=4),
        warm_call=dict(warm_blocks=10, warm_block_calls=100, warm_warmup_calls=500, engine_repeats=5,
                       engine_min_ms=50.0),
        # memory repeats within 1% between trials; the time goes to cold starts
        memory=dict(memory_counts=(1, 10, 25), in_process_memory_counts=(1, 10, 50, 200, 500), memory_settle_s=0.5,
                    memory_trials=3),
        density=dict(density_in_process_counts=(1, 10, 100, 500, 1000, 2000, 5000, 10000),
                     density_process_counts=(1, 10, 50, 100, 200, 350, 500),
                     density_container_counts=(1, 5, 10, 25, 50, 75, 100), density_budget_s=20.0,
                     density_settle_s=0.5),
        concurrency=dict(concurrency_levels=(1, 2, 8, 32), concurrency_duration_s=1.0, concurrency_warmup_calls=200,
                         concurrency_max_calls=50000),
        # two trials, so every burst has its figures from two independent runs of it
        storm=dict(storm_counts=(1, 4, 16, 64, 256, 1024), storm_trials=2),
        load=dict(load_in_process_rates=(1000, 4000, 16000, 64000), load_rates=(250, 1000, 4000, 16000),
                  load_window_s=0.5, load_trials=2),
        start_rate=dict(start_rate_in_process=(25, 50, 100, 200, 400, 800, 1600),
                        start_rate_process=(5, 10, 20, 40, 80), start_rate_container=(2, 4, 8, 16),
                        start_rate_arrivals=20, start_rate_lone_starts=5, start_rate_trials=2),
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}") from None
