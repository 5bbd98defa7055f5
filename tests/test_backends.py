"""The core backends beyond the contract (tests/test_backend_contract.py): the
subprocess environment and stop, the container's network, label, memory
figures and base image, and memory that tells an isolate from a process."""

import psutil
import pytest

from harness.backends import create_backend
from harness.procedures.instances import MemorySettings, cold_start, memory_sweep
from harness.runtime.worker import load_worker

from .conftest import docker_or_skip, isobench_containers

def _sweep(raw):
    from harness.results.model import MemorySweep

    return MemorySweep.from_json(raw, "sweep")


def _per_instance(raw) -> dict:
    return _sweep(raw).per_instance()


def test_subprocess_stop_kills_the_process():
    backend = create_backend("subprocess")
    instance, _, _ = cold_start(backend, load_worker())
    pid = instance.pid
    assert psutil.pid_exists(pid)
    backend.close()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_subprocess_children_get_a_controlled_environment():
    backend = create_backend("subprocess")
    instance, _, _ = cold_start(backend, load_worker())
    try:
        environ = psutil.Process(instance.pid).environ()
    finally:
        backend.close()
    assert "NODE_EXTRA_CA_CERTS" not in environ
    assert set(environ) <= {"PATH", "LANG"}


@pytest.mark.docker
def test_container_has_no_network_and_the_label():
    client = docker_or_skip()
    backend = create_backend("container")
    try:
        backend.prepare(load_worker())
        instance, _, _ = cold_start(backend, load_worker())
        instance.container.reload()
        config = instance.container.attrs
        assert config["HostConfig"]["NetworkMode"] == "none"
        assert config["Config"]["Labels"]["isobench"] == "1"
        assert instance.runner_info["node"]
    finally:
        backend.close()
    assert not isobench_containers(client, backend.session)


def test_memory_probes_are_sane_and_an_isolate_is_far_below_a_process(no_leftover_processes):
    worker = load_worker()
    isolate, process = create_backend("isolate"), create_backend("subprocess")
    try:
        isolate_sweep = memory_sweep(isolate, worker, MemorySettings((1, 5, 10), 0.0))
        process_sweep = memory_sweep(process, worker, MemorySettings((1, 5, 10), 0.0))
    finally:
        isolate.close()
        process.close()
    mib = 1 << 20
    isolate_per = _per_instance(isolate_sweep)
    process_per = _per_instance(process_sweep)
    isolate_uss, process_uss, process_pss = isolate_per["uss"], process_per["uss"], process_per["pss"]
    assert _sweep(process_sweep).slope()["pss"] > 1 * mib
    # Bounded: a node process costs megabytes, not bytes nor gigabytes.
    assert 1 * mib < process_uss < 200 * mib
    assert 1 * mib < process_pss < 200 * mib
    assert 0 < isolate_per["v8_heap_physical"] < 64 * mib
    assert isolate_uss < 50 * mib
    assert isolate_uss < process_uss / 2
    # Every figure says what it counts.
    assert set(process_sweep["scopes"]) >= {"uss", "pss", "rss"}
    assert set(isolate_sweep["scopes"]) >= {"uss", "pss", "v8_heap_physical"}


@pytest.mark.docker
def test_container_memory_figures_are_labelled_and_bounded():
    client = docker_or_skip()
    backend = create_backend("container")
    try:
        worker = load_worker()
        backend.prepare(worker)
        sweep = memory_sweep(backend, worker, MemorySettings((1, 2), 0.2))
    finally:
        backend.close()
    assert not isobench_containers(client, backend.session)
    per = _per_instance(sweep)
    assert set(per) == {"cgroup", "shim_pss", "uss", "pss", "rss", "docker_stats"}
    mib = 1 << 20
    assert 1 * mib < per["cgroup"] < 500 * mib
    assert 0 < per["shim_pss"] < 200 * mib
    assert "cgroup v" in sweep["scopes"]["cgroup"]


@pytest.mark.docker
def test_container_base_image_option_builds_from_a_given_image():
    """--base-image: the runner is added to an existing image. No registry is
    reachable here, so the base is the locally built scratch image."""
    client = docker_or_skip()
    worker = load_worker()
    scratch = create_backend("container")
    try:
        scratch.prepare(worker)
        base = scratch.image
    finally:
        scratch.close()
    from harness.backends import BackendOptions

    based = create_backend("container", BackendOptions(base_image=base))
    try:
        based.prepare(worker)
        assert based.image != base and "node-runner" in based.image
        instance, _, answer = cold_start(based, worker)
        instance.stop()
        assert answer == "Hello World!"
        assert based.versions()["base_image"] == base
    finally:
        based.close()
        try:
            client.images.remove(based.image, force=True)
        except Exception:
            pass
    assert not isobench_containers(client, based.session)
