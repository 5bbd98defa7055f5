"""The isobench suites. Each test is one suite of one trial: it measures every
backend of the trial, visiting them in a new random order each round, block or
level. `python -m harness run` runs them as trials in fresh worker processes;
run directly they are a run of one trial:

    pytest bench --isobench-backends isolate,subprocess --isobench-profile quick --isobench-results out.json
"""

from harness.measure.plugin import (  # noqa: F401  (the plugin's hooks and the `trial` fixture)
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_call,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    pytest_sessionstart,
    trial,
)
