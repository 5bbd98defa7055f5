"""The process backends beyond node's own: subprocess-snapshot (node from a
start-up snapshot holding the worker), subprocess-deno and subprocess-bun.
Answers, phases, errors and cleanup; the shared contract is in
test_backend_contract.py."""

from pathlib import Path

import pytest

from harness.backends import create_backend
from harness.backends.base import BackendError, BackendUnavailable, PhaseClock
from harness.procedures.instances import cold_start
from harness.runtime.worker import load_worker

from .conftest import available_or_skip


@pytest.fixture
def made(request):
    backend = create_backend(request.param)
    available_or_skip(backend)
    yield backend
    backend.close()


@pytest.mark.parametrize("made", ["subprocess-snapshot"], indirect=True)
def test_the_snapshot_holds_the_worker_so_nothing_is_loaded(made):
    worker = load_worker()
    made.prepare(worker)
    instance, phases, answer = cold_start(made, worker)
    try:
        assert answer == "Hello World!" and instance.call("Ada") == "Hello Ada!"
        assert list(phases) == ["spawn", "runtime_ready", "first_call"]
        assert instance.runner_info["preloaded"] == worker.sha256
        assert "--snapshot-blob" in instance.process.args
    finally:
        instance.stop()
    snapshot = made.facts()["snapshots"][worker.sha256[:12]]
    assert snapshot["bytes"] > 0 and snapshot["build_s"] > 0


@pytest.mark.parametrize("made", ["subprocess-snapshot"], indirect=True)
def test_a_snapshot_of_another_worker_is_refused(made, tmp_path):
    worker, other = load_worker(), tmp_path / "other.js"
    other.write_text("export function handler(n) { return 'other ' + n; }\n")
    made.prepare(worker)
    made.blobs[load_worker(other).sha256] = made.blobs[worker.sha256]  # the wrong snapshot for `other`
    with pytest.raises(BackendError, match="the snapshot holds worker"):
        made.start(load_worker(other), PhaseClock())
    assert not made.live


@pytest.mark.parametrize("made", ["subprocess-snapshot"], indirect=True)
def test_a_worker_node_cannot_snapshot_is_unavailable_with_the_reason(made, tmp_path):
    path = tmp_path / "ticker.js"
    path.write_text("const ticker = setInterval(() => {}, 100000);\n"
                    "export function handler(name) { return sayHello(name); }\n")
    with pytest.raises(BackendUnavailable, match=r"leaves pending work \(Timeout\)"):
        made.prepare(load_worker(path))


@pytest.mark.parametrize("made", ["subprocess-snapshot", "subprocess-deno"], indirect=True)
def test_close_removes_the_scratch_folder(made):
    made.prepare(load_worker())
    folder = Path(made.folder)
    assert folder.is_dir()
    made.close()
    assert not folder.exists()


@pytest.mark.parametrize("made", ["subprocess-deno"], indirect=True)
def test_deno_runs_the_worker_without_permissions_and_with_its_own_cache(made, tmp_path):
    path = tmp_path / "reader.js"
    path.write_text("export function handler(n) { return String(Deno.readTextFileSync('/etc/hostname')); }\n")
    worker = load_worker(path)
    made.prepare(worker)
    assert Path(made.env["DENO_DIR"]).is_relative_to(made.folder)
    with pytest.raises(BackendError, match="NotCapable|Requires read access"):
        cold_start(made, worker)
    assert not made.live


@pytest.mark.parametrize("made", ["subprocess-deno", "subprocess-bun"], indirect=True)
def test_the_versions_name_the_engine(made):
    versions = made.versions()
    if made.name == "subprocess-deno":
        assert versions["deno"] and versions["v8"]
    else:
        assert versions["bun"] and versions["engine"] == "JavaScriptCore"
