"""The isobench suites under plain pytest: one test per suite of the registry
(harness/suites/), each one suite of one trial, measured by the same code the
run manager's trial processes run. Run directly they are a run of one trial:

    pytest bench --isobench-backends isolate,subprocess --isobench-profile quick --isobench-results out.json
"""

import pytest

from harness.suites import SUITES


@pytest.mark.parametrize("name", list(SUITES))
def test_suite(trial, name):
    if name not in trial.spec.plan or not trial.members(name):
        pytest.skip("no backend to measure in this trial")
    error = trial.run(SUITES[name])
    if error is not None:
        raise error
