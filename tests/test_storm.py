"""Cold-start storms: why a start failed, which bound stops a sweep, a burst
on a fake backend (every instance stopped, failures counted by cause), the
figures over trials, the record's JSON, and a real storm that hits the file
descriptor limit and leaves nothing running."""

import errno
import json
import os
import subprocess
import sys
import textwrap
import threading

import psutil
import pytest

from harness.analysis.storm import summarize_storm
from harness.backends.base import BackendError, CallTimeout, MemoryLimitExceeded
from harness.paths import REPO_ROOT
from harness.procedures.storm import Burst, Hooks, StormSettings, failure_cause, next_bound, storm_sweep
from harness.results.at_scale import StormFailure, StormLevel, StormSweep
from harness.results.schema import ResultsError

from .fakes import MIB, FakeBackend, FakeWorker


@pytest.mark.parametrize("error, cause", [
    (OSError(errno.EMFILE, "Too many open files"), "fd limit"),
    (BackendError("spawn failed: [Errno 24] Too many open files"), "fd limit"),
    (BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable"), "pid limit"),
    (RuntimeError("can't start new thread"), "pid limit"),
    (MemoryError(), "memory"),
    (MemoryLimitExceeded("over 64 MiB"), "memory"),
    (OSError(errno.ENOMEM, "Cannot allocate memory"), "memory"),
    (CallTimeout("ran past the 30 s call limit"), "timeout"),
    (BackendError("dockerd said 500"), "engine error"),
    (ValueError("something else"), "other"),
])
def test_a_failed_start_is_given_its_cause(error, cause):
    assert failure_cause(error) == cause


def test_the_cause_is_found_through_a_chained_error():
    try:
        try:
            raise OSError(errno.EMFILE, "Too many open files")
        except OSError as inner:
            raise BackendError("the runner did not start") from inner
    except BackendError as outer:
        assert failure_cause(outer) == "fd limit"


def settings(**kw):
    base = dict(ladder=(1, 4, 16), cap=64, memory_budget_bytes=64 * MIB, timeout_s=10.0, budget_s=60.0)
    return StormSettings(**{**base, **kw})


def test_the_cap_and_the_memory_budget_bound_the_next_burst():
    assert next_bound(16, settings(), MIB) is None
    assert next_bound(128, settings(), None)[0] == "cap"
    bound, because = next_bound(128, settings(cap=1024), MIB)
    assert bound == "memory" and "N = 128" in because and "budget is 0.1 GiB" in because


def test_a_burst_starts_every_instance_at_once_and_stops_them_all():
    backend = FakeBackend(delay_s=0.0)
    level = Burst(backend, FakeWorker(), 16, True, 10.0, Hooks(available=lambda: 1e9)).run()
    assert level.n == 16 and level.answered == 16 and level.all_answered
    assert level.last_answer_s == max(level.latencies_s) > 0
    assert len(backend.started) == 16 and not backend.live  # every instance was stopped


def test_starts_on_one_thread_are_served_in_turn_on_the_callers_thread():
    threads = set()
    backend = FakeBackend(concurrency_modes=(), on_start=lambda: threads.add(threading.get_ident()))
    level = Burst(backend, FakeWorker(), 4, False, 10.0, Hooks(available=lambda: 1e9)).run()
    assert level.answered == 4 and threads == {threading.get_ident()}
    assert list(level.latencies_s) == sorted(level.latencies_s)  # each queued behind the one before
    assert not backend.live


def test_a_sweep_stops_at_the_first_burst_with_failures_and_counts_them_by_cause():
    backend = FakeBackend(fail_at=10)  # the 10th start and every one after it fail
    sweep = storm_sweep(backend, FakeWorker(), settings(), trial=3, hooks=Hooks(available=lambda: 1e9))
    assert [level.n for level in sweep.levels] == [1, 4, 16]
    assert sweep.bound == "failures" and "N = 16" in sweep.stopped_because
    last = sweep.levels[-1]
    assert last.answered == 4 and last.failed == 12  # 1 + 4 + 4 = 9 started before the limit
    assert last.failures == (StormFailure("engine error", 12, "BackendError: no more room"),)
    assert not last.all_answered and not backend.live


def test_a_sweep_that_reaches_the_cap_says_so():
    sweep = storm_sweep(FakeBackend(), FakeWorker(), settings(ladder=(1, 4, 16, 64, 256), cap=64),
                        hooks=Hooks(available=lambda: 1e9))
    assert [level.n for level in sweep.levels] == [1, 4, 16, 64]
    assert sweep.bound == "cap" and "N = 256" in sweep.stopped_because


def test_the_memory_budget_uses_the_memory_each_instance_took_in_the_last_burst():
    free = [8 * 64 * MIB]

    def available():
        return float(free[0])

    backend = FakeBackend(on_start=lambda: free.__setitem__(0, free[0] - 8 * MIB))  # each start takes 8 MiB
    sweep = storm_sweep(backend, FakeWorker(), settings(ladder=(1, 4, 16), memory_budget_bytes=100 * MIB),
                        hooks=Hooks(available=available))
    assert [level.n for level in sweep.levels] == [1, 4]
    assert sweep.bound == "memory" and sweep.bytes_per_instance == pytest.approx(8 * MIB)
    assert "MemAvailable drop" in sweep.bytes_source


def test_a_start_past_the_time_limit_is_a_timeout_and_is_stopped_when_it_ends():
    backend = FakeBackend(on_start=lambda: threading.Event().wait(0.5))
    level = Burst(backend, FakeWorker(), 3, True, 0.1, Hooks(available=lambda: 1e9)).run()
    assert level.answered == 0 and level.failures == (StormFailure("timeout", 3, "no answer within 0.1 s"),)
    assert not backend.live  # the late instances were stopped as they arrived


def test_figures_over_trials_and_the_json_round_trip():
    sweeps = [StormSweep(trial=t, instance_class="process", served="at once", ladder=(1, 4), cap=64,
                         levels=(StormLevel(1, (0.01 * (t + 1),), (), 0.01 * (t + 1)),
                                 StormLevel(4, (0.02, 0.03, 0.04, 0.05), (), 0.05)),
                         bound="ladder", stopped_because="ladder complete") for t in range(3)]
    summary = summarize_storm(sweeps)
    four = summary.burst(4)
    assert four.trials == 3 and four.requested == 12 and four.answered == 12
    assert four.last_answer_ms.value == pytest.approx(50.0) and four.instances_per_s == pytest.approx(80.0)
    assert summary.burst(1).last_answer_ms.ci95 is not None  # three trials: an interval over them
    assert summary.largest_clean.n == 4
    for sweep in sweeps:
        assert StormSweep.from_json(json.loads(json.dumps(sweep.to_json())), "x") == sweep
    with pytest.raises(ResultsError, match="bound"):
        StormSweep.from_json({**sweeps[0].to_json(), "bound": "bored"}, "x")


STORM_UNDER_A_LIMIT = textwrap.dedent("""
    import json, resource, sys
    sys.path.insert(0, sys.argv[1])
    from harness.backends import create_backend
    from harness.procedures.storm import StormSettings, storm_sweep
    from harness.runtime.worker import load_worker
    backend = create_backend("subprocess")
    worker = load_worker()
    backend.prepare(worker)
    resource.setrlimit(resource.RLIMIT_NOFILE, (96, 96))
    sweep = storm_sweep(backend, worker, StormSettings(ladder=(1, 4, 64), cap=256, memory_budget_bytes=1e12,
                                                       timeout_s=60.0))
    backend.close()
    print(json.dumps(sweep.to_json()))
""")


def test_a_storm_that_hits_the_fd_limit_records_why_and_leaves_nothing_running(tmp_path):
    """RLIMIT_NOFILE binds root too (RLIMIT_NPROC does not): 64 node processes need more pipes than 96."""
    if subprocess.run(["node", "--version"], capture_output=True).returncode != 0:
        pytest.skip("node is not installed")
    before = runners()
    done = subprocess.run([sys.executable, "-c", STORM_UNDER_A_LIMIT, str(REPO_ROOT)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    sweep = StormSweep.from_json(json.loads(done.stdout.strip().splitlines()[-1]), "storm")
    assert [level.n for level in sweep.levels] == [1, 4, 64]
    assert sweep.levels[0].all_answered and sweep.levels[1].all_answered
    last = sweep.levels[-1]
    assert sweep.bound == "failures" and last.failed > 0 and last.answered + last.failed == 64
    assert {failure.cause for failure in last.failures} <= {"fd limit"}, last.failures
    assert runners() <= before  # every node process the storm started is gone


def runners() -> set[int]:
    from harness.backends.node_process import NodeProcessBackend

    marks = NodeProcessBackend.runner_marks
    return {p.pid for p in psutil.process_iter(["cmdline"])
            if any(mark in " ".join(p.info["cmdline"] or ()) for mark in marks)}


def test_the_docker_client_keeps_a_connection_pool_for_every_container_of_a_storm():
    from harness.backends.container import CONNECTION_POOLS, docker_client
    from harness.suites.storm import StormSettings

    from .conftest import docker_or_skip

    docker_or_skip().close()
    client = docker_client()
    try:
        pools = client.api._custom_adapter.pools
        assert pools._maxsize == CONNECTION_POOLS >= 8 * StormSettings().storm_container_cap  # was 25
    finally:
        client.close()
