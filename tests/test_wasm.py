"""The `wasm` backend really builds, instantiates QuickJS-in-wasm, runs the
same bundle, enforces its limits, and leaves nothing behind."""

import hashlib
import json
import os
import threading

import pytest

from harness.backends import BackendOptions, create_backend, wasm_cache
from harness.backends.base import (
    BackendError,
    CallTimeout,
    InstanceCrashed,
    Limits,
    MemoryLimitExceeded,
    PhaseClock,
    WorkerLoadError,
)
from harness.procedures.instances import MemorySettings, cold_start, engine_time, memory_sweep
from harness.runtime.worker import load_worker

LIMITED = Limits(call_timeout_s=0.5, memory_bytes=64 << 20)


def available_or_skip(backend):
    """Skip when the runtime is missing; with ISOBENCH_REQUIRE_WASM=1 (CI) fail."""
    availability = backend.availability()
    if not availability.available:
        backend.close()
        if os.environ.get("ISOBENCH_REQUIRE_WASM") == "1" or os.environ.get("ISOBENCH_REQUIRE_ALL") == "1":
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


def test_phases_name_the_wasm_steps(wasm):
    instance, phases, _ = cold_start(wasm, load_worker())
    instance.stop()
    assert list(phases) == ["instantiate", "runtime_ready", "load_worker", "first_call"]
    assert instance not in wasm.live


def test_engine_time_is_measured_by_quickjs_clock(wasm):
    instance, _, _ = cold_start(wasm, load_worker())
    try:
        results = [engine_time(instance, min_ms=2.0) for _ in range(2)]
    finally:
        instance.stop()
    assert all(result["handler_ns"] > 0 and result["calls"] > 0 for result in results)
    assert results[-1]["clock"] == "performance.now"


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
    sweep = memory_sweep(wasm, load_worker(), MemorySettings((1, 3), 0.0))
    largest = sweep["steps"][-1]
    per = {kind: total / largest["n"] for kind, total in largest["total_bytes"].items()}
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
    assert facts["module_source"] in (wasm_cache.COMPILED, wasm_cache.CACHED)
    if facts["module_source"] == wasm_cache.COMPILED:
        assert facts["module_compile_ms"] > 0
    else:
        assert facts["module_load_ms"] > 0 and facts["module_compile_ms_when_cached"] > 0
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


# -- the compile cache -----------------------------------------------------------


def fresh_prepared():
    backend = create_backend("wasm")
    available_or_skip(backend)
    backend.prepare(load_worker())
    return backend


def answers_hello(backend):
    instance, _, answer = cold_start(backend, load_worker())
    instance.stop()
    return answer == "Hello World!"


def test_a_fresh_backend_loads_the_compiled_module_from_the_cache(wasm):
    # `wasm` compiled the module or loaded it: either way the cache is there now.
    assert wasm.loaded.cache_path.exists()
    backend = fresh_prepared()
    try:
        facts = backend.facts()
        assert facts["module_source"] == wasm_cache.CACHED
        assert facts["module_load_ms"] > 0
        assert facts["module_compile_ms_when_cached"] > 0
        assert "module_compile_ms" not in facts and "module_cache_note" not in facts
        assert answers_hello(backend)
    finally:
        backend.close()


def test_a_corrupt_cache_file_is_rebuilt(wasm):
    artifact = wasm.loaded.cache_path
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    backend = fresh_prepared()
    try:
        facts = backend.facts()
        assert facts["module_source"] == wasm_cache.COMPILED and facts["module_compile_ms"] > 0
        assert "corrupt" in facts["module_cache_note"]
        assert answers_hello(backend)
    finally:
        backend.close()
    again = fresh_prepared()  # the rebuilt cache file is sound
    try:
        assert again.facts()["module_source"] == wasm_cache.CACHED
        assert answers_hello(again)
    finally:
        again.close()


SMALL_WAT = '(module (func (export "answer") (result i32) i32.const 42))'
SETTINGS = {"epoch_interruption": True}


def small_module(tmp_path):
    wasmtime = pytest.importorskip("wasmtime")
    path = tmp_path / "small.wasm"
    path.write_bytes(wasmtime.wat2wasm(SMALL_WAT))
    config = wasmtime.Config()
    config.epoch_interruption = True
    return wasmtime, wasmtime.Engine(config), path


