"""The `wasm` backend really builds, instantiates QuickJS-in-wasm, runs the
same bundle, enforces its limits, and leaves nothing behind."""

import os
import threading

import pytest

from harness.backends import BackendOptions, create_backend
from harness.backends.base import (
    BackendError,
    CallTimeout,
    InstanceCrashed,
    Limits,
    MemoryLimitExceeded,
    PhaseClock,
    WorkerLoadError,
)
from harness.measure.procedures import cold_start, engine_samples, memory_sweep
from harness.runtime.worker import load_worker

LIMITED = Limits(call_timeout_s=0.5, memory_bytes=64 << 20)


def available_or_skip(backend):
    """Skip when the runtime is missing; with ISOBENCH_REQUIRE_WASM=1 (CI) fail."""
    availability = backend.availability()
    if not availability.available:
        backend.close()
        if os.environ.get("ISOBENCH_REQUIRE_WASM") == "1":
            pytest.fail(f"the wasm backend is required here: {availability.reason}")
        pytest.skip(f"wasm unavailable: {availability.reason}")


def epoch_threads():
    return [t for t in threading.enumerate() if t.name == "isobench-wasm-epoch"]


@pytest.fixture(scope="module")
def wasm():
    backend = create_backend("wasm")
    available_or_skip(backend)
    backend.prepare(load_worker())
    yield backend
    backend.close()
    assert not backend.live


@pytest.fixture(scope="module")
def limited():
    backend = create_backend("wasm", BackendOptions(limits=LIMITED))
    available_or_skip(backend)
    backend.prepare(load_worker())
    yield backend
    backend.close()


def write_worker(tmp_path, source, name="w.js"):
    path = tmp_path / name
    path.write_text(source)
    return load_worker(path)


def test_answers_hello_world_with_phases(wasm):
    instance, phases, answer = cold_start(wasm, load_worker())
    try:
        assert answer == "Hello World!"
        assert instance.call("isobench") == "Hello isobench!"
        instance.ping()
        assert list(phases) == ["instantiate", "runtime_ready", "load_worker", "first_call"]
        assert all(value >= 0 for value in phases.values())
    finally:
        instance.stop()
    assert instance not in wasm.live


def test_engine_time_is_measured_by_quickjs_clock(wasm):
    instance, _, _ = cold_start(wasm, load_worker())
    try:
        samples, last = engine_samples(instance, repeats=2, min_ms=2.0)
    finally:
        instance.stop()
    assert len(samples) == 2 and all(s > 0 for s in samples)
    assert last["clock"] == "performance.now"
    assert last["last"] == "Hello World!"


def test_any_worker_with_the_contract_runs_and_errors_are_typed(wasm, tmp_path):
    shout = write_worker(tmp_path, "const shout = (n) => sayHello(n).toUpperCase();\nexport { shout as handler };\n")
    instance, _, answer = cold_start(wasm, shout)
    instance.stop()
    assert answer == "HELLO WORLD!"
    broken = write_worker(tmp_path, "export function handler(n) { return sayHello(n) +; }\n", "broken.js")
    with pytest.raises(WorkerLoadError, match="SyntaxError"):
        wasm.start(broken, PhaseClock())
    throws = write_worker(tmp_path, "export function handler(n) { throw new Error('boom ' + n); }\n", "throws.js")
    instance = wasm.start(throws, PhaseClock())
    try:
        with pytest.raises(BackendError, match="boom World"):
            instance.call("World")
        with pytest.raises(BackendError, match="boom again"):  # the instance survives a JS exception
            instance.call("again")
    finally:
        instance.stop()
    assert not wasm.live


def test_instances_do_not_share_state(wasm, tmp_path):
    counter = write_worker(tmp_path, "let calls = 0;\nexport function handler(n) { calls += 1; return n + calls; }\n")
    first, _, a = cold_start(wasm, counter)
    second, _, b = cold_start(wasm, counter)
    try:
        assert a == b == "World1"
        assert first.call("x") == "x2"
        assert second.call("y") == "y2"
    finally:
        first.stop()
        second.stop()


