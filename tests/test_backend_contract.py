"""The Backend contract, once, for every registered backend: it declares what
it is, starts, answers, times its handler in the engine, reports memory that
says what it counts, rejects a broken worker with a typed error, and leaves
nothing behind. Backend-specific behaviour is tested in its own file."""

import uuid

import psutil
import pytest

from harness.backends import REGISTRY, BackendOptions, create_backend
from harness.backends.base import BackendError, Limits, PhaseClock, WorkerLoadError
from harness.procedures.instances import MemorySettings, cold_start, engine_time, memory_sweep, timed_cold_start
from harness.results.vocabulary import FAMILIES, INSTANCE_CLASSES, MEMORY_KINDS, PER_CALLER, SHARED
from harness.runtime.api_surface import CANDIDATES, MODULE_PROBE_SOURCE, PROBE_SOURCE, exposed
from harness.runtime.worker import load_worker

from .conftest import available_or_skip

NAMES = list(REGISTRY)


@pytest.fixture(params=NAMES)
def backend(request):
    """A prepared backend of a fresh run id; afterwards nothing of it may be left."""
    run_id = f"contract-{uuid.uuid4().hex[:8]}"
    made = create_backend(request.param, BackendOptions(run_id=run_id))
    available_or_skip(made)
    made.prepare(load_worker())
    yield made
    made.close()
    assert not made.live, "instances left alive after close()"
    assert type(made).cleanup(run_id) == [], "the run left something behind"
    marks = made.runner_marks
    if marks:
        left = [p for p in psutil.Process().children(recursive=True)
                if _cmdline_has(p, marks) and p.status() != psutil.STATUS_ZOMBIE]
        assert not left, f"processes left behind: {left}"


def _cmdline_has(process, marks) -> bool:
    try:
        return any(mark in part for part in process.cmdline() for mark in marks)
    except psutil.Error:
        return False


@pytest.mark.parametrize("name", NAMES)
def test_declares_what_it_is(name):
    limits = Limits(call_timeout_s=3.0, memory_bytes=64 << 20)
    made = create_backend(name, BackendOptions(limits=limits))
    try:
        assert made.name == name
        assert made.summary and made.described_as and made.cpu_scope
        assert made.family in FAMILIES
        assert made.instance_class in INSTANCE_CLASSES
        assert set(made.concurrency_modes) <= {PER_CALLER, SHARED}
        assert made.limits == limits, "from_options must keep the Limits it is given"
        assert made.live == set()
    finally:
        made.close()


def test_exactly_one_backend_is_the_reference():
    from harness.backends import backend_class

    assert [name for name in REGISTRY if backend_class(name).reference] == ["isolate"]


def test_answers_hello_world_with_phases(backend):
    instance, phases, answer = cold_start(backend, load_worker())
    try:
        assert answer == "Hello World!"
        assert instance.call("isobench") == "Hello isobench!"
        instance.ping()
        assert list(phases)[-1] == "first_call"
        assert all(value >= 0 for value in phases.values())
        assert instance in backend.live
    finally:
        instance.stop()
    assert instance not in backend.live


def test_cold_start_records_wall_and_cpu_time(backend):
    instance, sample = timed_cold_start(backend, load_worker())
    instance.stop()
    assert sample.wall_s > 0 and sample.answer == "Hello World!"
    assert sample.wall_s * 1e3 == pytest.approx(sum(sample.phases_ms.values()))
    if sample.cpu_s is not None:
        assert sample.cpu_s > 0


def test_engine_time_times_the_handler_against_its_loop(backend):
    instance, _, _ = cold_start(backend, load_worker())
    try:
        result = engine_time(instance, 5.0)
    finally:
        instance.stop()
    assert result["handler_ns"] > 0 and result["loop_ns"] >= 0 and result["calls"] >= 1  # 0: under one clock step
    assert result["clock"] in ("performance.now", "Date.now")
    assert result["clock_resolution_ns"] is None or result["clock_resolution_ns"] > 0


def test_any_worker_with_the_contract_runs(backend, tmp_path):
    path = tmp_path / "shout.js"
    path.write_text("const shout = (n) => sayHello(n).toUpperCase();\nexport { shout as handler };\n")
    instance, _, answer = cold_start(backend, load_worker(path))
    instance.stop()
    assert answer == "HELLO WORLD!"


@pytest.mark.parametrize("form", ["handler", "module"])
def test_declares_the_globals_its_engine_exposes(backend, tmp_path, form):
    """host_globals is what the engine shows the worker (api_surface.CANDIDATES), measured here."""
    path = tmp_path / form / "worker.js"
    path.parent.mkdir()
    path.write_text(PROBE_SOURCE if form == "handler" else MODULE_PROBE_SOURCE)
    worker = load_worker(path)
    backend.prepare(worker)
    instance, _, answer = cold_start(backend, worker)
    instance.stop()
    seen = frozenset(name for name in answer.split(",") if name)
    assert seen <= set(CANDIDATES)
    assert seen == exposed(backend.host_globals, form), (
        f"declared but absent: {sorted(exposed(backend.host_globals, form) - seen)}; "
        f"present but not declared: {sorted(seen - exposed(backend.host_globals, form))}")


def test_syntax_error_is_a_worker_load_error(backend, tmp_path):
    path = tmp_path / "broken.js"
    path.write_text("export function handler(n) { return sayHello(n) +; }\n")
    with pytest.raises(WorkerLoadError, match="SyntaxError"):
        backend.start(load_worker(path), PhaseClock())
    assert not backend.live


def test_handler_exception_is_reported(backend, tmp_path):
    path = tmp_path / "throws.js"
    path.write_text("export function handler(n) { throw new Error('boom ' + n); }\n")
    instance = backend.start(load_worker(path), PhaseClock())
    try:
        with pytest.raises(BackendError, match="boom World"):
            instance.call("World")
    finally:
        instance.stop()


def test_memory_sweep_says_what_each_figure_counts(backend):
    sweep = memory_sweep(backend, load_worker(), MemorySettings((1, 2), 0.0))
    assert [step["n"] for step in sweep["steps"]] == [1, 2]
    kinds = set(sweep["steps"][-1]["total_bytes"])
    assert kinds and kinds <= set(MEMORY_KINDS), f"unknown memory kinds: {kinds - set(MEMORY_KINDS)}"
    assert set(sweep["scopes"]) == kinds and all(sweep["scopes"].values())
    assert not backend.live