def answer(wasmtime, engine, module):
    store = wasmtime.Store(engine)
    store.set_epoch_deadline(1)
    return wasmtime.Instance(store, module, []).exports(store)["answer"](store)


def test_the_cache_is_written_atomically_and_then_loaded(tmp_path):
    wasmtime, engine, path = small_module(tmp_path)
    first = wasm_cache.load_or_compile(engine, path, SETTINGS)
    assert first.source == wasm_cache.COMPILED and first.compile_ms > 0 and not first.note
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["small.wasm", first.cache_path.name, wasm_cache.sidecar_path(first.cache_path).name])  # no temp files
    second = wasm_cache.load_or_compile(engine, path, SETTINGS)
    assert second.source == wasm_cache.CACHED and second.cache_path == first.cache_path
    assert second.cached_compile_ms == pytest.approx(first.compile_ms)
    assert answer(wasmtime, engine, second.module) == 42


def test_the_key_follows_the_module_the_settings_and_wasmtime(tmp_path, monkeypatch):
    wasmtime, engine, path = small_module(tmp_path)
    binary = path.read_bytes()
    key = wasm_cache.cache_key(wasm_cache.cache_key_parts(binary, SETTINGS))
    assert key != wasm_cache.cache_key(wasm_cache.cache_key_parts(binary + b"\0", SETTINGS))
    assert key != wasm_cache.cache_key(wasm_cache.cache_key_parts(binary, {**SETTINGS, "max_wasm_stack": 1}))
    monkeypatch.setattr(wasm_cache, "wasmtime_version", lambda: "0.0.0")
    assert key != wasm_cache.cache_key(wasm_cache.cache_key_parts(binary, SETTINGS))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "no sidecar", "bad sidecar"])
def test_a_damaged_cache_is_ignored_and_rebuilt(tmp_path, damage):
    wasmtime, engine, path = small_module(tmp_path)
    artifact = wasm_cache.load_or_compile(engine, path, SETTINGS).cache_path
    sidecar = wasm_cache.sidecar_path(artifact)
    if damage == "truncated":
        artifact.write_bytes(artifact.read_bytes()[:100])
    elif damage == "garbage":
        artifact.write_bytes(b"\x7fELF" + os.urandom(4096))
    elif damage == "no sidecar":
        sidecar.unlink()
    else:
        sidecar.write_text("{not json")
    rebuilt = wasm_cache.load_or_compile(engine, path, SETTINGS)
    assert rebuilt.source == wasm_cache.COMPILED and rebuilt.note
    assert answer(wasmtime, engine, rebuilt.module) == 42
    assert wasm_cache.load_or_compile(engine, path, SETTINGS).source == wasm_cache.CACHED


def test_a_cache_wasmtime_refuses_is_rebuilt(tmp_path):
    # A sound file compiled under another configuration (no epoch interruption),
    # filed under this configuration's key: wasmtime itself must refuse it.
    wasmtime, engine, path = small_module(tmp_path)
    artifact = wasm_cache.load_or_compile(engine, path, SETTINGS).cache_path
    other = wasmtime.Module(wasmtime.Engine(wasmtime.Config()), path.read_bytes()).serialize()
    artifact.write_bytes(other)
    sidecar = wasm_cache.sidecar_path(artifact)
    info = json.loads(sidecar.read_text())
    info["artifact_sha256"] = hashlib.sha256(other).hexdigest()
    sidecar.write_text(json.dumps(info))
    rebuilt = wasm_cache.load_or_compile(engine, path, SETTINGS)
    assert rebuilt.source == wasm_cache.COMPILED and "refused" in rebuilt.note
    assert answer(wasmtime, engine, rebuilt.module) == 42


def test_an_unwritable_cache_still_compiles(tmp_path, monkeypatch):
    wasmtime, engine, path = small_module(tmp_path)

    def refuse(*args, **kwargs):
        raise OSError("read-only file system")

    monkeypatch.setattr(wasm_cache, "write_atomic", refuse)
    loaded = wasm_cache.load_or_compile(engine, path, SETTINGS)
    assert loaded.source == wasm_cache.COMPILED and "not written" in loaded.note
    assert answer(wasmtime, engine, loaded.module) == 42
