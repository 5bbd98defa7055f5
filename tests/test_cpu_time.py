"""CPU time of a cold start: the probes see a process's, a tree's, a reaped
child's and a daemon's CPU; every out-of-process backend reports a cold
start's CPU time, and its instance probe sees the instance's own work.

Behaviour only, never speed: the figures asserted are CPU a child was made to
burn (about 0.3 s), against generous bounds."""

import os
import shutil
import subprocess
import sys
import uuid

import pytest

from harness.backends import BackendOptions, backend_class, create_backend
from harness.backends import cpu_probes
from harness.backends.base import Backend, Limits
from harness.procedures.instances import timed_cold_start
from harness.runtime.worker import load_worker

from .conftest import docker_or_skip

BURN_S = 0.3
# Burns BURN_S of CPU, says so on stdout, then waits for stdin to close.
BURNER = (
    "import sys, time\n"
    f"end = time.process_time() + {BURN_S}\n"
    "while time.process_time() < end: pass\n"
    "print('burnt', flush=True)\n"
    "sys.stdin.read()\n"
)
DOCKER = ("container", "container-crun", "container-gvisor")
OCI = ("oci-runc", "oci-crun")
OUT_OF_PROCESS = ("subprocess", "subprocess-prefork", "workerd", *DOCKER, *OCI)
IN_PROCESS = ("isolate", "isolate-stpyv8", "isolate-context", "wasm")