def test_memory_figures_are_labelled_and_bounded(wasm):
    sweep = memory_sweep(wasm, load_worker(), (1, 3), settle_s=0.0)
    per = sweep["per_instance_bytes"]
    assert set(per) == {"uss", "pss", "rss", "linear_memory"}
    # QuickJS with its 1 MiB C stack: about a megabyte of linear memory, not kilobytes nor gigabytes.
    assert 64 << 10 < per["linear_memory"] < 64 << 20
    assert "linear memory" in sweep["scopes"]["linear_memory"]
    assert "harness process" in sweep["scopes"]["uss"]
    assert not wasm.live


def test_versions_and_facts_say_what_runs(wasm):
    versions = wasm.versions()
    assert versions["engine"].startswith("QuickJS-NG ")
    assert "not a port" in versions["worker"]
    assert versions["wasmtime"]
    facts = wasm.facts()
    assert facts["module_compile_ms"] > 0
    assert facts["module_bytes"] > 100_000


def test_an_endless_call_is_a_call_timeout_and_stops_the_instance(limited, tmp_path):
    spin = write_worker(tmp_path, "export function handler(n) { for (;;) {} }\n")
    instance = limited.start(spin, PhaseClock())
    with pytest.raises(CallTimeout, match="epoch"):
        instance.call("World")
    assert instance not in limited.live
    with pytest.raises(InstanceCrashed):
        instance.call("World")


def test_an_endless_top_level_is_a_call_timeout_at_load(limited, tmp_path):
    spin = write_worker(tmp_path, "for (;;) {}\nexport function handler(n) { return n; }\n")
    with pytest.raises(CallTimeout):
        limited.start(spin, PhaseClock())
    assert not limited.live


def test_growing_memory_is_a_memory_limit_error(limited, tmp_path):
    hog = write_worker(tmp_path, "export function handler(n) {\n  const keep = [];\n"
                                 "  for (;;) keep.push(new Uint8Array(4 << 20).fill(1));\n}\n")
    instance = limited.start(hog, PhaseClock())
    with pytest.raises(MemoryLimitExceeded):
        instance.call("World")
    assert not limited.live


def test_deep_recursion_is_a_js_error_not_a_crash(limited, tmp_path):
    deep = write_worker(tmp_path, "export function handler(n) { const f = (x) => f(x + 1) + 1; return f(0); }\n")
    instance = limited.start(deep, PhaseClock())
    try:
        for _ in range(2):  # the instance survives it
            with pytest.raises(BackendError, match="RangeError") as raised:
                instance.call("World")
            assert not isinstance(raised.value, InstanceCrashed)
        assert instance in limited.live
    finally:
        instance.stop()


def test_close_stops_instances_and_the_epoch_thread():
    backend = create_backend("wasm")
    available_or_skip(backend)
    before = len(epoch_threads())
    backend.prepare(load_worker())
    assert len(epoch_threads()) == before + 1
    instance, _, _ = cold_start(backend, load_worker())
    backend.close()
    assert not backend.live and instance.store is None
    assert len(epoch_threads()) == before


def test_unavailable_reasons_are_precise(monkeypatch, tmp_path):
    from harness.backends import wasm_module
    from harness.backends import wasm as wasm_backend

    monkeypatch.setattr(wasm_backend, "wasmtime", None)
    reason = create_backend("wasm").availability().reason
    assert "wasmtime" in reason and "not importable" in reason
    monkeypatch.undo()
    if wasm_backend.wasmtime is None:
        pytest.skip("wasmtime is not installed here")
    monkeypatch.setattr(wasm_module, "module_path", lambda: tmp_path / "missing.wasm")
    monkeypatch.setattr(wasm_module, "toolchain_problem", lambda: "clang not found (apt-get install clang)")
    availability = create_backend("wasm").availability()
    assert not availability.available
    assert "not built" in availability.reason and "clang not found" in availability.reason
