"""container-gvisor, container-crun, oci-runc and oci-crun really start,
answer, obey the limits with typed errors, and leave nothing behind.

Each test skips, saying what is missing, when its runtime is not set up here;
with ISOBENCH_REQUIRE_RUNTIMES=1 (CI, after .ci/run installed and registered
the runtimes) a missing runtime fails instead."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import pytest

from harness.backends import BackendOptions, create_backend
from harness.backends.base import CallTimeout, InstanceCrashed, Limits, MemoryLimitExceeded, PhaseClock, WorkerLoadError
from harness.backends.container_runtimes import CRUN, RUNSC, registration_problem
from harness.backends.oci import BUNDLES_PREFIX, ID_PREFIX, RUNTIMES, OciBackend, OciRuntime, leftover_containers
from harness.backends.oci_cgroup import leftover_cgroups
from harness.paths import REPO_ROOT
from harness.procedures.instances import cold_start
from harness.backends.memory_probes import process_tree_memory
from harness.runtime.worker import load_worker

from .conftest import docker_or_skip, isobench_containers

DOCKER_VARIANTS = ["container-gvisor", "container-crun"]
OCI = ["oci-runc", "oci-crun"]
ALL = DOCKER_VARIANTS + OCI
# oci-runc and oci-crun share one list, so the report can put them side by side.
OCI_PHASES = ["bundle", "run", "runtime_ready", "load_worker", "first_call"]
PHASES = {name: OCI_PHASES for name in OCI}
PHASES.update({name: ["create", "attach", "start", "runtime_ready", "load_worker", "first_call"]
               for name in DOCKER_VARIANTS})
HOSTILE = {
    "spin": "export function handler(name) { for (;;) {} }\n",
    "bomb": "export function handler(name) {\n  const keep = [];\n"
            "  for (;;) keep.push(new Array(1 << 20).fill(name.length));\n}\n",
    "crash": "export function handler(name) { process.abort(); }\n",
}


def backend_or_skip(name, limits=None):
    """A prepared backend of a fresh session, or skip saying what is missing."""
    client = docker_or_skip() if name in DOCKER_VARIANTS else None
    backend = create_backend(name, BackendOptions(run_id=f"t{uuid.uuid4().hex[:10]}", limits=limits or Limits()))
    availability = backend.availability()
    if not availability.available:
        backend.close()
        if os.environ.get("ISOBENCH_REQUIRE_RUNTIMES") == "1" or os.environ.get("ISOBENCH_REQUIRE_ALL") == "1":
            pytest.fail(f"{name} is required here: {availability.reason}")
        pytest.skip(f"{name} unavailable: {availability.reason}")
    backend.prepare(load_worker())
    return backend, client


def leftovers(backend, client):
    """Everything of the backend's session still on the machine."""
    found = []
    if client is not None:
        found += [f"container {c.short_id}" for c in isobench_containers(client, backend.session)]
    prefix = f"{ID_PREFIX}{backend.session}-"
    for runtime in RUNTIMES.values():
        found += [f"{runtime.name} state {cid}" for cid in leftover_containers(runtime, prefix)]
    found += [f"cgroup {path}" for path in leftover_cgroups(prefix)]
    found += [str(path) for path in Path(tempfile.gettempdir()).glob(f"{BUNDLES_PREFIX}{backend.session}-*")]
    for process in psutil.Process().children(recursive=True):
        try:
            if any(prefix in part or "node_runner.js" in part for part in process.cmdline()):
                found.append(f"process {process.pid} {process.name()}")
        except psutil.Error:
            continue
    return found


@pytest.fixture
def worker_file(tmp_path):
    def make(name, source):
        path = tmp_path / f"{name}.js"
        path.write_text(source)
        return load_worker(path)
    return make


@pytest.mark.parametrize("name", ALL)
def test_answers_hello_world_and_leaves_nothing(name):
    backend, client = backend_or_skip(name)
    try:
        first, phases, answer = cold_start(backend, load_worker())
        second, _, _ = cold_start(backend, load_worker())  # two at once: names must not collide
        assert answer == "Hello World!"
        assert second.call("isobench") == "Hello isobench!"
        first.ping()
        assert list(phases) == PHASES[name]
        assert all(value >= 0 for value in phases.values())
        assert first.engine_time("World", 2.0)["handler_ns"] > 0
        figures = {figure.kind: figure for figure in backend.memory([first, second])}
        assert figures["cgroup"].bytes > 1 << 20 and "cgroup v" in figures["cgroup"].scope
        assert ("runtime_pss" if name in OCI else "shim_pss") in figures
        versions = backend.versions()
        assert versions["runtime_version"] and "unknown" not in versions["runtime_version"]
        first.stop()
        second.stop()
    finally:
        backend.close()
    assert not backend.live
    assert not leftovers(backend, client)


