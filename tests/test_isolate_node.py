"""isolate-node: isolates made by isolated-vm in one node host process. It
answers as the py_mini_racer isolate does, its worker sees no node global, a
broken limit is typed and costs only its own isolate, a crash of the host
costs the host's isolates but never the harness, and close() leaves nothing.
The contract and the workloads are in test_backend_contract.py and
test_workloads.py."""

import json
import shutil

import psutil
import pytest

from harness.backends import BackendOptions, create_backend
from harness.backends.base import CallTimeout, InstanceCrashed, Limits, MemoryLimitExceeded, PhaseClock
from harness.backends.isolate_node import IsolateNodeBackend, pinned_version
from harness.containment import workload_path
from harness.procedures.instances import cold_start
from harness.runtime.worker import load_worker, workload_file

from .conftest import available_or_skip

MIB = 1 << 20
LIMITS = Limits(call_timeout_s=1.0, memory_bytes=64 * MIB)


@pytest.fixture
def backend(no_leftover_processes):
    made = create_backend("isolate-node", BackendOptions(limits=LIMITS))
    available_or_skip(made)
    made.prepare(load_worker())
    yield made
    made.close()
    assert not made.live


def host_pid(backend) -> int:
    assert backend.host is not None and backend.host.alive()
    return backend.host.pid


def isolates_in_host(backend) -> int:
    return backend.host.request({"op": "collect"}, 5.0)["isolates"]


def test_stop_disposes_the_isolate_in_the_host(backend):
    assert isolates_in_host(backend) == 0  # prepare() made one and disposed it
    instance, _, _ = cold_start(backend, load_worker())
    assert isolates_in_host(backend) == 1
    instance.stop()
    instance.stop()
    assert isolates_in_host(backend) == 0


@pytest.mark.parametrize("workload", ["hello", "hello-module", "router"])
def test_answers_as_the_isolate_does(backend, workload):
    worker = load_worker(workload_file(workload))
    reference = create_backend("isolate")
    available_or_skip(reference)
    try:
        expected_instance, _, expected = cold_start(reference, worker, "isobench")
        expected_again = expected_instance.call("again")
    finally:
        reference.close()
    instance, phases, answer = cold_start(backend, worker, "isobench")
    assert (answer, instance.call("again")) == (expected, expected_again)
    assert list(phases) == ["new_isolate", "load_worker", "first_call"]  # the host was made in prepare()


def test_the_worker_sees_no_node_global(backend, tmp_path):
    path = tmp_path / "globals.js"
    names = ["process", "require", "module", "Buffer", "crypto", "setTimeout", "global"]
    path.write_text("export function handler() {\n"
                    f"  return JSON.stringify({json.dumps(names)}.map((name) => typeof globalThis[name]));\n"
                    "}\n")
    instance, _, answer = cold_start(backend, load_worker(path))
    instance.stop()
    assert json.loads(answer) == ["undefined"] * len(names)


@pytest.mark.parametrize("hostile, error_type", [
    ("spin", CallTimeout),
    ("heap-bomb", MemoryLimitExceeded),  # typed arrays: refused by isolated-vm's allocator at memoryLimit
])
def test_a_broken_limit_is_typed_and_stops_only_its_isolate(backend, hostile, error_type):
    bystander, _, _ = cold_start(backend, load_worker())
    pid = host_pid(backend)
    instance = backend.start(load_worker(workload_path(hostile)), PhaseClock())
    with pytest.raises(error_type) as caught:
        instance.call("World")
    assert "isolate disposed" in str(caught.value)
    assert instance not in backend.live and instance.id is None
    assert isolates_in_host(backend) == 1, "only the bystander's isolate is left in the host"
    assert bystander.call("again") == "Hello again!"
    assert host_pid(backend) == pid and backend.hosts_started == 1, "the host must not be restarted"


def test_a_js_heap_bomb_disposes_the_isolate_at_its_memory_limit(backend, tmp_path):
    path = tmp_path / "objects.js"
    path.write_text("export function handler() { const k = []; for (;;) k.push(new Array(1e5).fill({})); }\n")
    instance = backend.start(load_worker(path), PhaseClock())
    with pytest.raises(MemoryLimitExceeded, match=str(LIMITS.memory_bytes)):
        instance.call("World")
    assert instance not in backend.live
    _, _, answer = cold_start(backend, load_worker())
    assert answer == "Hello World!"


def test_a_fatal_crash_ends_the_host_not_the_harness(backend):
    bystander, _, _ = cold_start(backend, load_worker())
    pid = host_pid(backend)
    instance = backend.start(load_worker(workload_path("crash")), PhaseClock())
    with pytest.raises(InstanceCrashed, match="host node process"):
        instance.call("World")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    with pytest.raises(InstanceCrashed):
        bystander.call("again")  # it lived in the same host
    assert not backend.live
    _, phases, answer = cold_start(backend, load_worker())
    assert answer == "Hello World!"
    assert list(phases)[:2] == ["spawn_host", "new_isolate"] and backend.hosts_started == 2


def test_close_leaves_no_process(no_leftover_processes):
    backend = create_backend("isolate-node")
    available_or_skip(backend)
    try:
        cold_start(backend, load_worker())
        pid = host_pid(backend)
    finally:
        backend.close()
    assert not psutil.pid_exists(pid)
    assert backend.host is None and not backend.live


def test_without_the_addon_it_is_unavailable_with_one_line(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"isolated-vm": "5.0.4"}}))
    reason = IsolateNodeBackend(package_dir=tmp_path).availability().reason
    assert "isolated-vm is not installed" in reason and "npm ci" in reason and "\n" not in reason


def test_an_addon_that_does_not_load_makes_it_unavailable(tmp_path):
    """As when the native build failed or was made for another node."""
    pinned = pinned_version()
    addon = tmp_path / "node_modules" / "isolated-vm"
    addon.mkdir(parents=True)
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"isolated-vm": pinned}}))
    (addon / "package.json").write_text(json.dumps({"name": "isolated-vm", "version": pinned}))
    (addon / "index.js").write_text("throw new Error('isolated_vm.node was compiled against a different Node.js');\n")
    if shutil.which("node") is None:
        pytest.skip("no node on PATH")
    availability = IsolateNodeBackend(package_dir=tmp_path).availability()
    assert not availability.available
    assert availability.reason.startswith("the isolated-vm addon does not load")
    assert "compiled against a different Node.js" in availability.reason and "\n" not in availability.reason
