"""`wasm-wizer` really pre-initialises the worker with Wizer: an instance answers
like the isolate without loading anything, per-instance state is not frozen
into the snapshot, the limits hold (the stack limit too, after the snapshot),
its files go with close(), and a missing Wizer is a one-line reason."""

import json

import pytest

from harness.backends import BackendOptions, create_backend, wasm_wizer
from harness.backends.base import (
    BackendError,
    CallTimeout,
    InstanceCrashed,
    Limits,
    MemoryLimitExceeded,
    PhaseClock,
    WorkerLoadError,
)
from harness.procedures.instances import cold_start
from harness.runtime.worker import load_worker, workload_file

from .test_wasm import available_or_skip, write_worker

LIMITED = Limits(call_timeout_s=0.5, memory_bytes=64 << 20)


@pytest.fixture(scope="module")
def wizer():
    backend = create_backend("wasm-wizer")
    available_or_skip(backend)
    backend.prepare(load_worker())
    yield backend
    backend.close()
    assert not backend.live


@pytest.fixture(scope="module")
def limited():
    backend = create_backend("wasm-wizer", BackendOptions(limits=LIMITED))
    available_or_skip(backend)
    yield backend
    backend.close()


@pytest.mark.parametrize("workload", ["hello", "hello-module"])
def test_an_instance_is_only_an_instantiation_and_answers(wizer, workload):
    worker = load_worker(workload_file(workload))
    wizer.prepare(worker)
    instance, phases, answer = cold_start(wizer, worker)
    try:
        assert answer == "Hello World!"
        assert instance.call("Ada") == "Hello Ada!"
    finally:
        instance.stop()
    # No runtime start and no load: the handler was registered before the snapshot.
    assert list(phases) == ["instantiate", "bind", "resume", "first_call"]


def test_the_snapshot_has_no_init_left_to_run(wizer):
    prepared = wizer.prepared[wizer._worker_key(load_worker())]
    exports = {export.name for export in prepared.loaded.module.exports}
    assert "isobench_resume" in exports and "isobench_call" in exports
    assert not exports & {"_initialize", wasm_wizer.INIT_FUNC}, "Wizer must remove the init functions"
    assert prepared.module_bytes > 100_000
    assert prepared.module_path.stat().st_size == prepared.module_bytes


def test_the_top_level_ran_once_and_randomness_is_per_instance(wizer, tmp_path):
    worker = write_worker(tmp_path, "const atLoad = Math.random();\n"
                                    "export function handler(n) { return atLoad + ' ' + Math.random(); }\n")
    first, _, a = cold_start(wizer, worker)
    second, _, b = cold_start(wizer, worker)
    first.stop()
    second.stop()
    loaded_a, called_a = a.split()
    loaded_b, called_b = b.split()
    assert loaded_a == loaded_b, "the top level must have run in prepare, once, not per instance"
    assert called_a != called_b, "Math.random must be reseeded per instance, not frozen in the snapshot"
    assert 0 <= float(called_a) < 1


def test_performance_now_starts_at_the_instance(wizer, tmp_path):
    worker = write_worker(tmp_path, "export function handler(n) { return String(performance.now()); }\n")
    instance, _, answer = cold_start(wizer, worker)
    instance.stop()
    # From the instance's resume: not negative (the init's origin) nor minutes (a stale one).
    assert 0 <= float(answer) < 60_000


def test_instances_do_not_share_state(wizer, tmp_path):
    counter = write_worker(tmp_path, "let calls = 0;\nexport function handler(n) { calls += 1; return n + calls; }\n")
    first, _, a = cold_start(wizer, counter)
    second, _, b = cold_start(wizer, counter)
    try:
        assert a == b == "World1"
        assert first.call("x") == "x2" and second.call("y") == "y2"
    finally:
        first.stop()
        second.stop()


def test_a_broken_worker_is_a_load_error_at_prepare(wizer, tmp_path):
    broken = write_worker(tmp_path, "export function handler(n) { return sayHello(n) +; }\n", "broken.js")
    with pytest.raises(WorkerLoadError, match="SyntaxError"):
        wizer.prepare(broken)
    throws = write_worker(tmp_path, "throw new Error('top level');\nexport function handler(n) { return n; }\n",
                          "throws.js")
    with pytest.raises(WorkerLoadError, match="top level"):
        wizer.start(throws, PhaseClock())
    assert not wizer.live


def test_an_endless_call_is_a_call_timeout(limited, tmp_path):
    spin = write_worker(tmp_path, "export function handler(n) { for (;;) {} }\n")
    instance = limited.start(spin, PhaseClock())
    with pytest.raises(CallTimeout, match="epoch"):
        instance.call("World")
    assert instance not in limited.live
    with pytest.raises(InstanceCrashed):
        instance.call("World")


def test_an_endless_top_level_is_a_call_timeout_at_prepare(limited, tmp_path):
    spin = write_worker(tmp_path, "for (;;) {}\nexport function handler(n) { return n; }\n")
    with pytest.raises(CallTimeout, match="pre-initialised"):
        limited.prepare(spin)


