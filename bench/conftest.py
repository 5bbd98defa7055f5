"""Fixtures and options for the isobench suites.

Run them through `python -m harness run`, or directly:
    pytest bench --isobench-backends isolate --isobench-profile quick --benchmark-json out.json
"""

from __future__ import annotations

import os

import pytest

from harness.measure import metadata
from harness.backends import BackendOptions, create_backend, parse_backend_names
from harness.backends.base import BackendError
from harness.measure.pinning import cpuset_string, parse_cpus, pin_process
from harness.measure.injection import DelayedStart, parse_start_delays
from harness.measure.injection import describe as describe_injected
from harness.measure.profiles import get_profile
from harness.runtime.worker import WorkerError, load_worker


def pytest_addoption(parser):
    group = parser.getgroup("isobench")
    group.addoption("--isobench-backends", default="isolate,subprocess,container",
                    help="comma-separated backends, or 'all'")
    group.addoption("--isobench-profile", default="quick", help="quick or full")
    group.addoption("--isobench-worker", default=None, help="worker file (default: workloads/hello/worker.js)")
    group.addoption("--isobench-base-image", default=None,
                    help="container: build FROM this registry image instead of scratch")
    group.addoption("--isobench-pin", default=None, help="CPUs to pin the harness and its children to, e.g. 0")
    group.addoption("--isobench-inherit-env", default="",
                    help="comma-separated host variables that child processes keep")
    group.addoption("--isobench-run-id", default=None, help="label value for this run's containers")
    group.addoption("--isobench-inject-start-delay", default="",
                    help="TEST ONLY: BACKEND=MS,... sleep in that backend's start (recorded as injected)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    try:
        names = parse_backend_names(config.getoption("isobench_backends"))
        profile = get_profile(config.getoption("isobench_profile"))
        worker = load_worker(config.getoption("isobench_worker"))
        pin = config.getoption("isobench_pin")
        cpus = parse_cpus(pin) if pin else None
        config._isobench_injected = parse_start_delays(config.getoption("isobench_inject_start_delay"), names)
        config._isobench_load_at_start = list(os.getloadavg())  # before the run adds its own load
    except (ValueError, WorkerError) as error:
        raise pytest.UsageError(str(error)) from None
    if cpus:
        pin_process(cpus)
    inherit = tuple(v for v in config.getoption("isobench_inherit_env").split(",") if v)
    config._isobench = metadata.RunContext(
        backends=names, profile=profile, worker=worker, pinned=sorted(cpus) if cpus else None,
        options=BackendOptions(base_image=config.getoption("isobench_base_image"),
                               cpuset=cpuset_string(cpus), inherit_env=inherit,
                               run_id=config.getoption("isobench_run_id")),
    )
    # The profile decides the calibrated warm-call rounds.
    config.option.benchmark_min_rounds = profile.warm_min_rounds
    config.option.benchmark_max_time = str(profile.warm_max_time)
    config.option.benchmark_disable_gc = True
    config.option.benchmark_warmup = "on"
    config.option.benchmark_warmup_iterations = profile.warm_warmup_calls


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        names = metafunc.config._isobench.backends
        wanted = getattr(metafunc.function, "isobench_backends", None)
        if wanted is not None:
            names = [name for name in names if name in wanted]
        metafunc.parametrize("backend_name", names, scope="session")


def pytest_sessionstart(session):
    session.config._isobench.session = session


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Record, per backend, why a measurement failed (one line) in the run record."""
    outcome = yield
    report = outcome.get_result()
    name = getattr(item, "callspec", None) and item.callspec.params.get("backend_name")
    if report.failed and name and call.excinfo is not None:
        lines = str(call.excinfo.value).strip().splitlines() or [""]
        item.config._isobench.record_failure(name, f"{call.excinfo.typename}: {lines[0][:300]}".rstrip(": "))


@pytest.fixture(scope="session")
def run_context(pytestconfig):
    return pytestconfig._isobench


@pytest.fixture(scope="session")
def profile(run_context):
    return run_context.profile


@pytest.fixture(scope="session")
def worker(run_context):
    return run_context.worker


@pytest.fixture(scope="session")
def backend(backend_name, run_context, worker, pytestconfig):
    """A prepared backend; skipped, with the reason recorded, if unavailable here."""
    instance = create_backend(backend_name, run_context.options)
    delay_ms = pytestconfig._isobench_injected.get(backend_name)
    if delay_ms is not None:  # test-only: recorded in the results as injected
        instance = DelayedStart(instance, delay_ms)
    try:
        availability = instance.availability()
        if not availability.available:
            run_context.record_unavailable(backend_name, availability.reason)
            pytest.skip(f"{backend_name} unavailable: {availability.reason}")
        try:
            instance.prepare(worker)
            run_context.record_available(backend_name, instance)
        except BackendError as error:
            run_context.record_unavailable(backend_name, str(error))
            pytest.skip(f"{backend_name} unavailable: {error}")
        yield instance
    finally:
        instance.close()


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["isobench"] = config._isobench.describe()


@pytest.hookimpl(tryfirst=True)
def pytest_benchmark_generate_json(config, benchmarks, include_data, machine_info, commit_info):
    """pytest-benchmark's own JSON, minus benchmarks with no sample at all (a
    run interrupted before its first round), which it cannot serialize."""
    from pytest_benchmark.plugin import pytest_benchmark_generate_json as default

    measured = [bench for bench in benchmarks if bench]
    return default(config, measured, include_data, machine_info, commit_info)


def pytest_benchmark_update_json(config, benchmarks, output_json):
    context = config._isobench
    output_json["isobench"] = context.run_record()
    output_json["isobench"]["injected"] = describe_injected(config._isobench_injected)
    output_json["isobench"]["load_average_at_start"] = config._isobench_load_at_start


def pytest_report_header(config):
    context = config._isobench
    return (f"isobench: backends={','.join(context.backends)} profile={context.profile.name} "
            f"worker={context.worker.path} pid={os.getpid()}")
