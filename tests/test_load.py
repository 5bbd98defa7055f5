"""Open-loop load: Poisson arrivals, latency from the intended arrival (a
stall is paid by every request that arrived during it), saturation, the
floor rule, and the record's JSON."""

import json
import random
import threading
import time

import pytest

from harness.analysis.load import FLOOR_MARGIN, Percentile, RatePoint, summarize_load
from harness.procedures.load import LoadSettings, poisson_arrivals, run_level, sweep_rates
from harness.results.at_scale import LoadLevel, LoadSweep
from harness.results.histogram import count_at_or_above, decode_sum, encode


def test_arrivals_are_poisson_at_the_offered_rate():
    offsets = poisson_arrivals(2000.0, 5.0, random.Random(1))
    assert len(offsets) == pytest.approx(10_000, rel=0.05)
    assert all(0 <= a < b < 5.0 for a, b in zip(offsets, offsets[1:]))
    gaps = [b - a for a, b in zip(offsets, offsets[1:])]
    assert sum(gaps) / len(gaps) == pytest.approx(1 / 2000, rel=0.05)
    assert sorted(gaps)[len(gaps) // 2] == pytest.approx(0.693 / 2000, rel=0.1)  # exponential: median ln 2 / rate


def test_a_stall_is_paid_by_every_request_that_arrived_during_it():
    """One 200 ms stall at 200 req/s: about 40 requests arrive during it, and each waits. A closed-loop caller
    would have recorded one slow call; the open loop records the wait of every request behind it."""
    stalled = threading.Event()

    def call():
        if not stalled.is_set():
            stalled.set()
            time.sleep(0.2)

    level = run_level([call], 200.0, LoadSettings(rates=(200.0,), pools=(1,), window_s=1.0, drain_s=2.0),
                      random.Random(7))
    assert level.completed == level.sent and not level.unserved
    assert level.histogram
    latencies = decode_sum([level.histogram])
    slow = count_at_or_above(latencies, 50_000_000)  # requests slower than 50 ms
    assert slow >= 10  # not one slow call, but every request queued behind the stall
    assert latencies.get_max_value() >= 0.15e9


def test_a_pool_that_cannot_keep_up_is_saturated_and_the_sweep_stops_one_level_past_it():
    settings = LoadSettings(rates=(50.0, 400.0, 1600.0, 6400.0), pools=(1,), window_s=0.3, drain_s=0.3)
    levels, because = sweep_rates(lambda pool: [lambda: time.sleep(0.005)] * pool, settings, random.Random(3))
    assert [lv.offered_rps for lv in levels] == [50.0, 400.0, 1600.0]  # 200 req/s at most: 400 saturates
    assert not levels[0].saturated and levels[1].saturated and levels[2].saturated
    assert "saturated from 400 req/s" in because
    assert levels[1].achieved_rps < 0.9 * 400


def test_errors_are_counted_and_end_the_pool():
    def call():
        raise RuntimeError("the instance went away")

    levels, because = sweep_rates(lambda pool: [call] * pool, LoadSettings(rates=(100.0, 200.0), pools=(1,),
                                                                          window_s=0.1), random.Random(1))
    assert len(levels) == 1 and levels[0].errors == levels[0].sent > 0
    assert "RuntimeError: the instance went away" in because


def point(mine_us, floor_us):
    return RatePoint(1000.0, 1, 1, 100, 990.0, False, {"p99": Percentile(mine_us, 1)}, {"p99": Percentile(floor_us, 1)})


def test_a_percentile_near_the_floor_is_not_the_backends_own():
    assert point(100.0, 100.0).own("p99") is None
    assert point(100.0 * FLOOR_MARGIN, 100.0).own("p99") is None
    assert point(500.0, 100.0).own("p99").us == 500.0
    assert point(500.0, 100.0).over_floor("p99") == pytest.approx(5.0)


def test_summary_over_trials_and_json_round_trip():
    def level(rate, values, achieved):
        return LoadLevel(rate, 1, 1.0, len(values), len(values), encode(values), achieved_rps=achieved)

    sweeps = [LoadSweep(trial=t, instance_class="process", rates=(100.0, 400.0), pools=(1,),
                        levels=(level(100.0, [0.001] * 100, 99.0), level(400.0, [0.5] * 50, 50.0)),
                        floor=(level(100.0, [0.0001] * 100, 100.0), level(400.0, [0.0001] * 400, 400.0)),
                        cores=2, stopped_because="pool of 1: saturated from 400 req/s") for t in range(2)]
    summary = summarize_load(sweeps)
    pool = summary.pool(1)
    assert [p.offered_rps for p in pool.points] == [100.0, 400.0]
    first, second = pool.points
    assert first.trials == 2 and first.requests == 200 and not first.saturated and second.saturated
    assert first.percentiles["p50"].us == pytest.approx(1000.0, rel=0.01)
    assert first.floor["p50"].us == pytest.approx(100.0, rel=0.01)
    assert pool.saturation_rps == 99.0 and pool.per_core_rps == 49.5
    for sweep in sweeps:
        assert LoadSweep.from_json(json.loads(json.dumps(sweep.to_json())), "x") == sweep


def test_the_saturation_key_figure_leaves_out_a_trial_at_the_floors_limit():
    from harness.analysis.load import saturation_rates

    def level(rate, achieved):
        return LoadLevel(rate, 1, 1.0, 10, 10, encode([0.001] * 10), achieved_rps=achieved)

    def sweep(trial, own, floor):
        return LoadSweep(trial=trial, instance_class="process", rates=(100.0, 400.0), pools=(1,),
                         levels=(level(100.0, 99.0), level(400.0, own)), floor=(level(400.0, floor),), cores=2)

    found = saturation_rates([sweep(0, 200.0, 400.0), sweep(1, 380.0, 400.0), sweep(2, 250.0, 390.0)])
    assert found.values == (200.0, 250.0) and found.trials == (0, 2)  # trial 1 reached 95% of the floor's rate
    assert saturation_rates([sweep(0, 380.0, 400.0)]) is None