def test_growing_memory_is_a_memory_limit_error(limited, tmp_path):
    hog = write_worker(tmp_path, "export function handler(n) {\n  const keep = [];\n"
                                 "  for (;;) keep.push(new Uint8Array(4 << 20).fill(1));\n}\n")
    instance = limited.start(hog, PhaseClock())
    with pytest.raises(MemoryLimitExceeded):
        instance.call("World")
    assert not limited.live


def test_growing_memory_at_the_top_level_is_a_memory_limit_error_at_prepare(limited, tmp_path):
    hog = write_worker(tmp_path, "const keep = [];\nfor (;;) keep.push(new Uint8Array(4 << 20).fill(1));\n"
                                 "export function handler(n) { return n; }\n")
    with pytest.raises(MemoryLimitExceeded, match="pre-initialised"):
        limited.prepare(hog)


def test_the_stack_limit_holds_after_the_snapshot(limited, tmp_path):
    deep = write_worker(tmp_path, "export function handler(n) { const f = (x) => f(x + 1) + 1; return f(0); }\n")
    instance = limited.start(deep, PhaseClock())
    try:
        for _ in range(2):  # a JS RangeError, not a wasm stack trap; the instance survives it
            with pytest.raises(BackendError, match="RangeError") as raised:
                instance.call("World")
            assert not isinstance(raised.value, InstanceCrashed)
        assert instance in limited.live
    finally:
        instance.stop()


def test_a_second_backend_reuses_the_snapshot(wizer):
    assert wizer.prepared  # the fixture prepared hello: its snapshot is in build/wasm-wizer now
    backend = create_backend("wasm-wizer")
    try:
        backend.prepare(load_worker())
        facts = backend.facts()
        (worker_facts,) = facts["workers"].values()
        assert worker_facts["snapshot"] == wasm_wizer.REUSED
        assert worker_facts["module_source"] == "loaded from the compile cache"
        assert worker_facts["prepare_ms"] > 0 and worker_facts["module_bytes"] > 100_000
        instance, _, answer = cold_start(backend, load_worker())
        instance.stop()
        assert answer == "Hello World!"
    finally:
        backend.close()


def test_a_corrupt_snapshot_is_made_again(tmp_path):
    worker = write_worker(tmp_path, "export function handler(n) { return 'x' + n; }\n")
    backend = create_backend("wasm-wizer")
    available_or_skip(backend)
    try:
        backend.prepare(worker)
        (prepared,) = backend.prepared.values()
        prepared.module_path.write_bytes(b"\0asm damaged")
        backend.prepared.clear()
        backend.prepare(worker)
        (again,) = backend.prepared.values()
        assert again.snapshot == wasm_wizer.MADE
        instance, _, answer = cold_start(backend, worker)
        instance.stop()
        assert answer == "xWorld"
    finally:
        backend.close()


def test_facts_and_versions_say_what_runs(wizer):
    facts = wizer.facts()
    assert facts["wizer"] == wizer.versions()["wizer"] != ""
    assert facts["fast_instantiation"]["memory_init_cow"] and facts["fast_instantiation"]["instance_pre"]
    assert facts["fast_instantiation"]["allocator"] in ("pooling", "on-demand")
    assert "35 µs" in facts["instantiate_vs_published"]
    assert "pre-initialised by Wizer" in wizer.versions()["engine"]
    json.dumps(facts)  # recorded as JSON


def test_close_removes_its_files_and_instances(tmp_path):
    backend = create_backend("wasm-wizer")
    available_or_skip(backend)
    worker = write_worker(tmp_path, "export function handler(n) { return n; }\n")
    backend.prepare(worker)
    folder = backend.folder
    (prepared,) = backend.prepared.values()
    assert folder is not None and prepared.module_path.parent == folder  # a custom worker's snapshot is scratch
    instance, _, _ = cold_start(backend, worker)
    backend.close()
    assert not folder.exists()
    assert not backend.live and instance.store is None


def test_a_missing_wizer_is_a_one_line_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(wasm_wizer, "WIZER_PACKAGES", tmp_path / "nothing")
    backend = create_backend("wasm-wizer")
    availability = backend.availability()
    if wasm_wizer.wasmtime is None:
        pytest.skip("wasmtime is not installed here")
    assert not availability.available
    assert "Wizer not installed" in availability.reason and "setup-host.sh" in availability.reason
    assert "\n" not in availability.reason
    with pytest.raises(BackendError, match="Wizer not installed"):
        backend.prepare(load_worker())
    backend.close()


def test_a_missing_base_module_is_a_one_line_reason(monkeypatch, tmp_path):
    from harness.backends import wasm_module

    if wasm_wizer.wasmtime is None:
        pytest.skip("wasmtime is not installed here")
    monkeypatch.setattr(wasm_module, "module_path", lambda: tmp_path / "missing.wasm")
    monkeypatch.setattr(wasm_module, "toolchain_problem", lambda: "clang not found (apt-get install clang)")
    availability = create_backend("wasm-wizer").availability()
    assert not availability.available
    assert "not built" in availability.reason and "clang not found" in availability.reason
