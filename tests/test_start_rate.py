"""The sustained start rate: Poisson arrivals, the bound set by the sweep's
own lone starts, a level that fails it ends the sweep, failures are counted
by cause, every instance is stopped, and the figures over trials."""

import random
import time
from dataclasses import replace

import pytest

from harness.analysis.start_rate import summarize_start_rate, sustained, sustained_rates
from harness.procedures.start_rate import Floor, StartRateSettings, arrival_offsets, start_rate_sweep
from harness.results.at_scale import StartRateLevel, StartRateSweep
from harness.results.schema import ResultsError

from .fakes import FakeBackend, FakeWorker


def slow_start():
    time.sleep(0.005)


def test_arrivals_are_a_poisson_process_at_the_rate():
    offsets = arrival_offsets(100.0, 4000, random.Random(7))
    assert offsets == sorted(offsets)
    assert 35 < offsets[-1] < 45  # 4,000 arrivals at 100/s take about 40 s


def test_a_backend_served_one_at_a_time_passes_a_low_rate_and_fails_a_high_one():
    backend = FakeBackend(on_start=slow_start, concurrency_modes=("shared",))
    settings = StartRateSettings(rates=(20.0, 20000.0, 40000.0), arrivals=10, lone_starts=3, bound_factor=5.0)
    sweep = start_rate_sweep(backend, FakeWorker(), settings, random.Random(1))
    assert sweep.served == "one at a time" and sweep.in_flight == 1
    assert [level.rate for level in sweep.levels] == [20.0, 20000.0]  # the failing level is kept, then it stops
    low, high = sweep.levels
    assert low.sent == low.answered == 10 and not low.shortfall(sweep.bound_s)
    assert "past the bound" in high.shortfall(sweep.bound_s)
    assert sweep.stopped_because == high.shortfall(sweep.bound_s)
    assert len(backend.started) == 3 + 20 and not backend.live  # every instance stopped
    assert sustained(sweep) == (20.0, False)


def test_starts_that_overlap_keep_up_with_a_rate_one_server_cannot():
    backend = FakeBackend(on_start=slow_start)
    settings = StartRateSettings(rates=(400.0,), arrivals=20, lone_starts=3, bound_factor=5.0, in_flight=16)
    sweep = start_rate_sweep(backend, FakeWorker(), settings, random.Random(2))
    assert sweep.served == "at once" and sweep.in_flight == 16
    assert sweep.levels[0].answered == 20 and not backend.live
    assert sustained(sweep) == (400.0, True)  # the ladder's last rate passed: a lower bound
    assert sweep.stopped_because.startswith("every rate")


def test_a_start_that_fails_is_counted_with_its_cause_and_ends_the_sweep():
    backend = FakeBackend(fail_at=6)  # the 3 lone starts and 2 more succeed
    settings = StartRateSettings(rates=(50.0, 100.0), arrivals=5, lone_starts=3, bound_factor=5.0)
    sweep = start_rate_sweep(backend, FakeWorker(), settings, random.Random(3))
    level, = sweep.levels
    assert level.answered == 2 and level.failed == 3
    assert [(f.cause, f.count) for f in level.failures] == [("engine error", 3)]
    assert "3 of 5 starts failed" in sweep.stopped_because
    assert not backend.live and sustained(sweep) == (0.0, False)


def sweep_of(trial, lone, levels, rates=(10.0, 20.0)):
    return StartRateSweep(trial=trial, instance_class="process", served="at once", in_flight=4, rates=rates,
                          lone_starts_s=lone, bound_factor=2.0, levels=levels, cores=2)


def level(rate, latencies):
    return StartRateLevel(rate=rate, sent=len(latencies), latencies_s=tuple(latencies))


def test_the_sweep_round_trips_through_json_and_rejects_a_bad_bound():
    sweep = sweep_of(0, (0.1, 0.1, 0.2), (level(10.0, [0.1, 0.15]),))
    assert StartRateSweep.from_json(sweep.to_json(), "start_rate") == sweep
    broken = {**sweep.to_json(), "bound_factor": 1.0}
    with pytest.raises(ResultsError, match="bound factor above 1"):
        StartRateSweep.from_json(broken, "start_rate")
    with pytest.raises(ValueError, match="lone starts"):
        sweep_of(0, (), ())


def test_the_summary_gives_each_trials_sustained_rate():
    passing = sweep_of(0, (0.1,) * 3, (level(10.0, [0.1] * 5), level(20.0, [0.15] * 5)))
    failing = sweep_of(1, (0.1,) * 3, (level(10.0, [0.12] * 5), level(20.0, [0.5] * 5)))
    summary = summarize_start_rate([passing, failing])
    assert summary.sustained_rps == (20.0, 10.0) and summary.at_least
    assert summary.sustained_median_rps == 15.0 and summary.per_core_rps == 7.5
    assert summary.trial_range_rps == (10.0, 20.0)
    assert summary.bound_ms == pytest.approx(200.0)
    assert summary.rate(20.0).passed == 1 and summary.rate(20.0).trials == 2
    assert sustained_rates([passing, failing]).values == (20.0, 10.0)
    assert summarize_start_rate([]) is None


