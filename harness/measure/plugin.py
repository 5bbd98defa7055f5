"""The pytest plugin that turns `pytest bench` into one trial: the options
(declared once, in harness/measure/options.py), the `trial` fixture the suites in
bench/ measure with, and the trial record written when the session ends.

Under the run manager (`python -m harness run`) each trial process runs
`pytest bench --isobench-spec SPEC --isobench-trial-out OUT`. Run directly
(`pytest bench --isobench-backends isolate --isobench-results out.json`) it is
a run of one trial, written as a results file."""

from __future__ import annotations

import os
import sys
import uuid

import pytest

from harness.measure.options import add_to_pytest, given, run_options
from harness.results.vocabulary import SUITES


def pytest_addoption(parser):
    group = parser.getgroup("isobench")
    add_to_pytest(group)
    group.addoption("--isobench-spec", default=None, help="the trial to run (a TrialSpec file; the run manager sets it)")
    group.addoption("--isobench-trial-out", default=None, help="where to write the trial record (the run manager sets it)")
    group.addoption("--isobench-results", default=None,
                    help="when run directly: write the results of this one-trial run here")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    from harness.errors import UsageError
    from harness.measure.trial import TrialError, TrialSpec, read_spec

    try:
        if config.getoption("isobench_spec"):
            spec = read_spec(config.getoption("isobench_spec"))
        else:
            options = run_options(given(lambda name: config.getoption(f"isobench_{name.replace('-', '_')}")))
            if len(options.workloads) > 1:
                raise UsageError("pytest bench measures one workload; `python -m harness run` takes several")
            options = options.with_run_id(options.run_id or f"pytest-{uuid.uuid4().hex[:8]}")
            from harness.measure.manager import direct_plan

            spec = TrialSpec(index=0, seed=options.seed if options.seed is not None else int.from_bytes(os.urandom(4), "big"),
                             options=options, plan=direct_plan(options))
    except (UsageError, TrialError) as error:
        raise pytest.UsageError(str(error)) from None
    config._isobench_spec = spec
    config._isobench_trial = None
    config._isobench_started = None
    if config.getoption("isobench_results"):
        from harness import __version__
        from harness.measure.machine import provenance

        config._isobench_started = provenance(__version__)  # when the run starts, not when it ends


def pytest_collection_modifyitems(session, config, items):
    """Suites run in the order of the vocabulary (cold start first, density last)."""
    def rank(item):
        suite = item.name.removeprefix("test_")
        return SUITES.index(suite) if suite in SUITES else len(SUITES)
    items.sort(key=rank)


def pytest_sessionstart(session):
    from harness.measure.session import open_trial

    session.config._isobench_trial = open_trial(session.config._isobench_spec)


@pytest.fixture(scope="session")
def trial(pytestconfig):
    return pytestconfig._isobench_trial


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """How long each suite took, kept in the trial record."""
    import time

    began = time.monotonic()
    yield
    trial = item.config._isobench_trial
    if trial is not None:
        trial.suite_seconds[item.name.removeprefix("test_")] = round(time.monotonic() - began, 3)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """An error in a suite's own code (not a backend's) is kept in the trial record."""
    outcome = yield
    report = outcome.get_result()
    trial = item.config._isobench_trial
    if report.failed and trial is not None and call.excinfo is not None:
        lines = str(call.excinfo.value).strip().splitlines() or [""]
        trial.suite_errors.append(f"{item.name}: {call.excinfo.typename}: {lines[0][:300]}")


def pytest_sessionfinish(session, exitstatus):
    from harness.measure.session import close_trial

    trial = session.config._isobench_trial
    if trial is None:
        return
    record = close_trial(trial)
    out = session.config.getoption("isobench_trial_out")
    if out:
        from harness.measure.trial import write_record

        write_record(out, record)
    results = session.config.getoption("isobench_results")
    if results:
        from harness.measure.manager import save_single_trial

        path = save_single_trial(trial.spec, record, results, session.config._isobench_started)
        print(f"\nisobench: results of this one-trial run: {path}", file=sys.stderr)
