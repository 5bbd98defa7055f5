"""Adding a backend is one module and one registry line: a toy backend
(tests/toy_backend.py) joins a trial, the results, the summary and the
ratios without anything else naming it."""

import os

from harness.backends import REGISTRY, parse_backend_names
from harness.suites import SUITES


def test_a_new_backend_is_one_module_and_one_registry_line(monkeypatch, tmp_path):
    from harness.findings.summary import summarize_run
    from harness.measure.assemble import Ending, assemble
    from harness.measure.journal import TrialEntry
    from harness.measure.trial_record import TrialRecord
    from harness.measure.manager import Side, direct_plan, make_header
    from harness.measure.session import close_trial, open_trial
    from harness.measure.trial import TrialSpec, now_iso
    from harness.measure.options import RunOptions
    from harness.results.store import load, save

    monkeypatch.setitem(REGISTRY, "toy", "tests.toy_backend:ToyBackend")
    assert "toy" in parse_backend_names("all")
    options = RunOptions(backends=("isolate", "toy"), profile="smoke", run_id="toy-test", seed=7)
    trial = open_trial(TrialSpec(index=0, seed=7, options=options, plan=direct_plan(options)))
    try:
        for suite in SUITES.values():
            assert trial.run(suite) is None, suite.name
    finally:
        record = close_trial(trial)
    assert not any(b["failures"] for b in record["backends"].values()), record
    run = assemble(make_header(options, (Side(),)), [TrialEntry(TrialRecord.from_json(record))],
                   Ending("complete", now_iso(), tuple(os.getloadavg())))
    toy = run.backends["toy"]
    assert toy.info.family == "in-process" and toy.info.described_as == "a toy object"
    assert len(toy.cold_start.wall) == 3  # the smoke profile's rounds
    assert set(toy.cold_start.wall.trials) == {0}
    assert toy.memory and toy.concurrency and toy.density
    summary = summarize_run(run).to_json()
    assert summary["backends"]["toy"]["cold_start_ms"]["median"] > 0
    assert "toy/isolate" in summary["ratios"]["cold_start"]
    path = save(run, tmp_path / "toy.json")
    assert load(path).backends["toy"].info.family == "in-process"
