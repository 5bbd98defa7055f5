"""Every core backend enforces Limits with its own mechanism: a call that
breaks one gets the typed error, never a hang; the instance is stopped; the
next instance on the same backend works; nothing is left behind.

The isolate's engine-fatal crash would take pytest down with it: it is tested
through the containment probe (tests/test_containment.py)."""

import time

import psutil
import pytest

from harness.backends import BackendOptions, create_backend
from harness.backends.base import (
    BackendError,
    CallTimeout,
    InstanceCrashed,
    LimitExceeded,
    Limits,
    MemoryLimitExceeded,
    PhaseClock,
)
from harness.containment import workload_path
from harness.procedures.instances import cold_start
from harness.runtime.worker import load_worker

from .conftest import available_or_skip, docker_or_skip, isobench_containers

MIB = 1 << 20
LIMITS = Limits(call_timeout_s=1.0, memory_bytes=128 * MIB, max_pids=64, cpus=1.0)
RUNNERS = ["subprocess", pytest.param("container", marks=pytest.mark.docker)]
ALL = ["isolate", *RUNNERS]


@pytest.fixture
def limited(request, no_leftover_processes):
    client = docker_or_skip() if request.param == "container" else None
    backend = create_backend(request.param, BackendOptions(limits=LIMITS))
    assert backend.availability().available, backend.availability().reason
    backend.prepare(load_worker())
    yield backend
    backend.close()
    assert not backend.live
    if client is not None:
        assert not isobench_containers(client, backend.session), "containers left behind"


def hostile(name):
    return load_worker(workload_path(name))


def call_fails(backend, worker, error_type):
    instance = backend.start(worker, PhaseClock())
    started = time.monotonic()
    with pytest.raises(error_type) as caught:
        instance.call("World")
    elapsed = time.monotonic() - started
    assert instance not in backend.live, "the instance must be stopped with the error"
    assert isinstance(caught.value, BackendError)
    return caught.value, elapsed, instance


def next_instance_answers(backend):
    instance, _, answer = cold_start(backend, load_worker())
    instance.stop()
    assert answer == "Hello World!"


@pytest.mark.parametrize("limited", ALL, indirect=True)
def test_spin_gets_call_timeout_and_the_next_instance_works(limited):
    error, elapsed, _ = call_fails(limited, hostile("spin"), CallTimeout)
    assert elapsed >= LIMITS.call_timeout_s
    assert elapsed < LIMITS.call_timeout_s + 30  # stopped, not hung
    assert "1 s" in str(error)
    next_instance_answers(limited)


@pytest.mark.parametrize("limited", RUNNERS, indirect=True)
def test_heap_bomb_breaks_the_memory_limit(limited):
    error, _, _ = call_fails(limited, hostile("heap-bomb"), MemoryLimitExceeded)
    assert str(LIMITS.memory_bytes) in str(error)
    next_instance_answers(limited)


def test_isolate_hard_limit_stops_a_js_heap_bomb(tmp_path):
    """py_mini_racer's hard limit counts the V8 heap: plain JS objects hit it."""
    path = tmp_path / "objects.js"
    path.write_text("export function handler() { const k = []; for (;;) k.push(new Array(1e5).fill({})); }\n")
    backend = create_backend("isolate", BackendOptions(limits=Limits(call_timeout_s=30.0, memory_bytes=64 * MIB)))
    try:
        error, _, _ = call_fails(backend, load_worker(path), MemoryLimitExceeded)
        assert "hard limit" in str(error)
        next_instance_answers(backend)
    finally:
        backend.close()


@pytest.mark.parametrize("limited", RUNNERS, indirect=True)
def test_crash_is_instance_crashed_and_the_harness_lives(limited):
    error, elapsed, _ = call_fails(limited, hostile("crash"), InstanceCrashed)
    assert not isinstance(error, LimitExceeded)
    assert elapsed < LIMITS.call_timeout_s  # detected from the death, not the deadline
    next_instance_answers(limited)


def test_subprocess_memory_limit_is_rlimit_data_set_after_spawn(no_leftover_processes):
    backend = create_backend("subprocess", BackendOptions(limits=LIMITS))
    try:
        instance, _, _ = cold_start(backend, load_worker())
        soft, hard = psutil.Process(instance.pid).rlimit(psutil.RLIMIT_DATA)
        assert soft == hard == LIMITS.memory_bytes
        assert "RLIMIT_DATA" in backend.facts()["limits"]["memory"]
    finally:
        backend.close()


@pytest.mark.parametrize("name", ["subprocess-deno", "subprocess-bun"])
def test_deno_and_bun_memory_limit_is_a_cgroup_per_instance(name, no_leftover_processes):
    """Neither starts under an RLIMIT_DATA of 128 MiB, so the limit is a memory cgroup, removed with the instance."""
    from harness.backends import memory_cgroup

    if memory_cgroup.problem():
        pytest.skip(f"no memory cgroup here: {memory_cgroup.problem()}")
    backend = create_backend(name, BackendOptions(limits=LIMITS))
    available_or_skip(backend)
    try:
        backend.prepare(load_worker())
        instance, _, _ = cold_start(backend, load_worker())
        cgroup = instance.cgroup.path
        assert str(instance.pid) in (cgroup / "cgroup.procs").read_text().split()
        assert int((cgroup / "memory.limit_in_bytes").read_text()) == LIMITS.memory_bytes
        assert "memory cgroup" in backend.facts()["limits"]["memory"]
        instance.stop()
        assert not cgroup.exists()
    finally:
        backend.close()


def test_default_limits_leave_processes_unlimited(no_leftover_processes):
    backend = create_backend("subprocess")
    try:
        instance, _, _ = cold_start(backend, load_worker())
        assert psutil.Process(instance.pid).rlimit(psutil.RLIMIT_DATA)[0] == psutil.RLIM_INFINITY
    finally:
        backend.close()


@pytest.mark.docker
def test_container_gets_memory_pids_and_cpu_caps():
    client = docker_or_skip()
    backend = create_backend("container", BackendOptions(limits=LIMITS))
    try:
        instance, _, _ = cold_start(backend, load_worker())
        instance.container.reload()
        host = instance.container.attrs["HostConfig"]
        assert host["Memory"] == LIMITS.memory_bytes == host["MemorySwap"]
        assert host["PidsLimit"] == LIMITS.max_pids
        assert host["NanoCpus"] == int(LIMITS.cpus * 1e9)
        assert host["NetworkMode"] == "none"
    finally:
        backend.close()
    assert not isobench_containers(client, backend.session)


def test_cpu_time_limit_is_enforced_as_wall_time(no_leftover_processes):
    for name in ("isolate", "subprocess"):
        backend = create_backend(name, BackendOptions(limits=Limits(call_timeout_s=30.0, cpu_time_s=0.5)))
        try:
            instance = backend.start(hostile("spin"), PhaseClock())
            started = time.monotonic()
            with pytest.raises(CallTimeout):
                instance.call("World")
            assert 0.5 <= time.monotonic() - started < 10
        finally:
            backend.close()


def test_isolate_timeout_keeps_other_isolates_working():
    backend = create_backend("isolate", BackendOptions(limits=LIMITS))
    try:
        bystander, _, _ = cold_start(backend, load_worker())
        call_fails(backend, hostile("spin"), CallTimeout)
        assert bystander.call("again") == "Hello again!"
    finally:
        backend.close()
