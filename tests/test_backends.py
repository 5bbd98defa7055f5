"""Each backend really starts, answers, and cleans up after itself."""

import psutil
import pytest

from harness.backends import create_backend
from harness.backends.base import BackendError, PhaseClock, WorkerLoadError
from harness.measure.procedures import cold_start, engine_samples, memory_sweep
from harness.runtime.worker import load_worker

from .conftest import docker_or_skip, isobench_containers

BACKENDS = ["isolate", "subprocess", pytest.param("container", marks=pytest.mark.docker)]
PHASES = {
    "isolate": ["create_isolate", "load_worker", "first_call"],
    "subprocess": ["spawn", "runtime_ready", "load_worker", "first_call"],
    "container": ["create", "attach", "start", "runtime_ready", "load_worker", "first_call"],
}


@pytest.fixture
def backend(request, no_leftover_processes):
    name = request.param
    if name == "container":
        client = docker_or_skip()
    made = create_backend(name)
    assert made.availability().available, made.availability().reason
    made.prepare(load_worker())
    yield made
    made.close()
    assert not made.live
    if name == "container":
        assert not isobench_containers(client, made.session), "containers left behind"


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_answers_hello_world_with_phases(backend):
    instance, phases, answer = cold_start(backend, load_worker())
    try:
        assert answer == "Hello World!"
        assert instance.call("isobench") == "Hello isobench!"
        instance.ping()
        assert list(phases) == PHASES[backend.name]
        assert all(value >= 0 for value in phases.values())
    finally:
        instance.stop()


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_engine_time_is_measured_in_the_engine(backend):
    instance, _, _ = cold_start(backend, load_worker())
    try:
        samples, last = engine_samples(instance, repeats=2, min_ms=2.0)
    finally:
        instance.stop()
    assert len(samples) == 2 and all(s > 0 for s in samples)
    assert last["clock"] in ("performance.now", "Date.now")
    assert last["last"] == "Hello World!"
    assert last["calls"] >= 1


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_any_worker_with_the_contract_runs(backend, tmp_path):
    path = tmp_path / "shout.js"
    path.write_text("const shout = (n) => sayHello(n).toUpperCase();\nexport { shout as handler };\n")
    instance, _, answer = cold_start(backend, load_worker(path))
    instance.stop()
    assert answer == "HELLO WORLD!"


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_syntax_error_is_a_worker_load_error(backend, tmp_path):
    path = tmp_path / "broken.js"
    path.write_text("export function handler(n) { return sayHello(n) +; }\n")
    with pytest.raises(WorkerLoadError, match="SyntaxError"):
        backend.start(load_worker(path), PhaseClock())
    assert not backend.live


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_handler_exception_is_reported(backend, tmp_path):
    path = tmp_path / "throws.js"
    path.write_text("export function handler(n) { throw new Error('boom ' + n); }\n")
    instance = backend.start(load_worker(path), PhaseClock())
    try:
        with pytest.raises(BackendError, match="boom World"):
            instance.call("World")
    finally:
        instance.stop()


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
        isolate_sweep = memory_sweep(isolate, worker, (1, 5, 10), settle_s=0.0)
        process_sweep = memory_sweep(process, worker, (1, 5, 10), settle_s=0.0)
    finally:
        isolate.close()
        process.close()
    mib = 1 << 20
    isolate_uss = isolate_sweep["per_instance_bytes"]["uss"]
    process_uss = process_sweep["per_instance_bytes"]["uss"]
    assert process_sweep["slope"]["pss"]["bytes_per_instance"] > 1 * mib
    process_pss = process_sweep["per_instance_bytes"]["pss"]
    # Bounded: a node process costs megabytes, not bytes nor gigabytes.
    assert 1 * mib < process_uss < 200 * mib
    assert 1 * mib < process_pss < 200 * mib
    assert 0 < isolate_sweep["per_instance_bytes"]["v8_heap_physical"] < 64 * mib
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
        sweep = memory_sweep(backend, worker, (1, 2), settle_s=0.2)
    finally:
        backend.close()
    assert not isobench_containers(client, backend.session)
    per = sweep["per_instance_bytes"]
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
