"""The `subprocess-prefork` backend serves starts from a pool of pre-made node
processes, refills it outside start(), enforces its limits, and leaves no
process behind."""

import psutil
import pytest

from harness.backends import BackendOptions, create_backend
from harness.backends.base import CallTimeout, InstanceCrashed, Limits, MemoryLimitExceeded, PhaseClock
from harness.backends.prefork import PreforkBackend
from harness.paths import REPO_ROOT
from harness.procedures.instances import MemorySettings, cold_start, engine_time, memory_sweep
from harness.results.model import MemorySweep
from harness.runtime.worker import load_worker


def available_or_skip(backend):
    availability = backend.availability()
    if not availability.available:
        pytest.skip(f"subprocess-prefork unavailable: {availability.reason}")


@pytest.fixture
def prefork(no_leftover_processes):
    backend = create_backend("subprocess-prefork")
    available_or_skip(backend)
    backend.prepare(load_worker())
    yield backend
    backend.close()
    assert not backend.live and not backend.pool


def write_worker(tmp_path, source, name="w.js"):
    path = tmp_path / name
    path.write_text(source)
    return load_worker(path)


def test_a_start_takes_a_premade_process_and_answers(prefork):
    pooled = {instance.pid for instance in prefork.pool}
    assert len(pooled) == prefork.pool_size
    instance, phases, answer = cold_start(prefork, load_worker())
    try:
        assert answer == "Hello World!"
        assert instance.call("isobench") == "Hello isobench!"
        instance.ping()
        assert instance.pid in pooled
        assert list(phases) == ["take", "load_worker", "first_call"]
        assert engine_time(instance, 2.0)["handler_ns"] > 0
    finally:
        instance.stop()
    # stop() refilled the pool with a new, ready process.
    assert len(prefork.pool) == prefork.pool_size
    assert instance.pid not in {i.pid for i in prefork.pool}
    assert not psutil.pid_exists(instance.pid) or psutil.Process(instance.pid).status() == psutil.STATUS_ZOMBIE
    facts = prefork.facts()
    assert facts["hits"] == 1 and facts["misses"] == 0
    assert facts["refilled_processes"] == prefork.pool_size + 1


def test_an_empty_pool_is_a_counted_miss(no_leftover_processes):
    backend = PreforkBackend(pool_size=1)
    available_or_skip(backend)
    try:
        backend.prepare(load_worker())
        first, first_phases, _ = cold_start(backend, load_worker())
        second, second_phases, answer = cold_start(backend, load_worker())
        assert answer == "Hello World!"
        assert list(first_phases)[0] == "take"
        assert list(second_phases)[:2] == ["spawn", "runtime_ready"]
        assert (backend.hits, backend.misses) == (1, 1)
    finally:
        backend.close()
    assert not backend.pool and not backend.live


def test_the_idle_pool_memory_is_measured_and_labelled(prefork):
    idle = prefork.facts()["idle_pool_memory"]
    assert idle["processes"] == prefork.pool_size
    mib = 1 << 20
    # An idle node process costs megabytes, not bytes nor gigabytes.
    assert 1 * mib < idle["pss_bytes"] / idle["processes"] < 200 * mib
    assert 0 < idle["uss_bytes"] <= idle["pss_bytes"] <= idle["rss_bytes"]
    assert "idle" in idle["scope"]
    sweep = memory_sweep(prefork, load_worker(), MemorySettings((1, 2), 0.0))
    per = MemorySweep.from_json(sweep, "sweep").per_instance()
    assert set(per) == {"uss", "pss", "rss"}
    assert per["pss"] > 1 * mib


def test_close_kills_the_pool_and_the_taken_instances(no_leftover_processes):
    backend = create_backend("subprocess-prefork")
    available_or_skip(backend)
    backend.prepare(load_worker())
    instance, _, _ = cold_start(backend, load_worker())
    pids = [instance.pid, *(i.pid for i in backend.pool)]
    backend.close()
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    # Stopping after close does not refill.
    instance.stop()
    assert not backend.pool


def test_limits_give_typed_errors_and_the_pool_stays_full(tmp_path, no_leftover_processes):
    backend = create_backend("subprocess-prefork", BackendOptions(limits=Limits(call_timeout_s=0.5)))
    available_or_skip(backend)
    try:
        backend.prepare(load_worker())
        spin = write_worker(tmp_path, "export function handler(n) { for (;;) {} }\n")
        instance = backend.start(spin, PhaseClock())
        with pytest.raises(CallTimeout):
            instance.call("World")
        assert instance not in backend.live and instance.process.returncode is not None
        top = write_worker(tmp_path, "for (;;) {}\nexport function handler(n) { return n; }\n", "top.js")
        with pytest.raises(CallTimeout):
            backend.start(top, PhaseClock())
        leave = write_worker(tmp_path, "export function handler(n) { process.exit(3); }\n", "exit.js")
        instance = backend.start(leave, PhaseClock())
        with pytest.raises(InstanceCrashed, match="exited with 3"):
            instance.call("World")
        assert len(backend.pool) == backend.pool_size
    finally:
        backend.close()
    assert not backend.live


def test_a_heap_past_the_memory_limit_is_a_memory_limit_error(tmp_path, no_leftover_processes):
    """node aborts with "heap out of memory" on some runs and with bad_alloc on
    others; either way RLIMIT_DATA stopped it, and the error says so."""
    backend = create_backend("subprocess-prefork", BackendOptions(
        limits=Limits(call_timeout_s=60.0, memory_bytes=64 << 20)))
    available_or_skip(backend)
    try:
        backend.prepare(load_worker())
        hog = write_worker(tmp_path, "export function handler(n) {\n  const keep = [];\n"
                                     "  for (;;) keep.push(new Array(100000).fill(n));\n}\n")
        instance = backend.start(hog, PhaseClock())
        with pytest.raises(MemoryLimitExceeded, match="RLIMIT_DATA 67108864 bytes"):
            instance.call("World")
    finally:
        backend.close()


def test_both_new_backends_are_in_all_but_not_in_the_default_run():
    from harness.backends import DEFAULT_BACKENDS, parse_backend_names

    every = parse_backend_names("all")
    assert "wasm" in every and "subprocess-prefork" in every
    assert DEFAULT_BACKENDS == ("isolate", "subprocess", "container")


def test_typed_arrays_past_the_memory_limit_are_a_memory_limit_error(no_leftover_processes):
    """The hostile heap-bomb keeps 1 MiB typed arrays, outside the V8 heap:
    RLIMIT_DATA on the pooled process stops it."""
    backend = create_backend("subprocess-prefork", BackendOptions(
        limits=Limits(call_timeout_s=60.0, memory_bytes=128 << 20)))
    available_or_skip(backend)
    try:
        backend.prepare(load_worker())
        instance = backend.start(load_worker(REPO_ROOT / "workloads" / "hostile" / "heap-bomb.js"), PhaseClock())
        with pytest.raises(MemoryLimitExceeded):
            instance.call("World")
        assert not instance.alive()
    finally:
        backend.close()
    assert not backend.live
