"""The `workerd` backend really runs Cloudflare's workerd on the same bundle,
answers over HTTP, enforces its limits with typed errors, measures the
in-process density, and leaves no process, cgroup or temp dir behind."""

import os
import socket
from pathlib import Path

import psutil
import pytest

from harness.backends import BackendOptions, create_backend, memory_cgroup
from harness.backends.base import (
    BackendError,
    CallTimeout,
    InstanceCrashed,
    Limits,
    MemoryLimitExceeded,
)
from harness.backends.workerd import CGROUP_PREFIX, INSTALL_COMMAND, WorkerdBackend, config_text
from harness.procedures.instances import MemorySettings, cold_start, engine_time, memory_sweep
from harness.results.model import MemorySweep
from harness.runtime.worker import load_worker

HOSTILE = """
export function handler(name) {
  if (name === "loop") { for (;;) {} }
  if (name === "grow") { const kept = []; for (;;) kept.push("x".repeat(1000) + Math.random()); }
  return sayHello(name);
}
"""


def workerd_processes():
    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            if process.name() == "workerd" and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            continue
    return found


@pytest.fixture(autouse=True)
def no_leftovers():
    """No workerd child process and no workerd memory cgroup outlives a test."""
    yield
    processes = workerd_processes()
    for process in processes:
        process.kill()
    assert not processes, f"workerd processes left behind: {[p.pid for p in processes]}"
    assert not memory_cgroup.leftovers(CGROUP_PREFIX), "memory cgroups left behind"


def available_or_skip(backend):
    """Skip when workerd is not installed; with ISOBENCH_REQUIRE_WORKERD=1 (CI) fail."""
    availability = backend.availability()
    if not availability.available:
        backend.close()
        if os.environ.get("ISOBENCH_REQUIRE_WORKERD") == "1" or os.environ.get("ISOBENCH_REQUIRE_ALL") == "1":
            pytest.fail(f"workerd is required here: {availability.reason}")
        pytest.skip(f"workerd unavailable: {availability.reason}")


def make(limits=None):
    backend = create_backend("workerd", BackendOptions(limits=limits or Limits()))
    available_or_skip(backend)
    backend.prepare(load_worker())
    return backend


@pytest.fixture
def workerd():
    backend = make()
    yield backend
    directory = backend.directory
    backend.close()
    assert not backend.live
    assert directory is None or not directory.exists(), "temp dir left behind"


def hostile_worker(tmp_path):
    path = tmp_path / "hostile.js"
    path.write_text(HOSTILE)
    return load_worker(path)


def test_answers_hello_world_and_stop_ends_the_process(workerd):
    instance, phases, answer = cold_start(workerd, load_worker())
    pid = instance.pid
    try:
        assert answer == "Hello World!"
        assert instance.call("a b/c?&=é") == "Hello a b/c?&=é!"  # the argument survives the URL
        instance.ping()
        assert list(phases) == ["spawn", "listening", "first_call"]
        assert engine_time(instance, 2.0)["clock"] == "performance.now"
        assert psutil.Process(pid).name() == "workerd"
    finally:
        instance.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    with pytest.raises(BackendError):
        instance.call("World")


def test_a_keep_alive_connection_closed_while_idle_is_reopened_once(workerd):
    instance, _, _ = cold_start(workerd, load_worker())
    try:
        instance.connection.sock.shutdown(socket.SHUT_RD)  # the client sees what a server close looks like
        assert instance.call("World") == "Hello World!"
        instance.server.process.kill()
        instance.server.process.wait()
        instance.connection.sock.shutdown(socket.SHUT_RD)
        with pytest.raises(InstanceCrashed):  # closed with workerd gone: a crash, not a retry
            instance.call("World")
    finally:
        instance.stop()


def test_call_timeout_kills_the_process(tmp_path):
    backend = make(Limits(call_timeout_s=0.5))
    try:
        instance, _, answer = cold_start(backend, hostile_worker(tmp_path))
        pid = instance.pid
        assert answer == "Hello World!"
        with pytest.raises(CallTimeout):
            instance.call("loop")
        assert instance not in backend.live
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    finally:
        backend.close()


def test_memory_limit_is_a_typed_error(tmp_path):
    problem = memory_cgroup.problem()
    if problem:
        pytest.skip(f"no memory cgroup here ({problem}); RLIMIT_DATA cannot hold workerd under 600 MiB")
    backend = make(Limits(call_timeout_s=120, memory_bytes=128 << 20))
    try:
        assert "cgroup" in backend.facts()["limits"]["memory"]
        instance, _, answer = cold_start(backend, hostile_worker(tmp_path))
        assert answer == "Hello World!"
        with pytest.raises(MemoryLimitExceeded, match="memory cgroup"):
            instance.call("grow")
        assert instance not in backend.live
    finally:
        backend.close()


def test_memory_includes_workers_in_one_process(workerd):
    result = memory_sweep(workerd, load_worker(), MemorySettings((1, 2, 4), 0.0))
    per_n = {step["n"]: step["total_bytes"] for step in result["steps"]}
    assert {"uss", "pss", "rss", "in_process_anon", "in_process_rss"} <= set(per_n[4])
    # More workers in the one process take more of its memory...
    assert per_n[4]["in_process_anon"] > per_n[2]["in_process_anon"] > per_n[1]["in_process_anon"]
    # ...and a slope (one more worker in the same process) is reported.
    assert MemorySweep.from_json(result, "sweep").slope()["in_process_anon"] > 0
    assert not workerd.live


def test_config_has_one_service_and_socket_per_worker():
    text = config_text(3)
    for index in range(3):
        assert f'(name = "w{index}", worker = .worker)' in text
        assert f'(name = "s{index}", address = "127.0.0.1:0", http = (), service = "w{index}")' in text
    assert text.count("127.0.0.1:0") == 3


def test_missing_install_says_what_to_run():
    backend = WorkerdBackend(binary=Path("/nonexistent/workerd"))
    availability = backend.availability()
    assert not availability.available
    assert INSTALL_COMMAND in availability.reason


def test_new_backends_are_in_all_but_not_in_the_default_run():
    from harness.backends import DEFAULT_BACKENDS, parse_backend_names

    every = parse_backend_names("all")
    assert {"workerd", "isolate-stpyv8", "isolate-context"} <= set(every)
    assert not {"workerd", "isolate-stpyv8", "isolate-context"} & set(DEFAULT_BACKENDS)
