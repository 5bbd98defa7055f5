"""Concurrency: throughput and p99 from synthetic latencies, the summary's
shape, and K callers on a fake backend (each its own instance, or sharing one;
errors surface; no caller thread or instance is left behind)."""

import threading

import pytest

from harness.analysis.concurrency import level_figures, queueing_note, summarize_concurrency, throughput_rps
from harness.runtime.worker import AnswerRule
from harness.procedures.concurrency import ConcurrencySettings, ModeSweep, primary_mode, run_level
from harness.results.model import Concurrency, ConcurrencyMode
from harness.results.vocabulary import PER_CALLER, SHARED

from .fakes import FakeBackend, FakeInstance, FakeWorker


def test_throughput_is_calls_over_the_window():
    assert throughput_rps(500, 0.25) == 2000
    assert throughput_rps(0, 1.0) is None
    assert throughput_rps(10, 0.0) is None


def test_p99_and_median_from_synthetic_latencies():
    latencies_ns = [100_000] * 990 + [5_000_000] * 10  # 1% of calls wait 5 ms
    figures = level_figures(latencies_ns, window_s=0.5).to_json()
    assert figures["calls"] == 1000
    assert figures["throughput_rps"] == 2000
    assert figures["median_us"] == pytest.approx(100)
    assert 100 < figures["p99_us"] <= 5000
    assert figures["max_us"] == pytest.approx(5000)
    assert level_figures([], 1.0).throughput_rps is None


def test_primary_mode_prefers_per_caller():
    assert primary_mode([SHARED, PER_CALLER]) == PER_CALLER
    assert primary_mode([SHARED]) == SHARED
    assert primary_mode([]) is None


def test_queueing_note_names_the_levels_past_the_cores():
    assert "8, 32 callers" in queueing_note([1, 2, 8, 32], cores=2)
    assert "queueing" in queueing_note([1, 2, 8, 32], cores=2)
    assert "queueing" not in queueing_note([1, 2], cores=2)


def test_summary_has_the_primary_levels_on_top_and_the_other_mode_apart():
    level = {"callers": 2, "latencies_ns": [1000, 3000], "calls_per_caller": [1, 1], "window_s": 0.001}
    mode = lambda name, error: ConcurrencyMode.from_json(  # noqa: E731
        {"mode": name, "levels": [level], "question": "q", "cores": 2, "note": "n", "error": error}, "test")
    record = Concurrency(trial=0, primary_mode=PER_CALLER,
                         modes={PER_CALLER: mode(PER_CALLER, None), SHARED: mode(SHARED, "boom")})
    entry = summarize_concurrency(record).to_json()
    assert entry["mode"] == PER_CALLER and entry["cores"] == 2
    assert entry["2"]["throughput_rps"] == pytest.approx(2000)
    assert entry["2"]["p99_us"] == pytest.approx(2.98)
    assert entry[SHARED]["2"]["calls"] == 2 and entry[SHARED]["error"] == "boom"
    assert summarize_concurrency(Concurrency(trial=0, primary_mode=PER_CALLER, modes={})) is None


def caller_threads():
    return [t for t in threading.enumerate() if t.name.startswith("isobench-caller")]


def test_callers_with_their_own_instances_overlap():
    instances = [FakeInstance(delay_s=0.002) for _ in range(4)]
    level = run_level(instances, "Hello World!", ConcurrencySettings(0.1, 2, 10_000))
    assert level["error"] is None
    assert level["callers"] == 4 and all(calls > 0 for calls in level["calls_per_caller"])
    assert len(level["latencies_ns"]) == sum(level["calls_per_caller"])
    assert min(level["latencies_ns"]) >= 2_000_000
    # four callers sleeping 2 ms each: more than one call per 2 ms overall
    assert len(level["latencies_ns"]) / level["window_s"] > 1.5 / 0.002
    assert caller_threads() == []


def test_a_shared_instance_sees_overlapping_calls_and_the_cap_holds():
    shared = FakeInstance(delay_s=0.002)
    level = run_level([shared] * 3, "Hello World!", ConcurrencySettings(5.0, 0, 60))
    assert level["error"] is None
    assert sum(level["calls_per_caller"]) == 60  # the cap ends the level before the window does
    assert shared.most_in_call > 1


def test_a_wrong_answer_is_an_error():
    level = run_level([FakeInstance(0.0)], "something else", ConcurrencySettings(0.05, 0, 100))
    assert "differs from the first answer 'something else'" in level["error"]
    assert caller_threads() == []


def test_a_fresh_answer_each_call_passes_unless_the_worker_is_declared_deterministic():
    fresh = AnswerRule()
    assert fresh.problem("id-2", "id-1") is None
    assert "non-empty" in fresh.problem("", "id-1")
    assert "declared deterministic" in AnswerRule(deterministic=True).problem("id-2", "id-1")
    pattern = AnswerRule(pattern=r"id-\d+")
    assert pattern.problem("id-7", "id-1") is None
    assert "answer_pattern" in pattern.problem("no id", "id-1")
    level = run_level([FakeInstance(0.0)], "something else", ConcurrencySettings(0.05, 0, 100), answers=fresh)
    assert level["error"] is None


def sweep(backend, levels, mode, duration_s=0.05, warmup_calls=1, max_calls=1000):
    """One mode over its levels, as harness/suites/concurrency.py runs it."""
    found = ModeSweep(backend, FakeWorker(), mode, ConcurrencySettings(duration_s, warmup_calls, max_calls))
    try:
        for k in levels:
            found.level(k)
    finally:
        found.close()
    return found.result()


def test_sweep_per_caller_and_shared_stop_every_instance():
    backend = FakeBackend(delay_s=0.001)
    result = sweep(backend, (1, 2, 4), PER_CALLER)
    assert [level["callers"] for level in result["levels"]] == [1, 2, 4]
    assert len(backend.started) == 4 and backend.live == set()
    assert result["error"] is None and result["answer"] == "Hello World!"
    assert result["cores"] >= 1 and result["note"]

    shared = FakeBackend(delay_s=0.001)
    result = sweep(shared, (1, 4), SHARED)
    assert len(shared.started) == 1 and shared.live == set()
    assert result["question"].startswith("K callers at once, all routed to one")


def test_sweep_stops_at_a_failing_level():
    backend = FakeBackend()

    class Failing(FakeInstance):
        def call(self, arg):
            if self.calls_made >= 3:
                raise RuntimeError("instance died")
            self.calls_made += 1
            return "Hello World!"

    def start(worker, clock):
        instance = Failing(0.0)
        instance.calls_made = 0
        instance.track(backend.live)
        backend.started.append(instance)
        return instance

    backend.start = start
    result = sweep(backend, (1, 2), PER_CALLER, duration_s=0.5, warmup_calls=0)
    assert len(result["levels"]) == 1
    assert "RuntimeError: instance died" in result["error"]
    assert backend.live == set()