def test_the_sustained_rate_is_a_key_figure_that_is_higher_is_better():
    from dataclasses import replace

    from harness.exporters import bencher, github_action_benchmark
    from harness.findings.key_figures import KeyFigure, key_figures
    from harness.results.model import FrozenMap

    from .synthetic import synthetic_run

    run = synthetic_run(1, backends=("isolate", "subprocess"))
    sweeps = (sweep_of(0, (0.1,) * 3, (level(10.0, [0.1] * 5), level(20.0, [0.5] * 5))),
              sweep_of(1, (0.1,) * 3, (level(10.0, [0.1] * 5), level(20.0, [0.15] * 5))))
    subprocess = replace(run.backends["subprocess"], sweeps=FrozenMap({"start_rate": sweeps}))
    run = replace(run, backends=FrozenMap({**run.backends, "subprocess": subprocess}))
    found = next(f for f in key_figures(run) if f.name == "start_rate_sustained/subprocess")
    assert (found.value, found.unit, found.trials, found.higher_is_better) == (15.0, "starts/s", 2, True)
    assert KeyFigure.from_json(found.to_json()) == found
    assert "throughput" in bencher.export(run)["isobench/start_rate_sustained/subprocess"]
    assert not any("start_rate" in entry["name"] for entry in github_action_benchmark.export(run))


def test_a_level_past_the_bound_by_no_more_than_the_floor_passes_on_the_floor():
    past = StartRateLevel(rate=10.0, sent=3, latencies_s=(0.1, 0.1, 0.25), floor_p99_s=0.06)
    assert not past.shortfall(0.2) and past.on_the_floor(0.2)
    beyond = replace(past, floor_p99_s=0.04)
    assert "plus the harness's own p99 of 40 ms" in beyond.shortfall(0.2) and not beyond.on_the_floor(0.2)
    within = replace(past, latencies_s=(0.1,) * 3)
    assert not within.shortfall(0.2) and not within.on_the_floor(0.2)
    assert StartRateLevel.from_json(past.to_json(), "level") == past


class CountingFloor(Floor):
    def __init__(self, p99_s):
        super().__init__(StartRateSettings(rates=()), random.Random(0))
        self.asked, self._p99_s = [], p99_s

    def p99_s(self, rate, at_once):
        self.asked.append((rate, at_once))
        return self._p99_s


def test_the_floor_is_asked_only_for_a_level_past_the_bound_and_judges_it():
    backend = FakeBackend(on_start=slow_start, concurrency_modes=("shared",))
    settings = StartRateSettings(rates=(20.0, 20000.0), arrivals=10, lone_starts=3, bound_factor=5.0)
    generous = CountingFloor(10.0)  # a harness tail of 10 s covers anything
    sweep = start_rate_sweep(backend, FakeWorker(), settings, random.Random(1), floor=generous)
    assert generous.asked == [(20000.0, False)]  # 20/s passed on its own; 20,000/s needed the floor
    low, high = sweep.levels
    assert low.floor_p99_s is None and high.floor_p99_s == 10.0 and high.on_the_floor(sweep.bound_s)
    assert sustained(sweep) == (20000.0, True)
    summary = summarize_start_rate([sweep])
    assert summary.rate(20000.0).on_the_floor == 1 and summary.rate(20.0).on_the_floor == 0
    assert not backend.live


def test_the_floor_is_null_starts_through_the_same_path_measured_once_per_rate_and_mode():
    floor = Floor(StartRateSettings(rates=(), arrivals=20, in_flight=4), random.Random(5))
    first = floor.p99_s(200.0, True)
    assert 0 < first < 1.0 and floor.p99_s(200.0, True) == first  # cached: the same figure
    assert floor.p99_s(200.0, False) > 0  # one at a time: its own figure


def test_compare_prints_the_sustained_rate_beside_the_baselines_without_gating_it():
    from dataclasses import replace

    from harness.commands.compare import to_markdown
    from harness.findings.compare import NOT_GATED, compare
    from harness.results.model import FrozenMap

    from .synthetic import synthetic_run

    def with_rates(seed, slow_rate):
        run = synthetic_run(seed, backends=("isolate", "subprocess"))
        sweeps = tuple(sweep_of(t, (0.1,) * 3, (level(10.0, [0.1] * 5), level(20.0, [slow_rate] * 5)))
                       for t in (0, 1))
        subprocess = replace(run.backends["subprocess"], sweeps=FrozenMap({"start_rate": sweeps}))
        return replace(run, backends=FrozenMap({**run.backends, "subprocess": subprocess}))

    comparison = compare(with_rates(1, 0.15), with_rates(2, 0.5))  # 20/s sustained, then 10/s
    row, = [r for r in comparison.rows if r.kind == "at scale"]
    assert (row.backend, row.metric, row.unit) == ("subprocess", "start_rate_sustained", "starts/s")
    assert (row.old_median, row.new_median, row.ratio) == (20.0, 10.0, 0.5)
    assert row.verdict == NOT_GATED and not row.gated and "higher is better" in row.note
    assert "start_rate_sustained" in to_markdown(comparison)
    assert comparison.regressions == 0  # a halved rate is printed, never gated