def test_gvisor_memory_counts_the_gofer_too():
    """Docker's pid for a gVisor container is runsc-sandbox; runsc-gofer is a
    sibling under the shim, in the same memory cgroup, and is counted too."""
    backend, _ = backend_or_skip("container-gvisor")
    try:
        instance, _, _ = cold_start(backend, load_worker())
        sandbox = backend._pid(instance)
        names = [" ".join(p.cmdline()[:1]) for p in psutil.Process(sandbox).parent().children()]
        assert any("gofer" in name for name in names), names
        assert backend._tree_memory(sandbox).uss > process_tree_memory(sandbox).uss
        instance.stop()
    finally:
        backend.close()


@pytest.mark.parametrize("name", ALL)
def test_limits_raise_typed_errors_and_the_next_instance_works(name, worker_file):
    limits = Limits(call_timeout_s=1.0, memory_bytes=64 << 20)
    backend, client = backend_or_skip(name, limits)
    expected = {"spin": CallTimeout, "bomb": MemoryLimitExceeded, "crash": InstanceCrashed}
    try:
        for hostile, error in expected.items():
            instance = backend.start(worker_file(hostile, HOSTILE[hostile]), PhaseClock())
            with pytest.raises(error):
                instance.call("World")
            assert instance not in backend.live  # a broken limit stops the instance
            fresh, _, answer = cold_start(backend, load_worker())
            fresh.stop()
            assert answer == "Hello World!", f"after {hostile}"
    finally:
        backend.close()
    assert not leftovers(backend, client)


@pytest.mark.parametrize("name", ALL)
def test_a_worker_that_does_not_load_leaves_nothing(name, worker_file):
    backend, client = backend_or_skip(name)
    try:
        with pytest.raises(WorkerLoadError, match="SyntaxError"):
            backend.start(worker_file("broken", "export function handler(n) { return sayHello(n) +; }\n"),
                          PhaseClock())
        assert not backend.live
        bundles = f"{BUNDLES_PREFIX}{backend.session}-*/bundles/*"
        assert not list(Path(tempfile.gettempdir()).glob(bundles))  # the rootfs stays until close
    finally:
        backend.close()
    assert not leftovers(backend, client)


PROBE = """export function handler(name) {
  const fs = process.mainModule.require('fs');
  let write = 'written';
  try { fs.writeFileSync('/isobench/probe', 'x'); } catch (error) { write = error.code; }
  const interfaces = fs.readFileSync('/proc/net/dev', 'utf8').split('\\n').slice(2)
    .map((line) => line.split(':')[0].trim()).filter(Boolean);
  return JSON.stringify({ write, interfaces, hostname: fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim() });
}
"""


@pytest.mark.parametrize("name", OCI)
def test_oci_container_is_read_only_with_no_network_and_its_own_cgroup(name, worker_file):
    # max_pids and cpus are newer Limits fields (the hostile-worker work); checked where they exist.
    caps = {k: v for k, v in {"max_pids": 64, "cpus": 0.5}.items() if k in Limits.__dataclass_fields__}
    backend, client = backend_or_skip(name, Limits(memory_bytes=256 << 20, **caps))
    try:
        instance, _, answer = cold_start(backend, worker_file("probe", PROBE))
        seen = json.loads(answer)
        assert seen["write"] == "EROFS"
        assert seen["interfaces"] == ["lo"]  # a network namespace of its own, loopback only
        assert seen["hostname"] != os.uname().nodename
        cgroup = Path(f"/proc/{instance.pid}/cgroup").read_text()
        assert instance.container_id in cgroup
        v1 = Path("/sys/fs/cgroup")
        if (v1 / "memory" / instance.container_id).is_dir():  # cgroup v1 controllers
            assert int((v1 / "memory" / instance.container_id / "memory.limit_in_bytes").read_text()) == 256 << 20
            if caps:
                assert (v1 / "pids" / instance.container_id / "pids.max").read_text().strip() == "64"
                assert int((v1 / "cpu" / instance.container_id / "cpu.cfs_quota_us").read_text()) == 50_000
        if caps:
            assert backend.facts()["limits"]["pids"].endswith("64")
        instance.stop()
    finally:
        backend.close()
    assert not leftovers(backend, client)


