"""The pytest plugin that turns `pytest bench` into one trial: the options
(declared once, in harness/measure/options.py), the `trial` fixture
bench/test_suites.py runs each suite with, and the trial record written when
the session ends. Run directly (`pytest bench --isobench-backends isolate
--isobench-results out.json`) it is a run of one trial, written as a results
file. The run manager's trial processes do not use pytest: they run the same
suites through harness/measure/trial_process.py."""

from __future__ import annotations

import os
import sys
import uuid

import pytest

from harness.measure.options import add_to_pytest, given, run_options


def pytest_addoption(parser):
    group = parser.getgroup("isobench")
    add_to_pytest(group)
    group.addoption("--isobench-results", default=None,
                    help="when run directly: write the results of this one-trial run here")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    from harness.errors import UsageError
    from harness.measure.manager import direct_plan
    from harness.measure.trial import TrialError, TrialSpec

    try:
        options = run_options(given(lambda name: config.getoption(f"isobench_{name.replace('-', '_')}")))
        if len(options.workloads) > 1:
            raise UsageError("pytest bench measures one workload; `python -m harness run` takes several")
        options = options.with_run_id(options.run_id or f"pytest-{uuid.uuid4().hex[:8]}")
        seed = options.seed if options.seed is not None else int.from_bytes(os.urandom(4), "big")
        spec = TrialSpec(index=0, seed=seed, options=options, plan=direct_plan(options))
    except (UsageError, TrialError) as error:
        raise pytest.UsageError(str(error)) from None
    config._isobench_spec = spec
    config._isobench_trial = None
    config._isobench_started = None
    if config.getoption("isobench_results"):
        from harness import __version__
        from harness.measure.machine import provenance

        config._isobench_started = provenance(__version__)  # when the run starts, not when it ends


def pytest_sessionstart(session):
    from harness.measure.session import open_trial

    session.config._isobench_trial = open_trial(session.config._isobench_spec)


@pytest.fixture(scope="session")
def trial(pytestconfig):
    return pytestconfig._isobench_trial


def pytest_sessionfinish(session, exitstatus):
    from harness.measure.session import close_trial

    trial = session.config._isobench_trial
    if trial is None:
        return
    record = close_trial(trial)
    results = session.config.getoption("isobench_results")
    if results:
        from harness.measure.manager import save_single_trial

        path = save_single_trial(trial.spec, record, results, session.config._isobench_started)
        print(f"\nisobench: results of this one-trial run: {path}", file=sys.stderr)
