"""The stpyv8 backends (`isolate-stpyv8`, `isolate-context`) really make
isolates or contexts, run the same bundle in the calling thread, enforce their
limits with typed errors, and leave nothing alive."""

import os
import subprocess
import sys
import threading

import pytest

from harness.backends import BackendOptions, create_backend
from harness.backends.base import BackendError, CallTimeout, Limits, MemoryLimitExceeded
from harness.procedures.instances import MemorySettings, cold_start, engine_time, memory_sweep
from harness.paths import REPO_ROOT
from harness.results.model import MemorySweep
from harness.runtime.worker import load_worker

NAMES = ["isolate-stpyv8", "isolate-context"]
PHASES = {
    "isolate-stpyv8": ["create_isolate", "create_context", "load_worker", "first_call"],
    "isolate-context": ["create_context", "load_worker", "first_call"],
}
# A handler that loops for "loop", and allocates without end (in ways this V8
# build interrupts: see harness/backends/stpyv8_engine.py) on the V8 heap for
# "grow" and in typed arrays, outside the heap, for "bomb".
HOSTILE = """
export function handler(name) {
  if (name === "loop") { for (;;) {} }
  if (name === "grow") { const kept = []; for (;;) kept.push("x".repeat(1000) + Math.random()); }
  if (name === "bomb") {
    const kept = [];
    for (;;) { const chunk = new Uint8Array(1 << 20); chunk.fill(1); kept.push(chunk); }
  }
  return sayHello(name);
}
"""


def available_or_skip(backend):
    """Skip when stpyv8 is missing; with ISOBENCH_REQUIRE_STPYV8=1 (CI) fail."""
    availability = backend.availability()
    if not availability.available:
        backend.close()
        if os.environ.get("ISOBENCH_REQUIRE_STPYV8") == "1" or os.environ.get("ISOBENCH_REQUIRE_ALL") == "1":
            pytest.fail(f"stpyv8 is required here: {availability.reason}")
        pytest.skip(f"{backend.name} unavailable: {availability.reason}")


@pytest.fixture(params=NAMES)
def backend(request):
    made = create_backend(request.param)
    available_or_skip(made)
    made.prepare(load_worker())
    yield made
    made.close()
    assert not made.live


def limited(name, limits):
    made = create_backend(name, BackendOptions(limits=limits))
    available_or_skip(made)
    made.prepare(load_worker())
    return made


def hostile_worker(tmp_path):
    path = tmp_path / "hostile.js"
    path.write_text(HOSTILE)
    return load_worker(path)


def test_answers_hello_world_with_phases(backend):
    instance, phases, answer = cold_start(backend, load_worker())
    try:
        assert answer == "Hello World!"
        assert instance.call("isobench") == "Hello isobench!"
        instance.ping()
        assert list(phases) == PHASES[backend.name]
        assert all(value >= 0 for value in phases.values())
        assert engine_time(instance, 2.0)["clock"] == "Date.now"
    finally:
        instance.stop()
    assert not backend.live
    with pytest.raises(BackendError):
        instance.call("World")  # a stopped instance does not answer


def test_isolates_are_separate_and_contexts_share_one(tmp_path):
    isolates = create_backend("isolate-stpyv8")
    contexts = create_backend("isolate-context")
    for made in (isolates, contexts):
        available_or_skip(made)
    try:
        contexts.prepare(load_worker())
        own = [cold_start(isolates, load_worker())[0] for _ in range(3)]
        shared = [cold_start(contexts, load_worker())[0] for _ in range(3)]
        assert len({instance.isolate_ptr for instance in own}) == 3
        assert all(instance.heap().number_of_native_contexts == 1 for instance in own)
        assert {instance.isolate_ptr for instance in shared} == {contexts.isolate_ptr}
        assert contexts.contexts_in_isolate() == 3
        # Each context has its own globals.
        shared[0]._eval("globalThis.mark = 1", "test")
        assert shared[1]._eval("typeof globalThis.mark", "test") == "undefined"
        for instance in own + shared:
            instance.stop()
        assert contexts.contexts_in_isolate() == 0
    finally:
        isolates.close()
        contexts.close()
    assert not isolates.live and not contexts.live


@pytest.mark.parametrize("name", NAMES)
def test_call_timeout_stops_the_instance(name, tmp_path):
    made = limited(name, Limits(call_timeout_s=0.3))
    try:
        instance, _, answer = cold_start(made, hostile_worker(tmp_path))
        bystander, _, _ = cold_start(made, load_worker())
        assert answer == "Hello World!"
        with pytest.raises(CallTimeout):
            instance.call("loop")
        assert instance not in made.live
        # The isolate (shared or not) goes on: other instances still answer.
        assert bystander.call("again") == "Hello again!"
        fresh, _, answer = cold_start(made, hostile_worker(tmp_path))
        assert answer == "Hello World!"
        fresh.stop()
        bystander.stop()
    finally:
        made.close()
    assert not made.live


@pytest.mark.parametrize("how", ["grow", "bomb"])
@pytest.mark.parametrize("name", NAMES)
def test_memory_limit_is_a_typed_error(name, how, tmp_path):
    made = limited(name, Limits(call_timeout_s=120, memory_bytes=64 << 20))
    try:
        instance, _, _ = cold_start(made, hostile_worker(tmp_path))
        with pytest.raises(MemoryLimitExceeded, match="memory limit"):
            instance.call(how)
        assert instance not in made.live
        fresh, _, answer = cold_start(made, hostile_worker(tmp_path))
        assert answer == "Hello World!"
        fresh.stop()
    finally:
        made.close()
    assert not made.live


def test_instances_are_bound_to_their_thread(backend):
    instance, _, _ = cold_start(backend, load_worker())
    errors = []

    def other_thread():
        try:
            instance.call("World")
        except BackendError as error:
            errors.append(error)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    try:
        assert errors and "thread" in str(errors[0])
        assert instance.call("World") == "Hello World!"
    finally:
        instance.stop()


def test_memory_sweep_reports_process_and_heap_growth(backend):
    result = memory_sweep(backend, load_worker(), MemorySettings((1, 3), 0.0))
    assert result["counts"] == [1, 3]
    per = MemorySweep.from_json(result, "sweep").per_instance()
    assert {"uss", "pss", "rss", "v8_heap_used", "v8_heap_physical"} <= set(per)
    assert per["v8_heap_used"] > 0
    assert not backend.live


def test_reading_the_backend_classes_does_not_start_stpyv8():
    # The run manager reads every class (family, cleanup); V8's platform starts only where stpyv8 runs.
    code = ("import sys; from harness.backends import REGISTRY, backend_class; "
            "[backend_class(n) for n in REGISTRY]; print('STPyV8' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