def spawn(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> None:
    for stream in (process.stdin, process.stdout):
        if stream is not None and not stream.closed:
            try:
                stream.close()
            except OSError:
                pass
    if process.poll() is None:
        process.kill()
    process.wait()


@pytest.fixture
def burner():
    process = spawn(BURNER)
    try:
        assert process.stdout.readline().strip() == "burnt"
        yield process
    finally:
        finish(process)


@pytest.fixture
def sleeper():
    process = subprocess.Popen(["sleep", "60"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


# -- the probes -----------------------------------------------------------------


def test_a_burning_process_is_seen_by_the_process_and_tree_probes(burner):
    assert cpu_probes.process_cpu_seconds(burner.pid) >= 0.2
    assert cpu_probes.process_tree_cpu_seconds(burner.pid) >= 0.2
    assert cpu_probes.process_tree_cpu_seconds(burner.pid, reaped=True) >= 0.2


def test_every_fallback_sees_the_burning_process(burner, monkeypatch):
    clock = cpu_probes.clock_cpu_seconds(burner.pid)
    assert clock is not None and clock >= 0.2
    assert cpu_probes.threads_cpu_seconds(burner.pid) >= 0.2  # schedstat
    assert cpu_probes.stat_cpu_seconds(burner.pid) >= 0.2  # clock ticks
    monkeypatch.setattr(cpu_probes, "clock_cpu_seconds", lambda pid: None)
    assert cpu_probes.process_cpu_seconds(burner.pid) >= 0.2
    monkeypatch.setattr(cpu_probes, "SCHEDSTAT_AVAILABLE", False)
    assert cpu_probes.process_cpu_seconds(burner.pid) >= 0.2


def test_the_clock_read_ahead_matches_the_probe(burner):
    clock = cpu_probes.ProcessCpuClock(burner.pid)
    assert clock.seconds() == pytest.approx(cpu_probes.process_cpu_seconds(burner.pid), abs=0.01)


def test_a_sleeping_process_is_seen_as_idle(sleeper):
    assert cpu_probes.process_cpu_seconds(sleeper.pid) < 0.05
    assert cpu_probes.process_tree_cpu_seconds(sleeper.pid, reaped=True) < 0.05


def test_a_vanished_pid_counts_zero():
    process = subprocess.Popen(["true"])
    process.wait()
    pid = process.pid
    assert cpu_probes.process_cpu_seconds(pid) == 0
    assert cpu_probes.threads_cpu_seconds(pid) == 0
    assert cpu_probes.stat_cpu_seconds(pid) == 0
    assert cpu_probes.reaped_children_cpu_seconds(pid) == 0
    assert cpu_probes.process_tree_cpu_seconds(pid, reaped=True) == 0
    assert cpu_probes.ProcessCpuClock(pid).seconds() == 0
    assert cpu_probes.cpu_cgroup(pid) is None
    assert cpu_probes.container_cpu(pid, pid) is None
    assert cpu_probes.process_tree_cpu_seconds_since(pid, cpu_probes.ProcessCpuReading(0.0, 0.0)) == 0


def test_a_tree_counts_its_descendants_and_reaped_children():
    # A parent that starts a burner and keeps it alive, then one that waits for it.
    live = spawn("import subprocess, sys\n"
                 f"child = subprocess.Popen([sys.executable, '-c', {BURNER!r}], stdin=subprocess.PIPE, "
                 "stdout=subprocess.PIPE, text=True)\n"
                 "print(child.stdout.readline().strip(), flush=True)\nsys.stdin.read()\n")
    reaped = spawn("import subprocess, sys\n"
                   f"subprocess.run([sys.executable, '-c', {BURNER!r}], input='', capture_output=True)\n"
                   "print('burnt', flush=True)\nsys.stdin.read()\n")
    try:
        assert live.stdout.readline().strip() == "burnt"
        assert reaped.stdout.readline().strip() == "burnt"
        assert cpu_probes.process_tree_cpu_seconds(live.pid) >= cpu_probes.process_cpu_seconds(live.pid) + 0.2
        assert cpu_probes.reaped_children_cpu_seconds(reaped.pid) >= 0.2
        assert cpu_probes.process_tree_cpu_seconds(reaped.pid) < 0.2  # the child is gone from the tree
        assert cpu_probes.process_tree_cpu_seconds(reaped.pid, reaped=True) >= 0.2
    finally:
        finish(live)
        finish(reaped)


def test_growth_since_a_reading_leaves_out_what_came_before(burner):
    before = cpu_probes.read_process_cpu(burner.pid)
    assert before.own_s >= 0.2
    assert cpu_probes.process_tree_cpu_seconds_since(burner.pid, before) < 0.05  # it only waits now


def test_the_cgroup_probe_reads_a_usage_figure():
    measured = cpu_probes.cgroup_cpu_of_pid(os.getpid())
    assert measured.seconds > 0
    assert "cpuacct.usage" in measured.source or "cpu.stat" in measured.source


def test_daemons_are_found_by_name(tmp_path):
    name = f"isob{uuid.uuid4().hex[:8]}"  # a comm of its own (at most 15 characters)
    binary = tmp_path / name
    shutil.copy(shutil.which("sleep"), binary)
    process = subprocess.Popen([str(binary), "60"])
    try:
        daemons = cpu_probes.DaemonCpu((name,))
        assert cpu_probes.find_processes((name,)) == [process.pid]
        seconds = daemons.seconds()
        assert seconds is not None and 0 <= seconds < 0.05
    finally:
        process.kill()
        process.wait()
    assert daemons.seconds() is None  # gone, and found again by name: none left
    assert cpu_probes.DaemonCpu(("no-such-daemon",)).seconds() is None


# -- the backends -----------------------------------------------------------------


def test_every_out_of_process_backend_says_what_it_counts():
    for name in OUT_OF_PROCESS:
        scope = backend_class(name).cpu_scope
        assert scope != Backend.cpu_scope and scope.startswith("the harness process"), name
    for name in IN_PROCESS:
        assert backend_class(name).cpu_scope == Backend.cpu_scope, name


def backend_or_skip(name):
    if name in DOCKER:
        docker_or_skip()
    backend = create_backend(name, BackendOptions(run_id=f"cpu{uuid.uuid4().hex[:10]}", limits=Limits()))
    availability = backend.availability()
    if not availability.available:
        backend.close()
        pytest.skip(f"{name} unavailable: {availability.reason}")
    return backend


def container_parts(name, instance):
    """The container's ContainerCpu (cgroup, outside, reaped), or None for a process backend."""
    if name in DOCKER:
        pid = instance.host_pid()
        return cpu_probes.container_cpu(pid, cpu_probes.keeper_of(pid, "shim"))
    if name in OCI:
        return cpu_probes.container_cpu(instance.pid, instance.runtime_pid)
    return None


@pytest.mark.parametrize("name", OUT_OF_PROCESS)
def test_a_cold_start_has_a_cpu_time_and_the_probe_sees_the_instance_work(name, no_leftover_processes):
    backend = backend_or_skip(name)
    instance = None
    try:
        worker = load_worker()
        backend.prepare(worker)
        instance, sample = timed_cold_start(backend, worker)
        assert sample.answer == "Hello World!"
        assert sample.cpu_s is not None and sample.cpu_s > 0
        before = instance.cpu_seconds()
        parts_before = container_parts(name, instance)
        assert before is not None and before > 0
        instance.engine_time("World", 300)  # keeps the instance's JS busy for 300 ms or more
        after = instance.cpu_seconds()
        assert after - before >= 0.1
        parts_after = container_parts(name, instance)
        if parts_after is not None:
            # The instance's work is in its cgroup, and only there: not again
            # in the shim or runtime process outside it.
            assert parts_after.cgroup_s - parts_before.cgroup_s >= 0.1
            outside = parts_after.outside_s + parts_after.reaped_s - parts_before.outside_s - parts_before.reaped_s
            assert outside < 0.1
    finally:
        if instance is not None:
            instance.stop()
        backend.close()


def test_a_prefork_cold_start_leaves_out_the_pooled_start_up(no_leftover_processes):
    backend = backend_or_skip("subprocess-prefork")
    instance = None
    try:
        worker = load_worker()
        backend.prepare(worker)
        pooled = backend.pool[0]
        start_up = cpu_probes.process_cpu_seconds(pooled.pid)
        instance, sample = timed_cold_start(backend, worker)
        assert instance is pooled
        assert 0 < instance.cpu_seconds() < start_up  # node's start-up (tens of ms) happened before the take
        assert cpu_probes.process_cpu_seconds(instance.pid) > start_up
    finally:
        if instance is not None:
            instance.stop()
        backend.close()


def test_an_in_process_backend_counts_the_harness_only():
    backend = create_backend("isolate")
    availability = backend.availability()
    if not availability.available:
        backend.close()
        pytest.skip(f"isolate unavailable: {availability.reason}")
    instance = None
    try:
        worker = load_worker()
        backend.prepare(worker)
        instance, sample = timed_cold_start(backend, worker)
        assert instance.cpu_seconds() is None
        assert backend.shared_cpu_seconds() is None
        assert sample.cpu_s is not None and sample.cpu_s > 0
    finally:
        if instance is not None:
            instance.stop()
        backend.close()