@pytest.mark.parametrize("name", OCI)
def test_oci_transport_is_what_it_says(name):
    """crun hands the harness's pipes to the container; runc relays through its own."""
    backend, _ = backend_or_skip(name)
    try:
        instance, _, _ = cold_start(backend, load_worker())
        container_stdin = os.readlink(f"/proc/{instance.pid}/fd/0")
        harness_end = os.readlink(f"/proc/self/fd/{instance.process.stdin.fileno()}")
        assert (container_stdin != harness_end) == backend.runtime.relays_stdio
        assert ("copies" in backend.transport()) == backend.runtime.relays_stdio
        instance.stop()
    finally:
        backend.close()


def test_ctrl_c_during_a_run_removes_every_oci_container():
    backend, _ = backend_or_skip("oci-runc")
    backend.close()
    run_id = f"t{uuid.uuid4().hex[:10]}"
    prefix = f"{ID_PREFIX}{run_id}-"
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "harness", "run", "--backends", "oci-runc", "--profile", "smoke",
             "--out", out, "--run-id", run_id],
            cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 120
            while not leftover_containers(RUNTIMES["runc"], prefix):
                assert run.poll() is None, "the run ended before any container started"
                assert time.monotonic() < deadline, "no container started within 120 s"
                time.sleep(0.05)
            run.send_signal(signal.SIGINT)
            code = run.wait(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    stderr = run.stderr.read().decode(errors="replace")[-2000:]
    assert code == 130, stderr
    assert not leftover_containers(RUNTIMES["runc"], prefix), stderr
    assert not leftover_cgroups(prefix), stderr
    left = list(Path(tempfile.gettempdir()).glob(f"{BUNDLES_PREFIX}{run_id}-*"))
    for folder in left:
        shutil.rmtree(folder, ignore_errors=True)  # the test leaves nothing behind, even when it fails
    assert not left, stderr
    assert not [p for p in psutil.process_iter(["cmdline"]) if any(prefix in part for part in p.info["cmdline"] or ())]


def test_registration_problems_name_the_fix(monkeypatch, tmp_path):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    assert "setup-runtimes.sh" in registration_problem(RUNSC, {"runc": {"path": "runc"}})
    problem = registration_problem(RUNSC, {"isobench-runsc": {"path": "/usr/bin/runsc"}})
    assert "--network=none" in problem and "setup-runtimes.sh" in problem
    assert registration_problem(RUNSC, {"isobench-runsc": {"path": "/usr/bin/runsc",
                                                           "runtimeArgs": ["--network=none"]}}) == ""
    stale = tmp_path / "wrapper"
    stale.write_text("#!/bin/sh\nexec crun \"$@\"\n")
    stale.chmod(0o755)
    assert "stale" in registration_problem(CRUN, {"isobench-crun": {"path": str(stale)}})
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert "apt-get install -y runsc" in registration_problem(RUNSC, {})


def test_oci_unavailable_names_the_package(monkeypatch):
    backend = OciBackend("crun")
    monkeypatch.setattr(backend, "runtime", OciRuntime("no-such-runtime", "no-such-package", "/run/none",
                                                        relays_stdio=False))
    availability = backend.availability()
    assert not availability.available
    assert "apt-get install -y no-such-package" in availability.reason


def test_daemon_json_merge_keeps_other_settings(tmp_path):
    sys.path.insert(0, str(REPO_ROOT / "workloads" / "runtimes"))
    try:
        import merge_daemon_json
    finally:
        sys.path.pop(0)
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"log-level": "warn", "runtimes": {"mine": {"path": "/opt/mine"}}}))
    assert merge_daemon_json.main(str(path), "/usr/bin/runsc", "/w") == 0
    merged = json.loads(path.read_text())
    assert merged["log-level"] == "warn"
    assert merged["runtimes"]["mine"] == {"path": "/opt/mine"}
    assert merged["runtimes"]["isobench-runsc"]["runtimeArgs"] == ["--network=none"]
    assert merged["runtimes"]["isobench-crun"] == {"path": "/w"}
    before = path.read_text()
    assert merge_daemon_json.main(str(path), "/usr/bin/runsc", "/w") == 0
    assert path.read_text() == before
    path.write_text("{not json")
    assert merge_daemon_json.main(str(path), "/usr/bin/runsc", "/w") == 2
    assert path.read_text() == "{not json"
